"""Thumbnails from a KeyPoints row: the crop around the person, the size fallback, one row only."""

from __future__ import annotations

import numpy as np
import pytest

from posecoach.keypoints import KeyPoints
from reports.thumbnails import THUMB_MAX, frame_size, person_box, render_thumbnail


def _rows(n: int = 1, box: tuple[float, ...] = (100, 50, 140, 150, 0.9)) -> KeyPoints:
    xy = np.zeros((n, 17, 2), np.float32)
    xy[:, :, 0] = np.linspace(105, 135, 17)
    xy[:, :, 1] = np.linspace(55, 145, 17)
    xy[:, 0] = np.nan  # a dropped nose does not count
    return KeyPoints(
        frame=np.arange(n),
        t_s=np.arange(n) / 10,
        track_id=np.ones(n),
        box=np.tile(box, (n, 1)),
        xy=xy,
        scores=np.full((n, 17), 0.9),
        xy_raw=xy,
    )


def test_person_box_is_the_padded_union_of_box_and_points():
    person = _rows()
    kp = person.xy[0].astype(np.float64)
    # Box 100..140 x 50..150, padded by 18 % + 8 px: 40 * 0.18 + 8 = 15.2, 100 * 0.18 + 8 = 26.
    assert person_box(person.box[0], kp, 640, 480) == (84, 24, 156, 176)
    # Without a box (NaN), the visible points alone: x 107..135 (the nose is NaN).
    no_box = np.full(5, np.nan, np.float32)
    x1, _, x2, _ = person_box(no_box, kp, 640, 480)
    assert 85 < x1 < 107 and 135 < x2 < 160
    assert person_box(no_box, np.full((17, 2), np.nan), 640, 480) == (0, 0, 640, 480)


def test_frame_size_from_the_row_or_the_keypoints_extent():
    assert frame_size({"width": 320, "height": 240}, _rows()) == (320, 240)
    assert frame_size({"width": None, "height": None}, _rows()) == (
        int(135 * 1.1) + 1,
        int(145 * 1.1) + 1,
    )


def test_render_thumbnail_draws_one_row_and_refuses_several():
    thumb = render_thumbnail(None, _rows(), (640, 480), track_id=1)
    assert thumb.ndim == 3 and thumb.shape[1] <= THUMB_MAX[0] and thumb.shape[0] <= THUMB_MAX[1]
    assert thumb.max() > 0  # the skeleton is on the blank frame
    with pytest.raises(ValueError, match="person: expected one keypoints row, got 2 rows"):
        render_thumbnail(None, _rows(2), (640, 480))
