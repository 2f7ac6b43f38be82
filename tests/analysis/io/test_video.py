"""Decoding: real codecs from ../shared, rotation metadata, variable frame rate, bad input."""

from __future__ import annotations

import shutil
import struct
import subprocess
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from analysis.io.seek import FrameSeeker
from analysis.io.video import VideoError, image_files, open_source
from tests.helpers import shared_path


def _marker_frame(i: int, width: int = 160, height: int = 96) -> np.ndarray:
    """A landscape frame with a white block in the top-left corner and the frame number
    encoded as the brightness of the bottom row (so frame order can be checked)."""
    image = np.full((height, width, 3), 30, np.uint8)
    image[:24, :32] = 255
    image[-16:, :] = min(250, 40 + 10 * i)
    return image


def _write(path: Path, n: int, fps: int = 25, pts_ms: list[int] | None = None) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.codec_context.options = {"qscale": "2"}
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(_marker_frame(i), format="bgr24")
            if pts_ms is not None:
                frame.pts = pts_ms[i]
                frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _set_tkhd_rotation(path: Path, clockwise: int) -> None:
    """Write the track header's display matrix as a phone does (what FFmpeg's ``rotate`` tag
    means): the picture is to be shown turned ``clockwise`` degrees."""
    one, minus = 0x00010000, 0xFFFF0000
    matrices = {
        90: (0, one, 0, minus, 0, 0, 0, 0, 0x40000000),
        180: (minus, 0, 0, 0, minus, 0, 0, 0, 0x40000000),
        270: (0, minus, 0, one, 0, 0, 0, 0, 0x40000000),
    }
    data = bytearray(path.read_bytes())
    pos = data.find(b"tkhd")
    assert pos > 0, "no tkhd box"
    version = data[pos + 4]
    matrix_at = pos + 8 + (32 if version == 1 else 20) + 16
    data[matrix_at : matrix_at + 36] = struct.pack(">9I", *matrices[clockwise])
    path.write_bytes(bytes(data))


def test_generated_video_frames_times_and_order(tmp_path):
    path = _write(tmp_path / "clip.mp4", 20, fps=25)
    with open_source(path) as source:
        info = source.info
        frames = list(source)
    assert (info.kind, info.codec, info.width, info.height, info.rotation) == (
        "video", "mpeg4", 160, 96, 0,
    )  # fmt: skip
    assert info.fps == pytest.approx(25.0)
    assert [f.index for f in frames] == list(range(20))
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(20) / 25, atol=1e-6)
    bottom = [int(f.image[-8, 80, 1]) for f in frames]
    assert bottom == sorted(bottom) and bottom[-1] - bottom[0] > 150
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (96, 160, 3)
    decoded = source.decoded_info()
    assert decoded.frames == 20 and decoded.duration_s == pytest.approx(0.8, abs=0.05)


def test_variable_frame_rate_timestamps_from_the_container(tmp_path):
    pts = [0, 40, 80, 200, 240, 500, 540, 1000]
    path = _write(tmp_path / "vfr.mp4", len(pts), pts_ms=pts)
    with open_source(path) as source:
        t = [f.t_s for f in source]
    np.testing.assert_allclose(t, np.array(pts) / 1000, atol=1e-3)


def _numbered_frame(i: int) -> np.ndarray:
    """A frame whose number is written in binary as 8 black/white blocks (survives H.264)."""
    image = np.full((96, 160, 3), 128, np.uint8)
    for bit in range(8):
        image[40:60, 20 * bit : 20 * bit + 20] = 255 if (i >> bit) & 1 else 0
    return image


def _number_of(image: np.ndarray) -> int:
    return sum(1 << bit for bit in range(8) if image[50, 20 * bit + 10].mean() > 128)


