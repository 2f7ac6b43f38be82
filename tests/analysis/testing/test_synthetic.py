"""The synthetic generator: schema, determinism, truth, noise and dropouts."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.testing.synthetic import (
    EXERCISES,
    FOREARM,
    SHOULDER_HALF,
    TRUNK,
    UPPER_ARM,
    generate,
    generate_clip,
)
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


def _px(clip, name, frame=0):
    df = clip.keypoints
    return np.array([df[f"{name}_x"].iloc[frame], df[f"{name}_y"].iloc[frame]])


def test_camera_turn_pitch_and_build_move_the_keypoints_as_projected():
    scale = 0.75 * 720  # the generator's pixels per body unit at 720 px
    width = 2 * SHOULDER_HALF * scale
    front = generate_clip("squat", view="front", reps=1)
    turned = generate_clip("squat", view="front", reps=1, turn_deg=30.0)
    narrow = generate_clip("squat", view="front", reps=1, build=0.75)

    def shoulders(c):
        return abs(_px(c, "left_shoulder")[0] - _px(c, "right_shoulder")[0])

    assert shoulders(front) == pytest.approx(width, abs=0.01)
    assert shoulders(turned) == pytest.approx(width * np.cos(np.radians(30)), abs=0.01)
    assert shoulders(narrow) == pytest.approx(0.75 * width, abs=0.01)
    # Pitch: seen from the side and from above, the near (right) shoulder drops below the far
    # one by the shoulder width times sin(pitch); the x coordinates stay.
    side = generate_clip("squat", view="side", reps=1)
    above = generate_clip("squat", view="side", reps=1, pitch_deg=20.0)
    dy = _px(above, "right_shoulder")[1] - _px(above, "left_shoulder")[1]
    assert dy == pytest.approx(width * np.sin(np.radians(20)), abs=0.01)
    assert _px(above, "right_shoulder")[0] == pytest.approx(
        _px(side, "right_shoulder")[0], abs=0.01
    )
    assert above.truth.params["pitch_deg"] == 20.0 and "pitch_deg" not in side.truth.params


def test_arms_held_at_the_chest_or_in_front():
    chest = generate_clip("squat", view="side", reps=1, arms="chest")
    forward = generate_clip("squat", view="front", reps=1, arms="forward")
    scale = 0.75 * 720
    # Side view, the person facing image-right, trunk leaning 3 deg at the start: the hands
    # 0.12 body units in front of the sternum, 0.3 trunk lengths below the shoulders.
    wrist, shoulder = _px(chest, "right_wrist"), _px(chest, "right_shoulder")
    lean = np.radians(3.0)
    ahead = 0.12 * np.cos(lean) - 0.3 * TRUNK * np.sin(lean)
    assert wrist[0] - shoulder[0] == pytest.approx(ahead * scale, abs=0.01)
    assert wrist[1] < _px(chest, "right_hip")[1]
    elbow = _px(chest, "right_elbow")
    assert np.linalg.norm(elbow - shoulder) == pytest.approx(UPPER_ARM * scale, rel=0.05)
    # Front view: arms straight forward (square to the trunk) point at the camera, so the
    # wrists sit in front of the shoulders, a little lower (the trunk leans 3 deg).
    w, sh = _px(forward, "left_wrist"), _px(forward, "left_shoulder")
    assert w[0] == pytest.approx(sh[0], abs=0.01)
    assert 0 < w[1] - sh[1] < (UPPER_ARM + FOREARM) * scale * np.sin(np.radians(5))
    with pytest.raises(ValueError, match="unknown arms"):
        generate_clip("squat", arms="overhead")


def test_the_default_camera_leaves_the_clip_as_it_was():
    a = generate_clip("push_up", view="oblique", reps=1, noise_px=2.0, seed=3)
    b = generate_clip("push_up", view="oblique", reps=1, noise_px=2.0, seed=3, turn_deg=0.0,
                      pitch_deg=0.0, arms="", build=1.0)  # fmt: skip
    assert a.keypoints.equals(b.keypoints) and a.truth.params == b.truth.params
