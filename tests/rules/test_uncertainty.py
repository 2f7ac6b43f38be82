"""Findings that know their uncertainty (issue 14, item 3): the model's parts on exact answers,
and knee valgus on generated front-view squats across subject sizes, jitter and frame rates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import rules.checks
from analysis.kinematics.features import track_grid
from analysis.testing.synthetic import generate_clip
from rules.loader import load_library
from rules.scoring import score_keypoints
from rules.uncertainty import (
    TrackNoise,
    Uncertainty,
    angle_sigma_deg,
    jitter_px,
    judge,
    metric_uncertainty,
    segment_sigma_deg,
)

LIB = load_library()
VALGUS = next(c for c in LIB.find("squat").checks if c.id == "knee_valgus")  # 13.5 / 16.8 deg


def test_angle_and_segment_sigma_follow_the_segment_lengths():
    # 2 px of jitter on a 100 px and a 50 px segment: 2 * sqrt(1e-4 + 4e-4) rad.
    assert angle_sigma_deg(2.0, 100.0, 50.0) == pytest.approx(math.degrees(2 * math.sqrt(5e-4)))
    assert segment_sigma_deg(2.0, 100.0) == pytest.approx(math.degrees(2 * math.sqrt(2) / 100))
    # Half the size, twice the uncertainty.
    assert angle_sigma_deg(1.0, 20.0, 20.0) == pytest.approx(2 * angle_sigma_deg(1.0, 40.0, 40.0))


def test_jitter_is_the_spread_of_the_raw_points_around_the_smoothed_ones():
    clean = generate_clip("squat", view="front", reps=2)
    assert (jitter_px(clean.points, 0.3) == 0).all()  # nothing smoothed away: no jitter known
    for noise in (1.0, 4.0):
        kp = generate_clip("squat", view="front", reps=3, noise_px=noise, seed=1).points
        j = jitter_px(kp, 0.3)
        # The smoother follows part of the noise, so the residual is a bit smaller than it.
        assert 0.4 * noise < np.median(j) < 1.1 * noise
    # Without raw points the smoothed points' second differences stand in.
    kp = generate_clip("squat", view="front", reps=3, noise_px=3.0, seed=1, smooth=False).points
    kp.xy_raw[:] = np.nan
    assert 2.0 < np.median(jitter_px(kp, 0.3)) < 4.0


def test_judge_is_not_assessable_only_across_the_ok_limit():
    assert judge(VALGUS, 10.0, 2.0) == ("ok", 13.5)
    assert judge(VALGUS, 12.0, 2.0) is None  # 10-14: ok or caution
    assert judge(VALGUS, 15.0, 0.0) == ("caution", 13.5)
    # 14-20: a fault for sure, caution or risk: the value's own band, never "not assessable".
    assert judge(VALGUS, 17.0, 3.0) == ("risk", 16.8)
    assert judge(VALGUS, 15.0, 1.4) == ("caution", 13.5)
    assert judge(VALGUS, 25.0, 3.0) == ("risk", 16.8)


def test_the_reason_names_the_short_segment_or_the_jitter():
    assert Uncertainty(5.0, "thigh", 38.0, 2.0, 0.9).reason() == "subject too small: thigh 38 px"
    assert Uncertainty(5.0, "thigh", 90.0, 2.0, 0.4).reason() == "low keypoint scores: 0.40"
    jittery = Uncertainty(5.0, "shin", 90.0, 4.2, 0.9)
    assert jittery.reason() == "keypoints jitter 4.2 px on a 90 px shin"


def test_a_small_jittery_subject_is_not_assessable_with_the_reason():
    clip = generate_clip("squat", view="front", reps=3, depth=90, valgus_deg=[0, 14, 0],
                         height=200, noise_px=4, seed=2)  # fmt: skip
    result = score_keypoints(clip.points, "squat", library=LIB, view="front")
    f = result.findings[result.findings["check_id"] == "knee_valgus"]
    na = f[f["severity"] == "not_assessable"]
    assert len(na) >= 1
    assert na["message"].str.contains(r"\+- [\d.]+ deg could be on either side of 13.5 deg").all()
    assert na["message"].str.contains("subject too small: thigh").all()
    assert na["value"].notna().all() and (na["threshold"] == 13.5).all()
    # The +- of the message is the stored uncertainty, for analysts to query.
    said = na["message"].str.extract(r"\+- ([\d.]+) deg")[0].astype(float)
    assert np.allclose(said, na["uncertainty"].round(1))
    judged = f[f["severity"] != "not_assessable"]
    assert (judged["uncertainty"] > 0).all() and judged["uncertainty"].notna().all()


def test_noise_free_motion_is_judged_as_before():
    grid = track_grid(generate_clip("squat", view="front", reps=2).points)
    assert (TrackNoise.of(grid, 0.3).jitter == 0).all()


VALGUS_REPS = [0.0, 18.0, 0.0, 22.0, 0.0, 8.0]


def _valgus_findings(monkeypatch, body_px: int, noise: float, fps: float, seed: int):
    """(true value, severity, uncertainty) of each rep's knee-valgus finding."""
    seen: list[float] = []
    judge_ = rules.checks.judge

    def spy(check, value, u):
        if check.id == "knee_valgus":
            seen.append(u)
        return judge_(check, value, u)

    monkeypatch.setattr(rules.checks, "judge", spy)
    clip = generate_clip("squat", view="front", reps=len(VALGUS_REPS), fps=fps,
                         height=round(body_px / 0.75), noise_px=noise, seed=seed,
                         valgus_deg=VALGUS_REPS)  # fmt: skip
    result = score_keypoints(clip.points, "squat", library=LIB, view="front")
    f = result.findings[result.findings["check_id"] == "knee_valgus"].sort_values("rep_index")
    assert list(f["rep_index"]) == list(range(len(VALGUS_REPS)))
    return list(zip(VALGUS_REPS, f["severity"], seen, strict=True))


