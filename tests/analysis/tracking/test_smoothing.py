"""Smoothing on signals with known truth: noise reduced, outliers removed, gaps handled."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.tracking.smoothing import (
    SmoothingParams,
    effective_cutoff_hz,
    hampel,
    interpolate_gaps,
    smooth_track,
)

FPS = 30.0


def _sine_track(n: int = 300, noise: float = 3.0, seed: int = 0):
    """One keypoint series: x a 1 Hz sine (amplitude 40 px), y a slow 0.5 Hz one, + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    truth = np.zeros((n, 17, 2))
    truth[:, :, 0] = 200 + 40 * np.sin(2 * np.pi * 1.0 * t)[:, None]
    truth[:, :, 1] = 150 + 25 * np.sin(2 * np.pi * 0.5 * t + 1)[:, None]
    noisy = truth + rng.normal(0, noise, truth.shape)
    scores = np.full((n, 17), 0.9)
    return np.arange(n), truth, noisy, scores


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean((a - b) ** 2)))


def test_sine_plus_noise_error_reduced():
    frames, truth, noisy, scores = _sine_track()
    out = smooth_track(frames, noisy, scores, FPS)
    assert out.shape == noisy.shape
    assert not np.isnan(out).any()
    before, after = _rmse(noisy, truth), _rmse(out, truth)
    # White noise keeps about sqrt(2 * 6 Hz / 30 fps) = 63% of its amplitude below the cut-off.
    assert after < 0.72 * before, (before, after)
    # The 1 Hz movement itself survives a 6 Hz cut-off (zero phase: no lag either).
    peak = np.argmax(out[:30, 0, 0])
    assert abs(peak - np.argmax(truth[:30, 0, 0])) <= 1


def test_planted_outlier_removed():
    frames, truth, noisy, scores = _sine_track(noise=1.0)
    noisy[100, 5, 0] += 120.0  # a single-frame jump of the left shoulder
    out = smooth_track(frames, noisy, scores, FPS)
    assert abs(out[100, 5, 0] - truth[100, 5, 0]) < 5.0
    # Without Hampel the filter would smear the spike over its neighbours.
    no_hampel = smooth_track(frames, noisy, scores, FPS, SmoothingParams(hampel_sigmas=1e9))
    assert abs(no_hampel[100, 5, 0] - truth[100, 5, 0]) > 5.0


def test_short_gap_filled_long_gap_left():
    frames, truth, noisy, scores = _sine_track(noise=0.5)
    params = SmoothingParams(max_gap_s=0.3)  # 9 frames at 30 fps
    # 6 frames below min_score around a zero crossing of x (where x moves nearly linearly,
    # so linear interpolation is close to the truth): filled.
    scores[42:48, 0] = 0.05
    scores[150:170, 0] = 0.05  # 20 frames: stays missing
    out = smooth_track(frames, noisy, scores, FPS, params)
    assert not np.isnan(out[42:48, 0]).any()
    assert np.abs(out[42:48, 0] - truth[42:48, 0]).max() < 3.0
    assert np.isnan(out[150:170, 0]).all()
    assert not np.isnan(out[149, 0]).any() and not np.isnan(out[170, 0]).any()
    # Other keypoints are untouched by keypoint 0's gaps.
    assert not np.isnan(out[:, 1]).any()


def test_gap_in_frames_is_measured_in_time():
    """A track absent from some frames (no rows) is smoothed on the real frame grid."""
    frames, truth, noisy, scores = _sine_track(noise=0.5)
    keep = np.ones(len(frames), bool)
    keep[80:85] = False  # 5 missing frames: short gap, no rows for them
    out = smooth_track(frames[keep], noisy[keep], scores[keep], FPS)
    assert out.shape == noisy[keep].shape
    assert _rmse(out, truth[keep]) < _rmse(noisy[keep], truth[keep])
    with pytest.raises(ValueError, match="increasing"):
        smooth_track(frames[::-1], noisy, scores, FPS)


def test_low_fps_skips_lowpass_but_keeps_other_steps():
    params = SmoothingParams(cutoff_hz=6.0)
    assert effective_cutoff_hz(params, 10.0) is None  # Nyquist 5 Hz
    assert effective_cutoff_hz(params, 30.0) == 6.0
    assert effective_cutoff_hz(params, None) is None
    frames, _, noisy, scores = _sine_track(n=50, noise=2.0)
    out = smooth_track(frames, noisy, scores, 10.0, params)
    # Hampel + interpolation only: all but the few points Hampel flags are the input itself.
    assert np.mean(np.isclose(out, noisy)) > 0.97


def test_no_fps_only_drops_low_scores():
    frames, _, noisy, scores = _sine_track(n=20)
    scores[3, 4] = 0.1
    out = smooth_track(frames, noisy, scores, None)
    assert np.isnan(out[3, 4]).all()
    out[3, 4] = noisy[3, 4]
    np.testing.assert_allclose(out, noisy)


def test_tiny_tracks():
    one = smooth_track(np.array([7]), np.ones((1, 17, 2)), np.ones((1, 17)), FPS)
    np.testing.assert_allclose(one, np.ones((1, 17, 2)))
    empty = smooth_track(np.array([], int), np.zeros((0, 17, 2)), np.zeros((0, 17)), FPS)
    assert empty.shape == (0, 17, 2)
    short = smooth_track(np.arange(5), np.full((5, 17, 2), 3.0), np.ones((5, 17)), FPS)
    np.testing.assert_allclose(short, 3.0)


def test_helpers_directly():
    x = np.zeros((21, 1))
    x[10] = 50
    assert np.isnan(hampel(x, 7, 3.0, min_dev=1.0)[10, 0])
    assert not np.isnan(hampel(x, 7, 3.0, min_dev=1.0)[[9, 11], 0]).any()
    y = np.arange(10, dtype=float)[:, None].copy()
    y[[0, 3, 4, 7, 8, 9]] = np.nan
    filled = interpolate_gaps(y, max_gap=2)
    np.testing.assert_allclose(filled[[3, 4], 0], [3, 4])
    assert np.isnan(filled[[0, 7, 8, 9], 0]).all()  # leading / trailing stay missing


def test_params_recordable():
    params = SmoothingParams()
    d = params.as_dict()
    assert d["cutoff_hz"] == 6.0 and d["order"] == 4 and d["min_score"] == 0.3
