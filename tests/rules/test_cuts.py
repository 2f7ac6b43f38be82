"""Camera cuts and zoom jumps neither create nor remove repetitions (issue 14).

A cut here is what an edit does to the keypoints: a few frames missing, then the same motion
seen bigger or smaller and elsewhere in the frame (a jump in the box's size and position that
`analysis.kinematics.view_segments.cut_rows` finds). Angles do not change with the zoom; heights
in torso lengths would, with one torso unit for the whole track (a hip height that jumps by half
looks like a rep), and do not with each shot's own unit and floor line
(`analysis.kinematics.features`). Generated clips, exact truth, each cut in a pause and in a
rep (on its way down, and at its turn).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.kinematics.features import shot_bounds, track_grid
from analysis.testing.exercises import generate_exercise
from analysis.testing.synthetic import generate_clip
from posecoach.keypoints import KeyPoints
from rules.loader import load_library
from rules.scoring import score_keypoints

LIB = load_library()


def cut_at(df: pd.DataFrame, t_cut: float, zoom: float, shift: float, gap_s: float = 0.15):
    """The keypoints with a camera cut at ``t_cut``: ``gap_s`` of frames dropped, the shot after
    zoomed by ``zoom`` about the frame's centre and moved by ``shift`` frame widths."""
    width = float(df[[c for c in df.columns if c.endswith("_x")]].to_numpy().max())
    height = float(df[[c for c in df.columns if c.endswith("_y")]].to_numpy().max())
    df = df[(df["t_s"] < t_cut) | (df["t_s"] >= t_cut + gap_s)].copy()
    after = df["t_s"] >= t_cut
    xs = [c for c in df.columns if c.endswith(("_x", "_x_raw")) or c in ("bbox_x1", "bbox_x2")]
    ys = [c for c in df.columns if c.endswith(("_y", "_y_raw")) or c in ("bbox_y1", "bbox_y2")]
    cx, cy = width / 2, height / 2
    df.loc[after, xs] = (cx + zoom * (df.loc[after, xs] - cx) + shift * width).astype(np.float32)
    df.loc[after, ys] = (cy + zoom * (df.loc[after, ys] - cy)).astype(np.float32)
    return df.reset_index(drop=True)


def _cut_times(truth: pd.DataFrame) -> dict[str, float]:
    second = truth.iloc[1]
    return {
        "pause": float(second["end_s"]) + 0.1,
        "descent": float(second["start_s"] + 0.25 * (second["end_s"] - second["start_s"])),
        "turn": float(second["turn_s"]) - 0.05,
    }


# (exercise, view, generator, reps): an angle signal, a torso-unit height, a floor-line height.
CASES = [
    ("squat", "side", generate_clip, 5),
    ("squat", "front", generate_clip, 5),
    ("step_up", "side", generate_exercise, 4),
]


@pytest.mark.parametrize(("zoom", "shift"), [(1.6, 0.1), (0.6, -0.15)])
@pytest.mark.parametrize("where", ["pause", "descent", "turn"])
@pytest.mark.parametrize(
    ("exercise", "view", "make", "reps"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_a_cut_with_a_zoom_jump_neither_creates_nor_removes_a_rep(
    exercise, view, make, reps, where, zoom, shift
):
    clip = make(exercise, view=view, reps=reps, noise_px=1.5, seed=2, width=1280, height=1000)
    truth = clip.truth.reps
    t_cut = _cut_times(truth)[where]
    kp = cut_at(clip.keypoints, t_cut, zoom, shift)
    grid = track_grid(KeyPoints.from_frame(kp))
    assert len(shot_bounds(grid)) == 3, "the cut is one the kinematics see"
    result = score_keypoints(kp, exercise, view=view, library=LIB)
    assert result.n_reps == reps
    counted = result.reps[~result.reps["partial"]]
    assert counted["turn_s"].to_numpy() == pytest.approx(truth["turn_s"].to_numpy(), abs=0.15)
    # No partial row beside them: the rep the cut goes through is one rep, not two halves.
    assert not result.reps["partial"].any()


def test_heights_keep_their_scale_across_zoom_cuts():
    """Why the unit is per shot: zooming in and out in the pauses of a front-view squat set, the
    hip height (its rep signal) standing reads the same in every shot and the reps count, and
    nothing else. With one torso unit for the whole track this test and two of the mid-rep cuts
    above fail (a rep lost or moved where the hip height jumps)."""
    clip = generate_clip("squat", view="front", reps=5, noise_px=1.5, seed=3, width=1280,
                         height=1000)  # fmt: skip
    truth = clip.truth.reps
    kp = clip.keypoints
    for k, zoom in ((0, 1.7), (2, 1 / 1.7)):  # in after the first rep, back out after the third
        kp = cut_at(kp, float(truth["end_s"].iloc[k]) + 0.1, zoom, 0.0)
    result = score_keypoints(kp, "squat", view="front", library=LIB)
    assert result.n_reps == 5 and not result.reps["partial"].any()
    hip = result.features[0]["hip_height"].to_numpy()
    standing = [float(np.nanmedian(hip[(result.features[0]["t_s"] > a) & (result.features[0]["t_s"] < b)]))
                for a, b in ((0.2, 0.8), (float(truth["end_s"].iloc[1]) + 0.1,
                                          float(truth["start_s"].iloc[2]) - 0.05))]  # fmt: skip
    assert standing[0] == pytest.approx(standing[1], rel=0.03)