def test_valgus_across_sizes_jitter_and_frame_rates(monkeypatch):
    """Issue 14's target on generated motion, body 150-600 px, jitter 1-5 px, 24-60 fps: no
    false flag, and no fault missed whose value is clear of its threshold by more than its
    uncertainty."""
    false_flags, missed, clear, flagged = [], [], 0, 0
    for body, noise, fps, seed in itertools.product((150, 200, 260, 400, 600), (1, 3, 5),
                                                    (24, 30, 60), (0, 1)):  # fmt: skip
        for i, (true, severity, u) in enumerate(_valgus_findings(monkeypatch, body, noise, fps,
                                                                 seed)):  # fmt: skip
            case = (body, noise, fps, seed, i, severity, round(u, 1))
            is_flag = severity in ("caution", "risk")
            if true < 13.5 and is_flag:
                false_flags.append(case)
            if true - 13.5 > u:
                clear += 1
                if not is_flag:
                    missed.append(case)
            flagged += is_flag
    print(f"valgus grid: {clear} faults clear of the threshold, {flagged} flags")
    assert false_flags == []
    assert missed == []
    # Not met by calling everything uncertain: the faults of the larger, steadier subjects are
    # clear (at the bottom of a 70 deg squat seen from the front the thigh is only 11-47 px
    # long, so the smaller or more jittery ones are rightly not assessable).
    assert clear >= 25


def test_a_torso_unit_metric_is_as_uncertain_as_its_own_shots_torso(monkeypatch):
    """A camera cut zooming in 1.8x makes the torso 1.8x longer in pixels: a height in torso
    lengths read after it is that much less uncertain for the same pixel jitter (the metric is
    computed in its own shot's unit, `shot_torso_unit`, and so is its uncertainty)."""
    import analysis.testing.scenarios as scenarios
    from analysis.testing.scenarios import Scenario, build

    monkeypatch.setattr(scenarios, "CUT_ZOOM", 1.8)
    clip = build(Scenario("squat", "front", 300, 2.0, 30.0, cut=True))
    grid = track_grid(clip.points)
    noise = TrackNoise.of(grid, 0.3)
    assert noise.torso_rows is not None
    first, last = np.arange(0, 30), np.arange(len(grid) - 30, len(grid))
    ratio = noise.torso_rows[last].mean() / noise.torso_rows[first].mean()
    assert ratio == pytest.approx(1.8, rel=0.05)  # the cut is seen, each shot has its unit
    u_first = metric_uncertainty(noise, "hip_height", {}, first).value
    u_last = metric_uncertainty(noise, "hip_height", {}, last).value
    assert u_first / u_last == pytest.approx(ratio, rel=0.05)
