"""``posecoach live``'s printed events add up to what it stores: a rep that the stop itself ends
(the athlete half way up when Ctrl-C or ``--duration`` comes) is printed with its count and cue,
as the stored session has it."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from analysis.io.live_source import LiveFrame
from analysis.testing.synthetic import generate_clip
from flows.cli.live_loop import EventPrinter, run_live
from rules.loader import load_library

W, H = 160, 96


class Frames:
    """A source's frames as `LiveFrames` gives them, without a stream: each painted with its
    number, so the fake estimator knows which keypoints to answer."""

    fps = 30.0
    dropped = 0

    def __init__(self, n: int) -> None:
        self.n, self.frames, self.size_bytes = n, 0, 0
        self.digest = hashlib.sha256(b"frames")

    def __iter__(self) -> Iterator[LiveFrame]:
        for i in range(self.n):
            self.frames = i + 1
            yield LiveFrame(i, i / self.fps, np.full((H, W, 3), i, np.uint8))

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_rep_on_its_way_back_when_the_session_stops_is_printed_as_stored(tmp_path) -> None:
    clip = generate_clip("squat", view="side", reps=2, depth=[90, 125], fps=30)
    end = int(clip.truth.reps.turn_s.iloc[1] * 30) + 15  # half way up the second squat
    points = clip.points.take(np.arange(end))

    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        i = int(image[0, 0, 0])  # the frame's number, as `Frames` paints it
        kp = np.concatenate([points.xy[i] / 8, points.scores[i][:, None]], axis=1)
        return [(1, (points.box[i] / 8).tolist(), kp)]

    out = io.StringIO()
    run = run_live(
        Frames(end),  # type: ignore[arg-type]
        lambda fps: pose,
        load_library().find("squat"),
        view="side",
        video_dir=None,
        printer=EventPrinter(json_lines=True, out=out),
    )
    said = [json.loads(line) for line in out.getvalue().splitlines()]
    assert run.recording is not None
    stored = run.recording.session.finish()[1]
    assert len(stored) == 2 and stored[1].end_s > (end - 10) / 30  # ended by the stop itself
    assert [e["reps"] for e in said if e["event"] == "rep"] == [1, 2]
    cues = [e for e in said if e["event"] == "cue"]
    assert [c["rep"] for c in cues] == [1, 2] and [c["cue"] for c in cues] == [
        r.cue for r in stored
    ]
    assert cues[0]["cue"] == "" and "Shallow squat" in cues[1]["cue"]
