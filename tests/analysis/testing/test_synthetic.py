"""The synthetic generator: schema, determinism, truth, noise and dropouts."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.testing.synthetic import EXERCISES, generate, generate_clip
from posecoach.schema import KEYPOINTS
from posecoach.store import conform


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_exercise_fits_the_keypoints_schema(exercise):
    clip = generate_clip(exercise, reps=2, fps=25)
    df = clip.keypoints.copy()
    assert list(df.columns) == [n for n in KEYPOINTS.names if n != "video_id"]
    df.insert(0, "video_id", "v")
    assert conform("keypoints", df).num_rows == len(df)
    kp = df[[c for c in df.columns if c.endswith(("_x", "_y"))]].to_numpy()
    assert np.isfinite(kp).all()
    assert (kp[:, 0::2] >= 0).all() and (kp[:, 0::2] <= 1280).all()  # inside the frame
    assert (kp[:, 1::2] >= 0).all() and (kp[:, 1::2] <= 720).all()
    table = clip.truth.reps if clip.truth.kind == "rep" else clip.truth.holds
    assert len(table) == (1 if clip.truth.kind == "hold" else 2)
    assert (table["start_s"] < table["turn_s"]).all() and (table["turn_s"] < table["end_s"]).all()
    assert df["t_s"].iloc[-1] > table["end_s"].iloc[-1]


def test_deterministic_per_seed_and_noise_only_in_raw_before_smoothing():
    a = generate_clip("squat", reps=2, noise_px=3, dropout=0.05, seed=4).keypoints
    b = generate_clip("squat", reps=2, noise_px=3, dropout=0.05, seed=4).keypoints
    c = generate_clip("squat", reps=2, noise_px=3, dropout=0.05, seed=5).keypoints
    clean = generate_clip("squat", reps=2).keypoints
    assert a.equals(b) and not a.equals(c)
    err_raw = (a["left_knee_x_raw"] - clean["left_knee_x"]).abs()
    ok = a["left_knee_score"] >= 0.3
    assert 1.5 < err_raw[ok].std() < 4.5
    # smoothing (analysis.tracking.smoothing) brings the smoothed points closer to the truth
    err_smooth = (a["left_knee_x"] - clean["left_knee_x"]).abs()
    assert np.nanmean(err_smooth[ok]) < np.nanmean(err_raw[ok])
    # dropouts: low scores, about the requested share
    low = (a[[c for c in a.columns if c.endswith("_score")]] < 0.3).to_numpy().mean()
    assert 0.03 < low < 0.07


def test_clean_clip_has_raw_equal_smoothed():
    df = generate_clip("push_up", reps=1).keypoints
    assert np.allclose(df["left_elbow_x"], df["left_elbow_x_raw"])


def test_per_rep_values_and_errors():
    clip = generate_clip("squat", reps=3, depth=[70, 90, 110], tempo_s=[2, 3, 2])
    assert clip.truth.reps["depth"].tolist() == [70, 90, 110]
    assert clip.truth.reps["duration_s"].tolist() == pytest.approx([2, 3, 2])
    with pytest.raises(ValueError, match="2 values given for 3"):
        generate_clip("squat", reps=3, depth=[70, 90])
    with pytest.raises(ValueError, match="unknown parameter"):
        generate_clip("squat", hip_sag_deg=10)
    with pytest.raises(ValueError, match="unknown exercise"):
        generate_clip("curl")
    with pytest.raises(ValueError, match="rest position"):
        generate_clip("push_up", reps=2, lockout_deg=[170, 150])


def test_generate_returns_the_table_with_its_truth():
    df = generate("plank", hold_s=6)
    assert df.attrs["truth"].holds["duration_s"].iloc[0] == pytest.approx(6)
