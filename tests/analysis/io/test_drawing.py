"""analysis.io.drawing: skeleton pixels land where the keypoints are, highlights are red."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.io.drawing import (
    HIGHLIGHT_BGR,
    blank_frame,
    draw_skeleton,
    highlight_indices,
    track_color,
)
from posecoach.schema import KEYPOINT_INDEX


def _person() -> np.ndarray:
    """A standing figure, 17x2 pixel coordinates inside a 200x300 (w x h) frame."""
    kp = {
        "nose": (100, 30), "left_eye": (104, 26), "right_eye": (96, 26),
        "left_ear": (108, 28), "right_ear": (92, 28),
        "left_shoulder": (120, 60), "right_shoulder": (80, 60),
        "left_elbow": (130, 100), "right_elbow": (70, 100),
        "left_wrist": (135, 140), "right_wrist": (65, 140),
        "left_hip": (115, 150), "right_hip": (85, 150),
        "left_knee": (118, 210), "right_knee": (82, 210),
        "left_ankle": (120, 270), "right_ankle": (80, 270),
    }  # fmt: skip
    return np.array([kp[n] for n in KEYPOINT_INDEX], dtype=np.float32)


def _close(pixel: np.ndarray, bgr: tuple[int, int, int], tol: int = 30) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(bgr)) <= tol))


def test_joints_and_bones_are_drawn_in_track_colour():
    img = blank_frame(200, 300)
    assert img.shape == (300, 200, 3)
    out = draw_skeleton(img, _person(), np.ones(17), track_id=3, thickness=2, label="")
    color = track_color(3)
    # a joint
    assert _close(out[210, 118], color)
    # the middle of the left thigh (hip 115,150 -> knee 118,210)
    assert _close(out[180, 116], color)
    # far from the body: untouched background
    assert _close(out[290, 5], (40, 40, 40), tol=0)
    # drawing copies by default
    assert np.all(img == 40)


def test_highlight_by_name_and_index_is_red():
    kp = _person()
    out = draw_skeleton(
        blank_frame(200, 300), kp, np.ones(17), highlight={"left_knee", 15}, label=""
    )
    assert _close(out[210, 118], HIGHLIGHT_BGR)  # left knee
    assert _close(out[270, 120], HIGHLIGHT_BGR)  # left ankle (index 15)
    assert _close(out[240, 119], HIGHLIGHT_BGR)  # bone between two highlighted joints
    assert not _close(out[210, 82], HIGHLIGHT_BGR)  # right knee stays in the track colour


def test_low_score_and_nan_points_are_skipped():
    kp = _person()
    scores = np.ones(17)
    scores[KEYPOINT_INDEX["left_knee"]] = 0.1
    kp[KEYPOINT_INDEX["right_knee"]] = np.nan
    out = draw_skeleton(blank_frame(200, 300), kp, scores, min_score=0.3, thickness=2, label="")
    assert _close(out[210, 118], (40, 40, 40), tol=0)  # left knee: low score
    assert _close(out[210, 82], (40, 40, 40), tol=0)  # right knee: NaN
    assert _close(out[180, 116], (40, 40, 40), tol=0)  # thigh bone to the missing knee
    assert not _close(out[60, 120], (40, 40, 40), tol=0)  # shoulder is there


def test_draw_in_place_for_overlays():
    img = blank_frame(200, 300)
    out = draw_skeleton(img, _person(), None, copy=False, label="")
    assert out is img
    assert not np.all(img == 40)


def test_label_draws_text_near_the_head():
    without = draw_skeleton(blank_frame(200, 300), _person(), None, track_id=7, label="")
    with_label = draw_skeleton(blank_frame(200, 300), _person(), None, track_id=7)
    changed = np.argwhere(np.any(without != with_label, axis=2))
    assert changed.size > 0
    assert changed[:, 0].max() < 30  # above the nose (y=30)


def test_track_colours_differ_and_avoid_red():
    colors = {track_color(i) for i in range(8)}
    assert len(colors) == 8
    for b, g, r in colors:
        assert not (r > 200 and g < 80 and b < 80)


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="highlight: unknown keypoint name 'knee'"):
        highlight_indices(["knee"])
    with pytest.raises(ValueError, match="keypoints: expected shape"):
        draw_skeleton(blank_frame(10, 10), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="image: expected"):
        draw_skeleton(np.zeros((10, 10)), _person())
