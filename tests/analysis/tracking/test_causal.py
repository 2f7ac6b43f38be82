"""The live path's causal smoothing (One Euro): jitter down on known noisy motion, lag bounded,
low scores dropped, tracks apart and forgotten once gone."""

from __future__ import annotations

import numpy as np

from analysis.tracking.causal import KeypointSmoother, OneEuro, OneEuroParams

FPS = 30.0
HEIGHT = 400.0  # the person's box height (px)
NOISE_PX = 3.0


def filtered(values: np.ndarray, t: np.ndarray, params: OneEuroParams | None = None) -> np.ndarray:
    one = OneEuro(params, k=1)
    return np.array(
        [
            one(ti, np.array([[0.0, v]]), np.ones(1), HEIGHT)[0, 1]
            for ti, v in zip(t, values, strict=True)
        ]
    )


def lag_frames(out: np.ndarray, truth: np.ndarray) -> int:
    """The shift (frames) that best lines the filtered series up with the truth."""
    costs = [np.abs(out[s:] - truth[: len(truth) - s]).mean() for s in range(10)]
    return int(np.argmin(costs))


def test_a_still_point_s_jitter_drops_to_under_two_fifths():
    t = np.arange(0, 10, 1 / FPS)
    noisy = 300 + np.random.default_rng(1).normal(0, NOISE_PX, len(t))
    out = filtered(noisy, t)
    assert out[30:].std() < 0.4 * NOISE_PX
    assert abs(out[30:].mean() - 300) < 0.5


def test_a_squatting_point_is_smoothed_with_at_most_a_frame_of_lag():
    # A hip going down and up a quarter of the body's height every 2 s (a squat's tempo), and
    # twice as fast. Jitter: the noise's frame-to-frame wiggle, the second difference of the
    # error (a lag's error is smooth and barely has one).
    t = np.arange(0, 10, 1 / FPS)
    for period_s, kept in ((2.0, 0.5), (1.0, 0.75)):
        truth = 0.25 * HEIGHT * np.sin(2 * np.pi * t / period_s)
        noisy = truth + np.random.default_rng(2).normal(0, NOISE_PX, len(t))
        out = filtered(noisy, t)
        jitter = np.diff(out - truth, 2)[30:].std()
        assert jitter < kept * np.diff(noisy - truth, 2)[30:].std(), period_s
        assert lag_frames(out, truth) <= 1, period_s
        assert np.abs(out - truth)[30:].max() < 0.06 * HEIGHT, period_s
        # Without the speed term (beta 0) the same filter lags far more: beta is what bounds it.
        slow = filtered(noisy, t, OneEuroParams(beta=0.0))
        assert lag_frames(slow, truth) >= 3, period_s


def test_a_jump_is_followed_within_a_fifth_of_a_second():
    t = np.arange(0, 2, 1 / FPS)
    step = np.where(t < 1.0, 100.0, 300.0)
    out = filtered(step, t)
    after = out[t >= 1.2]
    assert np.abs(after - 300).max() < 0.02 * HEIGHT


def test_low_scores_are_dropped_and_a_long_gap_starts_afresh():
    one = OneEuro(k=2)
    xy = np.array([[10.0, 10.0], [50.0, 50.0]])
    one(0.0, xy, np.array([0.9, 0.9]), HEIGHT)
    out = one(1 / FPS, xy + 30, np.array([0.9, 0.1]), HEIGHT)
    assert np.isfinite(out[0]).all() and 10 < out[0, 0] < 40  # filtered towards the new point
    assert np.isnan(out[1]).all()  # below min_score: not shown, as offline
    # Point 1 is back after 0.5 s (more than max_gap_s): taken as it is, no memory of before.
    out = one(0.5, xy + 200, np.array([0.9, 0.9]), HEIGHT)
    assert out[1].tolist() == [250.0, 250.0]


def test_tracks_are_smoothed_apart_and_forgotten_once_gone():
    smoother = KeypointSmoother()
    box = np.array([0.0, 0.0, 100.0, HEIGHT, 0.9])
    a, b = np.full((17, 2), 10.0), np.full((17, 2), 500.0)
    scores = np.ones(17)
    for f in range(5):
        out_a = smoother(1, f / FPS, a, scores, box)
        out_b = smoother(2, f / FPS, b, scores, box)
    assert np.allclose(out_a, 10.0) and np.allclose(out_b, 500.0)  # no leak between tracks
    assert sorted(smoother.filters) == [1, 2]
    smoother(1, 1.0, a, scores, box)  # track 2 unseen for more than max_gap_s
    assert sorted(smoother.filters) == [1]
