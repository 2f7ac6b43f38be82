"""The overlay video: each frame's rows drawn on that frame only, from a KeyPoints."""

from __future__ import annotations

import av
import numpy as np

from analysis.io.drawing import track_color
from analysis.io.overlay import write_overlay
from posecoach.keypoints import KeyPoints
from tests.helpers import Person, keypoints_for_rect, write_video


def _decoded(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def _person_rows(person: Person, frames: list[int], track_id: int) -> KeyPoints:
    xy = np.stack([keypoints_for_rect(*person.rect(f)) for f in frames])
    boxes = np.array([[*person.rect(f), 0.9] for f in frames])
    n = len(frames)
    return KeyPoints(
        frame=frames,
        t_s=np.array(frames) / 10.0,
        track_id=np.full(n, track_id),
        box=boxes,
        xy=xy,
        scores=np.full((n, 17), 0.9),
        xy_raw=xy,
    )


def test_rows_are_drawn_on_their_own_frames(tmp_path):
    person = Person(start=(100, 60))
    video = write_video(tmp_path / "one.mp4", [person], 6, fps=10)
    plain = write_overlay(video, KeyPoints.empty(), tmp_path / "plain.mp4")
    # Rows out of frame order, as a caller may hand them: drawn where they belong.
    rows = KeyPoints.concat([_person_rows(person, [4], 3), _person_rows(person, [1], 3)])
    drawn = write_overlay(video, rows, tmp_path / "drawn.mp4")
    before, after = _decoded(plain), _decoded(drawn)
    assert len(before) == len(after) == 6
    changed = [i for i in range(6) if np.abs(after[i].astype(int) - before[i]).max() > 60]
    assert changed == [1, 4]
    # The box's left edge is drawn in the track's colour (up to the encoder's loss).
    x1, y1, _, y2 = person.rect(1)
    edge = after[1][(y1 + y2) // 2, x1].astype(int)
    assert np.abs(edge - track_color(3)).max() < 40, (edge, track_color(3))