def _write_vfr_h264(path: Path, pts_ms: list[int]) -> Path:
    """H.264 with B-frames and a keyframe every 24 frames, at the given frame times."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"g": "24", "bf": "2", "crf": "18"}
        for i, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(_numbered_frame(i), format="bgr24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_frame_seeker_finds_the_engines_frames_in_a_variable_frame_rate_video(tmp_path):
    # Stretches at 50 fps and at 12.5 fps: a frame's number and its time disagree with any
    # mean frame rate, so seeking by number through the rate would land elsewhere.
    gaps = [20 if (i // 25) % 2 == 0 else 80 for i in range(200)]
    pts = [int(t) for t in np.concatenate([[0], np.cumsum(gaps)[:-1]])]
    path = _write_vfr_h264(tmp_path / "phone.mp4", pts)
    with open_source(path) as source:
        engine = [(f.index, f.t_s, _number_of(f.image)) for f in source]
    assert [n for _, _, n in engine] == [i % 256 for i in range(200)]
    order = [150, 30, 199, 31, 5, 120, 121, 60, 0, 180]
    seeker = FrameSeeker(path)
    try:
        for i in order:  # by timestamp, as the reports ask
            assert _number_of(seeker.read(i, engine[i][1])) == i
        for i in order:  # no timestamp (imported keypoints): counted from the start
            assert _number_of(seeker.read(i)) == i
        assert seeker.read(200, 99.0) is None and seeker.read(200) is None
        assert _number_of(seeker.read(7, engine[7][1])) == 7  # still usable after the end
    finally:
        seeker.close()


def test_frame_seeker_on_a_file_that_is_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(VideoError, match="notes.mp4"):
        FrameSeeker(bad)


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_rotation_metadata_makes_frames_upright(tmp_path, clockwise):
    path = _write(tmp_path / f"rot{clockwise}.mp4", 3)
    _set_tkhd_rotation(path, clockwise)
    with open_source(path) as source:
        info = source.info
        frame = next(iter(source)).image
    assert info.rotation == clockwise
    expected_shape = (160, 96) if clockwise in (90, 270) else (96, 160)
    assert (info.height, info.width) == expected_shape
    assert frame.shape[:2] == expected_shape
    # The white top-left block of the coded picture ends up where the rotation puts it.
    h, w = frame.shape[:2]
    corners = {
        "tl": frame[:8, :8].mean(),
        "tr": frame[:8, w - 8 :].mean(),
        "bl": frame[h - 8 :, :8].mean(),
        "br": frame[h - 8 :, w - 8 :].mean(),
    }
    bright = max(corners, key=corners.get)
    assert bright == {90: "tr", 180: "br", 270: "bl"}[clockwise], corners
    # An independent reader agrees: OpenCV's FFmpeg backend auto-rotates too.
    cap = cv2.VideoCapture(str(path))
    ok, reference = cap.read()
    cap.release()
    assert ok and reference.shape == frame.shape
    assert np.abs(reference.astype(int) - frame.astype(int)).mean() < 3


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not installed")
def test_rotation_tag_written_by_ffmpeg(tmp_path):
    src = _write(tmp_path / "src.mp4", 3)
    out = tmp_path / "tagged.mp4"
    # -display_rotation (ffmpeg >= 6) is counter-clockwise: 90 CCW = turned 270 clockwise. The
    # older `rotate` stream tag (Debian 12 ships ffmpeg 5.1) written as 90 gives the same matrix:
    # display rotation +90, as a phone held the other way writes.
    help_text = subprocess.run(["ffmpeg", "-h", "full"], capture_output=True, text=True).stdout
    tag = (
        ["-display_rotation", "90", "-i", str(src)]
        if "display_rotation" in help_text
        else ["-i", str(src), "-metadata:s:v:0", "rotate=90"]
    )
    subprocess.run(["ffmpeg", "-v", "error", *tag, "-c", "copy", str(out)], check=True)
    with open_source(out) as source:
        assert source.info.rotation == 270
        assert next(iter(source)).image.shape[:2] == (160, 96)


def test_portrait_60fps_multi():
    path = shared_path("data", "videos", "portrait_60fps_multi.mp4")
    with open_source(path) as source:
        info = source.info
        first = next(iter(source))
    assert (info.width, info.height) == (1088, 1920)
    assert first.image.shape == (1920, 1088, 3)
    assert info.fps == pytest.approx(60, abs=0.5)
    assert info.codec == "h264"


def test_vp9_decodes():
    path = shared_path("data", "videos", "sports2d_demo_vp9.mp4")
    with open_source(path) as source:
        assert source.info.codec == "vp9"
        assert (source.info.width, source.info.height) == (1768, 994)
        n = sum(1 for _ in source)
    assert n == 230


def test_mpeg4_part2_avi_decodes_all_frames():
    path = shared_path("data", "videos", "vtest.avi")
    with open_source(path) as source:
        assert "mpeg4" in source.info.codec  # FFmpeg names this MPEG-4 part 2 flavour msmpeg4
        assert source.info.fps == pytest.approx(10.0)
        times = [f.t_s for f in source]
    assert len(times) == 795
    np.testing.assert_allclose(times[:3], [0.0, 0.1, 0.2], atol=1e-6)
    assert source.decoded_info().frames == 795


def test_queue_is_bounded_and_reader_stops_on_close(tmp_path):
    path = _write(tmp_path / "long.mp4", 60)
    source = open_source(path, queue_size=4)
    it = iter(source)
    next(it)
    thread = source._thread
    assert thread is not None
    # The reader fills the queue and then waits: it never holds more than queue_size frames.
    for _ in range(50):
        if source._queue.full():
            break
        threading.Event().wait(0.02)
    assert source._queue.qsize() <= 4
    source.close()
    assert not thread.is_alive()


def test_image_and_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(folder / f"img_{i}.png"), _marker_frame(i))
    (folder / "notes.txt").write_text("not an image")
    assert [Path(p).name for p in image_files(folder)] == ["img_1.png", "img_2.png", "img_10.png"]
    with open_source(folder, images_fps=5) as source:
        frames = list(source)
        assert source.info.kind == "images" and source.info.frames == 3
    assert [f.t_s for f in frames] == [0.0, 0.2, 0.4]
    with open_source(folder / "img_2.png") as source:
        (frame,) = list(source)
        assert source.info.kind == "image" and source.info.fps is None
    np.testing.assert_array_equal(frame.image, _marker_frame(2))
    assert np.isnan(frame.t_s)


def test_bad_inputs_raise_video_error_naming_the_file(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    good = _write(tmp_path / "good.mp4", 30)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases = {
        empty: "empty file",
        text: "not a readable video",
        truncated: "",
        tmp_path / "missing.mp4": "no such file",
        tmp_path: "no image",
    }
    for path, words in cases.items():
        with pytest.raises(VideoError) as err, open_source(path) as source:
            list(source)
        assert str(path) in str(err.value)
        assert words in str(err.value)
