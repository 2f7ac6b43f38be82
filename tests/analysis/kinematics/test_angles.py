"""Kinematics: angles on hand-made points, NaN policy, and exact values on generated motion."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.kinematics import angles as k
from analysis.testing.synthetic import generate_clip
from posecoach.keypoints import KeyPoints
from posecoach.schema import KEYPOINT_INDEX


def pts(*xy):
    return np.array(xy, dtype=float).reshape(-1, 2)


def test_joint_angle():
    assert k.joint_angle(pts(0, 0), pts(1, 0), pts(1, 1))[0] == pytest.approx(90)
    assert k.joint_angle(pts(0, 0), pts(1, 0), pts(2, 0))[0] == pytest.approx(180)
    assert k.joint_angle(pts(2, 1), pts(1, 0), pts(2, 0))[0] == pytest.approx(45)
    assert np.isnan(k.joint_angle(pts(1, 0), pts(1, 0), pts(2, 0))[0])  # zero-length segment


def test_segment_angles_in_image_coordinates():
    # image y points down: a shoulder straight above the hip is upright (0 deg)
    assert k.segment_to_vertical(pts(0, 0), pts(0, 10))[0] == pytest.approx(0)
    assert k.segment_to_vertical(pts(10, 10), pts(0, 10))[0] == pytest.approx(90)
    assert k.segment_to_vertical(pts(0, 20), pts(0, 10))[0] == pytest.approx(180)
    assert k.segment_to_horizontal(pts(0, 0), pts(-10, 10))[0] == pytest.approx(45)


def test_line_deviation_sign():
    shoulder, ankle = pts(100, 100), pts(0, 100)
    assert k.line_deviation(shoulder, pts(50, 110), ankle)[0] > 0  # hips below: sag
    assert k.line_deviation(shoulder, pts(50, 90), ankle)[0] < 0  # hips above: pike
    assert k.line_deviation(shoulder, pts(50, 100), ankle)[0] == pytest.approx(0)


def test_fppa_sign_is_valgus_towards_the_midline():
    # Front view: the person's left hip is on the image right; the midline is to its left.
    hip, ankle, mid = pts(120, 100), pts(120, 300), pts(100, 100)
    valgus = k.frontal_projection_angle(hip, pts(110, 200), ankle, mid)[0]
    varus = k.frontal_projection_angle(hip, pts(130, 200), ankle, mid)[0]
    assert valgus == pytest.approx(-varus) and valgus > 0
    assert valgus == pytest.approx(2 * np.degrees(np.arctan(10 / 100)))
    side_view = k.frontal_projection_angle(hip, pts(110, 200), ankle, pts(120, 100))
    assert np.isnan(side_view[0])


def _one_row(**points):
    """One frame's KeyPoints: the named points (x, y, score), every other point NaN, score 0."""
    xy = np.full((1, 17, 2), np.nan)
    scores = np.zeros((1, 17))
    for name, (x, y, s) in points.items():
        xy[0, KEYPOINT_INDEX[name]] = x, y
        scores[0, KEYPOINT_INDEX[name]] = s
    return KeyPoints(frame=[0], t_s=[0.0], track_id=[1], box=np.full((1, 5), np.nan), xy=xy,
                     scores=scores, xy_raw=xy)  # fmt: skip


def test_low_confidence_gives_nan_never_a_made_up_angle():
    hip, knee = (0, 0, 0.9), (0, 10, 0.9)
    kp = _one_row(left_hip=hip, left_knee=knee, left_ankle=(5, 20, 0.1))
    assert np.isnan(
        k.evaluate_point_function(kp, "joint_angle", ["left_hip", "left_knee", "left_ankle"])[0]
    )
    kp = _one_row(left_hip=hip, left_knee=knee, left_ankle=(5, 20, 0.8))
    assert np.isfinite(
        k.evaluate_point_function(kp, "joint_angle", ["left_hip", "left_knee", "left_ankle"])[0]
    )
    # mid-points take the side present (side view), but min/max of two sides need both
    assert np.allclose(k.point(kp, "mid_hip"), [[0, 0]])
    assert np.isnan(k.combine("min", [np.array([1.0]), np.array([np.nan])]))[0]
    assert k.combine("mean", [np.array([1.0]), np.array([np.nan])])[0] == 1.0


def test_features_on_generated_squat_are_exact():
    clip = generate_clip("squat", view="side", reps=2, depth=[70, 95], trunk_lean_deg=[30, 40])
    feats = k.features(clip.points)
    assert set(k.FEATURE_NAMES) <= set(feats.columns)
    fps = clip.truth.fps
    assert len(clip.truth.reps) == 2
    for _, rep in clip.truth.reps.iterrows():
        i = int(round(rep.turn_s * fps))
        assert feats["knee_angle_deg"].iloc[i] == pytest.approx(rep.depth, abs=0.05)
        assert feats["trunk_to_vertical_deg"].iloc[i] == pytest.approx(rep.trunk_lean_deg, abs=0.05)
    # angular velocity: zero at the bottom, negative on the way down
    v = feats["knee_angle_left_vel_dps"].to_numpy()
    i0 = int(round(clip.truth.reps.turn_s[0] * fps))
    assert abs(v[i0]) < 5 and v[i0 - 10] < -50


def test_torso_unit_and_valgus_on_generated_front_view():
    clip = generate_clip("squat", view="front", reps=1, depth=90, valgus_deg=20)
    feats = k.features(clip.points)
    i = int(round(clip.truth.reps.turn_s[0] * clip.truth.fps))
    assert feats["knee_fppa_left_deg"].iloc[i] == pytest.approx(20, abs=0.05)
    assert feats["knee_fppa_right_deg"].iloc[i] == pytest.approx(20, abs=0.05)
    assert feats["hip_height"].iloc[0] == pytest.approx((0.53 - 0.04) / 0.29, rel=0.02)


def test_angular_velocity_of_a_ramp():
    t = np.arange(10) / 10
    assert np.allclose(k.angular_velocity(30 * t, t), 30)


def test_max_seen_is_the_largest_measured_input_and_nan_only_when_none_is() -> None:
    left = np.array([10.0, np.nan, np.nan, 3.0])
    right = np.array([np.nan, 19.0, np.nan, 7.0])
    out = k.combine("max_seen", [left, right])
    np.testing.assert_array_equal(out[[0, 1, 3]], [10.0, 19.0, 7.0])
    assert np.isnan(out[2])
    # max stays strict: one side missing leaves "the larger" unknown
    assert np.isnan(k.combine("max", [left, right])[:3]).all()


def test_knee_valgus_is_read_from_the_one_knee_that_is_measured() -> None:
    # the worse knee's FPPA is what the valgus checks read; an unmeasured back knee (a lunge
    # from the front) must not hide the front knee's value
    op, inputs = k.DERIVED_SPECS["knee_fppa_max_deg"]
    assert op == "max_seen"
    assert set(inputs) == {"knee_fppa_left_deg", "knee_fppa_right_deg"}
