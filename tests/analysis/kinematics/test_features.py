"""analysis.kinematics.features: the per-frame metrics table on generated motion (exact truth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from analysis.kinematics import angles
from analysis.kinematics.features import (
    GRID_COLUMNS,
    feature_parameters,
    metric_points,
    track_features,
    video_features,
)
from analysis.testing.synthetic import generate_clip
from posecoach.keypoints import KeyPoints
from posecoach.schema import FEATURE_COLUMNS


@dataclass(frozen=True)
class Metric:
    """A rule file's metric, as `rules.schema.MetricSpec` has it (this package never imports
    rules)."""

    fn: str | None = None
    points: tuple[str, ...] = ()
    op: str | None = None
    of: tuple[str, ...] = ()
    unit: str = ""


LUNGE_LIKE = {
    "front_knee_deg": Metric(op="min", of=("knee_angle_left_deg", "knee_angle_right_deg"),
                             unit="deg"),
    "ankle_lift": Metric(fn="height_above", points=("left_ankle", "right_ankle"), unit="torso"),
    "front_knee_speed": Metric(op="velocity", of=("front_knee_deg",), unit="deg/s"),
}  # fmt: skip


def test_the_store_schema_lists_every_standard_feature_in_order():
    assert FEATURE_COLUMNS == angles.FEATURE_NAMES


def test_track_features_on_a_generated_squat_are_exact():
    clip = generate_clip("squat", view="side", reps=2, depth=[70, 95], trunk_lean_deg=[30, 40])
    fps = clip.truth.fps
    feats = track_features(clip.points, fps)
    assert list(feats.columns) == [*GRID_COLUMNS, *angles.FEATURE_NAMES]
    assert np.array_equal(feats["frame"], np.arange(len(clip.points)))
    assert len(clip.truth.reps) == 2
    for _, rep in clip.truth.reps.iterrows():
        i = int(round(rep.turn_s * fps))
        assert feats["knee_angle_deg"].iloc[i] == pytest.approx(rep.depth, abs=0.05)
        assert feats["knee_angle_left_deg"].iloc[i] == pytest.approx(rep.depth, abs=0.05)
        assert feats["trunk_to_vertical_deg"].iloc[i] == pytest.approx(rep.trunk_lean_deg, abs=0.05)
    # the same values the standard feature table of the same rows gives
    standard = angles.features(clip.points)
    assert np.allclose(feats["hip_angle_deg"], standard["hip_angle_deg"], equal_nan=True)


def test_frames_where_the_track_is_absent_are_nan_rows_on_the_grid():
    clip = generate_clip("squat", view="side", reps=2, depth=80)
    kp = clip.points
    gone = (kp.frame >= 20) & (kp.frame <= 29)
    shuffled = np.random.default_rng(1).permutation(np.flatnonzero(~gone))
    feats = track_features(kp.take(shuffled), clip.truth.fps)
    assert np.array_equal(feats["frame"], np.arange(len(kp)))
    absent = feats["frame"].between(20, 29)
    assert feats.loc[absent, list(angles.FEATURE_NAMES)].isna().all().all()
    assert feats.loc[~absent, "knee_angle_deg"].notna().all()
    # the times of the missing frames are interpolated between the seen ones
    assert np.allclose(feats["t_s"], feats["frame"] / clip.truth.fps)


def test_a_rule_files_own_metrics_follow_their_definitions():
    clip = generate_clip("lunge", view="side", reps=2, depth=[90, 120])
    feats = track_features(clip.points, clip.truth.fps, definitions=LUNGE_LIKE)
    assert list(feats.columns[-3:]) == list(LUNGE_LIKE)
    left, right = feats["knee_angle_left_deg"], feats["knee_angle_right_deg"]
    assert np.allclose(feats["front_knee_deg"], np.minimum(left, right), equal_nan=True)
    fps = clip.truth.fps
    bottoms = [feats["front_knee_deg"].iloc[int(round(t * fps))] for t in clip.truth.reps.turn_s]
    assert bottoms == pytest.approx(list(clip.truth.reps.depth), abs=0.05)
    unit = angles.torso_length(clip.points)
    kp = clip.points
    lift = (kp.point("right_ankle")[:, 1] - kp.point("left_ankle")[:, 1]) / unit
    assert np.isfinite(feats["ankle_lift"]).all()
    assert np.allclose(feats["ankle_lift"], lift)
    speed = np.gradient(feats["front_knee_deg"].to_numpy(), feats["t_s"].to_numpy())
    assert np.allclose(feats["front_knee_speed"], speed, equal_nan=True)


@pytest.mark.parametrize("name", ["knee_angle_deg", "frame", "t_s", "track_id"])
def test_a_definition_may_not_take_a_standard_or_key_name(name):
    clip = generate_clip("squat", reps=1)
    with pytest.raises(ValueError, match=f"metric '{name}'"):
        track_features(clip.points, definitions={name: Metric(fn="joint_angle")})


def test_video_features_stack_the_tracks_with_their_ids():
    a = track_features(generate_clip("squat", reps=1).points)
    b = track_features(generate_clip("squat", reps=2).points)
    table = video_features({2: b, 1: a}, "vid")
    assert list(table.columns[:4]) == ["video_id", "frame", "t_s", "track_id"]
    assert table["track_id"].tolist() == [1] * len(a) + [2] * len(b)
    assert (table["video_id"] == "vid").all()
    assert list(video_features({}, "vid").columns) == ["video_id", "frame", "t_s", "track_id"]


def test_metric_points_and_the_parameters_describe_every_column():
    assert metric_points("knee_angle_left_deg") == {"left_hip", "left_knee", "left_ankle"}
    assert metric_points("trunk_to_vertical_deg") == {
        "left_shoulder", "right_shoulder", "left_hip", "right_hip"
    }  # fmt: skip
    knees = {f"{s}_{j}" for s in ("left", "right") for j in ("hip", "knee", "ankle")}
    assert metric_points("knee_angle_deg") == knees
    assert metric_points("front_knee_speed", LUNGE_LIKE) == knees
    assert metric_points("ankle_lift", LUNGE_LIKE) == {"left_ankle", "right_ankle"}
    assert metric_points("mystery") == frozenset()
    params = feature_parameters(LUNGE_LIKE, min_score=0.4, fps=25.0)
    columns = [*angles.FEATURE_NAMES, *LUNGE_LIKE]
    assert list(params["units"]) == columns and list(params["points"]) == columns
    assert params["units"]["knee_angle_left_vel_dps"] == "deg/s"
    assert params["units"]["ankle_lift"] == "torso"
    assert params["min_score"] == 0.4 and params["fps"] == 25.0
    assert params["rule_metrics"]["front_knee_deg"] == {
        "op": "min", "of": ["knee_angle_left_deg", "knee_angle_right_deg"], "unit": "deg"
    }  # fmt: skip


def _zoomed_after(df, t_cut: float, zoom: float, width: float, height: float):
    # A camera cut at t_cut to a shot zoomed by `zoom` about the floor under the subject.
    df = df.copy()
    after = df["t_s"] >= t_cut
    xs = [c for c in df.columns if c.endswith(("_x", "_x_raw")) or c in ("bbox_x1", "bbox_x2")]
    ys = [c for c in df.columns if c.endswith(("_y", "_y_raw")) or c in ("bbox_y1", "bbox_y2")]
    cx, cy = width / 2, 0.95 * height
    df.loc[after, xs] = (cx + zoom * (df.loc[after, xs] - cx)).astype(np.float32)
    df.loc[after, ys] = (cy + zoom * (df.loc[after, ys] - cy)).astype(np.float32)
    return df


def test_torso_units_are_per_shot_across_a_zoom_cut():
    """A cut to a shot zoomed 1.8x: heights and distances in torso lengths read the same in
    both shots (one unit for the track would make the zoomed shot's 1.8x too large)."""
    clip = generate_clip("squat", view="front", reps=2, width=1280, height=1400)
    t_cut = float(clip.truth.reps["end_s"].iloc[0]) + 0.2
    df = _zoomed_after(clip.keypoints, t_cut, 1.8, 1280, 1400)
    feats = track_features(KeyPoints.from_frame(df))
    before = feats[feats["t_s"] < t_cut - 0.05]
    after = feats[feats["t_s"] > t_cut + 0.05]
    for name in ("hip_height", "ankle_spread", "wrist_spread"):
        a, b = before[name].iloc[-1], after[name].iloc[0]  # both standing, either side of the cut
        assert a == pytest.approx(b, rel=0.01), name
    assert feats["knee_angle_deg"].to_numpy() == pytest.approx(
        track_features(clip.points)["knee_angle_deg"].to_numpy(), abs=0.01
    )
    # One unit for the whole track (the 90th percentile) is the zoomed shot's.
    whole = angles.features(KeyPoints.from_frame(df))
    assert whole["hip_height"].iloc[len(before) - 1] < 0.6 * before["hip_height"].iloc[-1]
    # A shot whose torso is not measured (the hips out of frame) has no unit: NaN, not a guess.
    hips = [
        c for c in df.columns if c.startswith(("left_hip", "right_hip")) and c.endswith("score")
    ]
    df.loc[df["t_s"] >= t_cut, hips] = 0.0
    feats = track_features(KeyPoints.from_frame(df))
    assert feats.loc[feats["t_s"] >= t_cut, "wrist_spread"].isna().all()
    assert feats.loc[feats["t_s"] < t_cut, "wrist_spread"].notna().all()
