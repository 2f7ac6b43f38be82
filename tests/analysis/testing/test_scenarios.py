"""Camera set-ups for generated clips: sizes, planted faults, partial reps and cuts."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.testing.scenarios import (
    BODY_FRACTION,
    CUT_ZOOM,
    FAULTS,
    FAULTY_REPS,
    REPS,
    Scenario,
    build,
    grid,
)
from analysis.testing.synthetic import DEFAULTS, generate_clip


def _scenario(**kw) -> Scenario:
    base = {"exercise": "squat", "view": "front", "body_px": 300, "jitter_px": 0.0, "fps": 30.0}
    return Scenario(**{**base, **kw})


def test_the_subject_is_as_tall_as_asked():
    for body in (150, 600):
        clip = build(_scenario(body_px=body))
        assert clip.truth.height == round(body / BODY_FRACTION)
        first = clip.keypoints.iloc[0]  # standing, before the first rep
        height = first["left_ankle_y"] - first["left_eye_y"]
        # Ankles 0.04 and eyes 0.96 body heights above the floor (analysis.testing.synthetic).
        assert height == pytest.approx(0.92 * body, rel=0.01)


def test_the_fault_is_planted_on_the_faulty_reps_only():
    fault = FAULTS[("squat", "front")]
    assert fault is not None
    sc = _scenario(fault=fault)
    truth = build(sc).truth.reps
    assert len(truth) == REPS
    clean = DEFAULTS["squat"][fault.param]
    want = [fault.value if k in FAULTY_REPS else clean for k in range(REPS)]
    assert truth[fault.param].tolist() == want
    assert sc.expected == {(k, "knee_valgus") for k in FAULTY_REPS}
    assert _scenario().expected == set()


def test_partial_reps_trim_into_the_first_and_last_rep_and_keep_the_truth():
    whole = build(_scenario())
    clip = build(_scenario(partial="both"))
    reps = whole.truth.reps
    first, last = reps.iloc[0], reps.iloc[-1]
    t = clip.keypoints["t_s"]
    assert t.min() == pytest.approx(first["start_s"] + 0.3 * first["duration_s"], abs=1 / 30)
    assert t.max() == pytest.approx(last["start_s"] + 0.8 * last["duration_s"], abs=1 / 30)
    assert t.min() < first["turn_s"] and t.max() > last["turn_s"]
    assert clip.truth.reps.equals(reps)
    assert build(_scenario(partial="last")).keypoints["t_s"].min() == 0.0


def test_a_cut_drops_frames_in_a_pause_and_zooms_the_shot_after_it():
    whole = build(_scenario())
    clip = build(_scenario(cut=True))
    reps = whole.truth.reps
    dropped = sorted(set(whole.keypoints["frame"]) - set(clip.keypoints["frame"]))
    assert dropped, "no frames dropped"
    t_drop = whole.keypoints.set_index("frame").loc[dropped, "t_s"]
    assert (t_drop > reps["end_s"].iloc[1]).all() and (t_drop < reps["start_s"].iloc[2]).all()
    kp_whole = whole.keypoints.set_index("frame")
    kp_cut = clip.keypoints.set_index("frame")
    before, after = dropped[0] - 1, dropped[-1] + 1
    for frame, zoom in ((before, 1.0), (after, CUT_ZOOM)):
        span_cut = kp_cut.loc[frame, "left_ankle_y"] - kp_cut.loc[frame, "left_eye_y"]
        span_whole = kp_whole.loc[frame, "left_ankle_y"] - kp_whole.loc[frame, "left_eye_y"]
        assert span_cut == pytest.approx(zoom * span_whole, rel=1e-5)
    xy = clip.keypoints[[c for c in clip.keypoints.columns if c.endswith("_y")]].to_numpy()
    assert (xy >= 0).all() and (xy <= clip.truth.height).all()  # still in the frame


def test_bad_partial_is_refused_by_name():
    with pytest.raises(ValueError, match="partial must be"):
        build(_scenario(partial="middle"))


def test_grid_covers_the_set_ups():
    full, quick = grid(), grid(quick=True)
    assert {s.body_px for s in full} >= {150, 600}
    assert {s.jitter_px for s in full} >= {1.0, 5.0}
    assert {s.fps for s in full} == {24.0, 30.0, 60.0}
    assert {s.view for s in full} == {"side", "front", "oblique"}
    assert any(s.partial for s in full) and any(s.cut for s in full)
    assert len(quick) < len(full) / 4
    assert len({s.name for s in full}) == len(full)


def test_scenario_matches_the_generator_without_edits():
    sc = _scenario(jitter_px=2.0, seed=3)
    a = build(sc).keypoints
    b = generate_clip("squat", reps=REPS, view="front", fps=30.0, width=711, height=400,
                      noise_px=2.0, seed=3).keypoints  # fmt: skip
    assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True)
