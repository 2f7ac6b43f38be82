"""A live session's video: JPEGs kept as they came (no decoding, no encoding), every frame at its
own time, transcoded to H.264 only when finished, the file renamed into place; a crashed
process's temporaries removed once stale, a running session's never."""

from __future__ import annotations

import os
import time

import av
import cv2
import numpy as np

from analysis.io.jpeg_reduced import decode_flag
from analysis.io.seek import FrameSeeker
from analysis.io.session_video import SessionVideo, remove_stale

# Irregular arrival times (s), as a camera over a network gives them: gaps of 20-90 ms.
TIMES = [0.0, 0.033, 0.07, 0.101, 0.19, 0.21, 0.25, 0.3, 0.333, 0.42, 0.45, 0.5]


def level(i: int) -> int:
    """Each frame a flat grey of its own, 15 apart (JPEG and colour conversion move it by 4)."""
    return 20 + 15 * i


def frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    return np.full((height, width, 3), level(i), np.uint8)


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def test_jpegs_are_kept_as_sent_and_transcoded_with_their_times_only_when_finished(tmp_path):
    video = SessionVideo(tmp_path / "live")
    sent = [jpeg(frame(i)) for i in range(len(TIMES))]
    for i, t in enumerate(TIMES):
        assert video.write(frame(i), t, sent[i])
    assert not video.write(frame(0), TIMES[-1], sent[0])  # not after the last: skipped
    # Until finished only the hidden temporary exists, holding the very bytes that were sent.
    assert [p.name for p in (tmp_path / "live").iterdir()] == [video.tmp.name]
    video._close()
    with av.open(str(video.tmp)) as kept:
        packets = [p for p in kept.demux(video=0) if p.size]
        assert [bytes(p) for p in packets] == sent
        assert [int(p.pts) for p in packets] == [round(t * 1000) for t in TIMES]
    assert "jpeg_encode" not in video.times.ms  # nothing encoded on the live path

    path = video.finish(tmp_path / "live" / "2026-12-01" / "abc.mp4")
    assert path is not None and [p.name for p in path.parent.iterdir()] == ["abc.mp4"]
    assert [p.name for p in (tmp_path / "live").iterdir()] == ["2026-12-01"]
    assert (video.error, video.frames, video.codec, video.size) == (
        None,
        len(TIMES),
        "h264",
        (64, 48),
    )
    assert len(video.times.ms["transcode"]) == len(TIMES)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
        times = [round(float(f.pts * stream.time_base), 3) for f in decoded]
        means = [float(f.to_ndarray(format="bgr24").mean()) for f in decoded]
    assert times == TIMES
    assert np.abs(np.array(means) - [level(i) for i in range(len(TIMES))]).max() < 6
    # Seeking by time (past the decode-forward window) lands on that frame.
    seeker = FrameSeeker(path)
    seeker.FORWARD = 0
    for i in (9, 3, 11):
        image = seeker.read(i, TIMES[i])
        assert image is not None and abs(float(image.mean()) - level(i)) < 6, i
    seeker.close()


def test_decoded_frames_are_encoded_at_the_capped_height_and_tall_ones_scaled_in_the_decoder(
    tmp_path,
):
    video = SessionVideo(tmp_path, max_height=100)
    video.write(frame(0, 400, 300), 0.0)  # came decoded: JPEG-encoded at 100 lines
    video.write(frame(1, 400, 300), 0.04)
    video._close()
    with av.open(str(video.tmp)) as kept:
        shapes = {
            cv2.imdecode(np.frombuffer(bytes(p), np.uint8), cv2.IMREAD_COLOR).shape
            for p in kept.demux(video=0)
            if p.size
        }
    assert shapes == {(100, 133, 3)} and len(video.times.ms["jpeg_encode"]) == 2
    assert video.finish(tmp_path / "small.mp4") is not None and video.size == (134, 100)

    # Sent JPEGs of 1080 lines become 540 (decoded at half size), odd sizes even.
    assert decode_flag(1080, 540) == cv2.IMREAD_REDUCED_COLOR_2
    assert decode_flag(2160, 540) == cv2.IMREAD_REDUCED_COLOR_4
    assert decode_flag(720, 540) == cv2.IMREAD_COLOR
    tall = SessionVideo(tmp_path / "t", max_height=54)
    tall.write(frame(2, 192, 108), 0.0, jpeg(frame(2, 192, 108)))
    tall.write(frame(3, 63, 47), 0.05, jpeg(frame(3, 63, 47)))  # another size: fitted
    path = tall.finish(tmp_path / "tall.mp4")
    assert path is not None and tall.size == (96, 54)
    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert [im.shape for im in images] == [(54, 96, 3)] * 2
    assert abs(float(images[1].mean()) - level(3)) < 6


def test_nothing_kept_or_aborted_leaves_no_file(tmp_path):
    empty = SessionVideo(tmp_path / "a")
    assert empty.finish(tmp_path / "a" / "none.mp4") is None
    assert not (tmp_path / "a").exists()
    aborted = SessionVideo(tmp_path / "b")
    aborted.write(frame(0), 0.0)
    aborted.abort()
    assert list((tmp_path / "b").iterdir()) == []


def test_a_transcode_that_fails_says_why_and_leaves_no_file(tmp_path):
    video = SessionVideo(tmp_path / "c")
    video.write(frame(0), 0.0, b"\xff\xd8\xff not really a JPEG")
    assert video.finish(tmp_path / "c" / "x.mp4") is None
    assert video.error and list((tmp_path / "c").iterdir()) == []


def test_stale_temporaries_are_removed_and_a_running_sessions_kept(tmp_path):
    running = SessionVideo(tmp_path / "_live")
    running.write(frame(0), 0.0)
    day = tmp_path / "_live" / "2026-11-30"
    day.mkdir()
    crashed = [tmp_path / "_live" / ".live-dead.tmp.mkv", day / ".live-half.tmp.mp4"]
    stored = day / "abc.mp4"
    for path in [*crashed, stored]:
        path.write_bytes(b"x")
        old = time.time() - 2 * 24 * 3600
        os.utime(path, (old, old))
    assert remove_stale(tmp_path / "_live") == 2
    assert not any(p.exists() for p in crashed)
    assert stored.exists() and running.tmp.exists()  # a stored video, a session running
    assert remove_stale(tmp_path / "none") == 0 and remove_stale(None) == 0
    running.abort()
