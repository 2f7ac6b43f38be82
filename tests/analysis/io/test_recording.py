"""The live recording: frames written as they come, at their own times, the file renamed into
place only when finished; a frame found again by its time."""

from __future__ import annotations

import av
import numpy as np

from analysis.io.recording import FrameRecorder
from analysis.io.seek import FrameSeeker

# Irregular arrival times (s), as a camera over a network gives them: gaps of 20-90 ms.
TIMES = [0.0, 0.033, 0.07, 0.101, 0.19, 0.21, 0.25, 0.3, 0.333, 0.42, 0.45, 0.5]


def level(i: int) -> int:
    """Each frame a flat grey of its own, 15 apart (colour conversion moves it by up to 4)."""
    return 20 + 15 * i


def frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    return np.full((height, width, 3), level(i), np.uint8)


def test_frames_keep_their_times_and_the_file_appears_only_when_finished(tmp_path):
    recorder = FrameRecorder(tmp_path / "live")
    for i, t in enumerate(TIMES):
        assert recorder.write(frame(i), t)
    assert not recorder.write(frame(0), TIMES[-1])  # not after the last: skipped
    # Until finished only the hidden temporary file exists.
    assert [p.name.startswith(".") for p in (tmp_path / "live").iterdir()] == [True]
    path = recorder.finish(tmp_path / "live" / "2026-12-01" / "abc.mp4")
    assert path is not None and [p.name for p in path.parent.iterdir()] == ["abc.mp4"]
    assert [p.name for p in (tmp_path / "live").iterdir()] == ["2026-12-01"]
    assert recorder.error is None and recorder.frames == len(TIMES)
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


def test_odd_sizes_are_made_even_tall_frames_scaled_down_and_others_fitted(tmp_path):
    recorder = FrameRecorder(tmp_path)
    recorder.write(frame(0, 63, 47), 0.0)
    recorder.write(frame(1, 80, 20), 0.04)  # another size: scaled to the file's
    path = recorder.finish(tmp_path / "odd.mp4")
    assert path is not None and recorder.size == (64, 48)
    with av.open(str(path)) as container:
        images = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert [im.shape for im in images] == [(48, 64, 3)] * 2
    assert abs(float(images[1].mean()) - level(1)) < 6
    tall = FrameRecorder(tmp_path, max_height=540)
    tall.write(frame(2, 1920, 1080), 0.0)
    assert tall.finish(tmp_path / "tall.mp4") is not None and tall.size == (960, 540)


def test_nothing_recorded_or_aborted_leaves_no_file(tmp_path):
    empty = FrameRecorder(tmp_path / "a")
    assert empty.finish(tmp_path / "a" / "none.mp4") is None
    assert not (tmp_path / "a").exists()
    aborted = FrameRecorder(tmp_path / "b")
    aborted.write(frame(0), 0.0)
    aborted.abort()
    assert list((tmp_path / "b").iterdir()) == []


def test_a_writer_that_fails_says_why_and_takes_no_more_frames(tmp_path):
    recorder = FrameRecorder(tmp_path / "c")
    recorder.write(np.zeros((0, 0, 3), np.uint8), 0.0)  # no picture: the encoder refuses it
    recorder._stop()
    assert recorder.error
    assert not recorder.write(frame(1), 0.1)
    assert recorder.finish(tmp_path / "c" / "x.mp4") is None
    assert list((tmp_path / "c").iterdir()) == []
