"""The generator of the newer exercises: schema, truth, and planted values exact in their view."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.kinematics.angles import features
from analysis.testing.exercises import EXERCISES, HOLD_EXERCISES, generate_exercise
from posecoach.schema import KEYPOINTS
from posecoach.store import conform


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_exercise_fits_the_keypoints_schema_and_the_frame(exercise):
    clip = generate_exercise(exercise, reps=3, fps=25)
    df = clip.keypoints.copy()
    assert list(df.columns) == [n for n in KEYPOINTS.names if n != "video_id"]
    df.insert(0, "video_id", "v")
    assert conform("keypoints", df).num_rows == len(df)
    kp = df[[c for c in df.columns if c.endswith(("_x", "_y"))]].to_numpy()
    assert np.isfinite(kp).all()
    assert (kp[:, 0::2] >= 0).all() and (kp[:, 0::2] <= 1280).all()
    assert (kp[:, 1::2] >= 0).all() and (kp[:, 1::2] <= 720).all()
    table = clip.truth.reps if clip.truth.kind == "rep" else clip.truth.holds
    assert clip.truth.kind == ("hold" if exercise in HOLD_EXERCISES else "rep")
    assert len(table) == (1 if clip.truth.kind == "hold" else 3)
    assert (table["start_s"] < table["turn_s"]).all() and (table["turn_s"] < table["end_s"]).all()


def test_unknown_exercise_view_and_parameter_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown exercise 'skipping'"):
        generate_exercise("skipping")
    with pytest.raises(ValueError, match="unknown view 'top'"):
        generate_exercise("burpee", view="top")
    with pytest.raises(ValueError, match=r"burpee: unknown parameter\(s\) \['depth'\]"):
        generate_exercise("burpee", depth=90)
    with pytest.raises(ValueError, match="lift_deg: 2 values given for 3"):
        generate_exercise("high_knees", reps=3, lift_deg=[90, 60])


def test_deterministic_per_seed():
    a = generate_exercise("wall_sit", noise_px=2.0, seed=4).keypoints
    b = generate_exercise("wall_sit", noise_px=2.0, seed=4).keypoints
    c = generate_exercise("wall_sit", noise_px=2.0, seed=5).keypoints
    assert a.equals(b) and not a.equals(c)


def _at(clip, column: str, t_s: float) -> float:
    f = features(clip.points)
    return float(f[column].to_numpy()[int(np.argmin(np.abs(f["t_s"].to_numpy() - t_s)))])


# (exercise, view, planted parameter, value, feature, expected value of the feature at the turn)
PLANTED = [
    ("burpee", "side", "hip_sag_deg", 17.0, "hip_sag_deg", 17.0),
    ("single_leg_deadlift", "side", "depth", 80.0, "trunk_to_vertical_deg", 80.0),
    ("single_leg_deadlift", "side", "leg_drop_deg", 30.0, "hip_angle_left_deg", 150.0),
    ("glute_bridge", "side", "depth", 158.0, "hip_angle_deg", 158.0),
    ("side_plank", "front", "hip_sag_deg", 14.0, "hip_sag_deg", 14.0),
    ("wall_sit", "side", "depth", 105.0, "knee_angle_deg", 105.0),
    ("wall_sit", "side", "trunk_lean_deg", 12.0, "trunk_to_vertical_deg", 12.0),
]


@pytest.mark.parametrize(("exercise", "view", "param", "value", "feature", "expected"), PLANTED)
def test_planted_values_are_exact_in_their_view(exercise, view, param, value, feature, expected):
    clip = generate_exercise(exercise, view=view, reps=1, fps=30, **{param: value})
    table = clip.truth.reps if clip.truth.kind == "rep" else clip.truth.holds
    # The turn falls on a frame (30 fps, turns on multiples of 1/30 s): the exact pose.
    assert _at(clip, feature, float(table["turn_s"].iloc[0])) == pytest.approx(expected, abs=0.01)


def test_high_knees_alternate_sides_and_lift_to_the_planted_angle():
    clip = generate_exercise("high_knees", view="side", reps=2, fps=40, lift_deg=[90, 60])
    turns = clip.truth.reps["turn_s"].to_numpy()  # 1.25 and 1.8 s: on frames at 40 fps
    f = features(clip.points)
    near = [int(np.argmin(np.abs(f["t_s"].to_numpy() - t))) for t in turns]
    thigh_l = f["thigh_to_vertical_left_deg"].to_numpy()[near]
    thigh_r = f["thigh_to_vertical_right_deg"].to_numpy()[near]
    # First rep: the left thigh up to level while the right one hangs; second: the right one
    # up to 60 deg (thigh_to_vertical: 0 for a hanging thigh, 90 for a level one).
    assert thigh_l[0] == pytest.approx(90, abs=0.01) and thigh_r[0] == pytest.approx(0, abs=0.01)
    assert thigh_r[1] == pytest.approx(60, abs=0.01) and thigh_l[1] == pytest.approx(0, abs=0.01)
