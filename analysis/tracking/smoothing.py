"""Confidence-aware smoothing of one track's keypoint series (offline: the whole series is known).

Per keypoint coordinate, in this order (the Sports2D / Pose2Sim recipe, see
``../shared/docs/coaching-evidence.md``):

1. points whose score is below ``min_score`` are dropped (NaN);
2. outliers are rejected with a Hampel filter (centred rolling median, MAD scale);
3. interior gaps no longer than ``max_gap_s`` are interpolated linearly, longer ones stay NaN;
4. a zero-phase low-pass Butterworth filter (``scipy.signal.filtfilt``) runs over each NaN-free
   segment, with its cut-off in Hz converted with the video's real frame rate.

The series lives on the frame grid from the track's first to its last frame (frames where the
track is absent are NaN), so gaps and cut-offs are in real time even when the tracker lost the
person for a few frames. Variable-frame-rate video is treated at its mean rate.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal


@dataclass(frozen=True)
class SmoothingParams:
    """Parameters of :func:`smooth_track`; recorded in the keypoints file's metadata.

    Attributes:
        min_score: points with a model score below this are dropped before filtering.
        hampel_window: Hampel window length in frames (odd; centred).
        hampel_sigmas: a point further than this many robust standard deviations
            (1.4826 * MAD) from the window's median is an outlier.
        hampel_min_px: floor on the robust deviation in pixels, so that a nearly still point
            (MAD close to 0) does not turn its own sub-pixel jitter into outliers.
        max_gap_s: interior gaps up to this long (seconds) are interpolated; longer stay NaN.
        cutoff_hz: low-pass cut-off in Hz; None disables the low-pass filter. When the video's
            Nyquist frequency (fps / 2) is not above it, filtering is skipped for that video
            (a 10 fps video cannot be low-passed at 6 Hz) and the metadata says so.
        order: Butterworth order (applied twice by filtfilt, so the effective order doubles).
    """

    min_score: float = 0.3
    hampel_window: int = 7
    hampel_sigmas: float = 3.0
    hampel_min_px: float = 2.0
    max_gap_s: float = 0.3
    cutoff_hz: float | None = 6.0
    order: int = 4

    def as_dict(self) -> dict[str, float | int | None]:
        return dataclasses.asdict(self)


def effective_cutoff_hz(params: SmoothingParams, fps: float | None) -> float | None:
    """The low-pass cut-off actually applied at ``fps`` (None: no low-pass filtering)."""
    if params.cutoff_hz is None or fps is None or not np.isfinite(fps) or fps <= 0:
        return None
    if params.cutoff_hz >= fps / 2:
        return None
    return params.cutoff_hz


def hampel(values: np.ndarray, window: int, sigmas: float, min_dev: float = 0.0) -> np.ndarray:
    """Replace outliers by NaN, column by column.

    Args:
        values: (T, C) float array; NaN are missing and ignored by the rolling statistics.
        window: centred window length in samples.
        sigmas: threshold in robust standard deviations (1.4826 * median absolute deviation).
        min_dev: floor on the robust standard deviation (same unit as ``values``).

    Returns:
        A copy of ``values`` with the outliers set to NaN. Points without at least
        ``window - 1`` present samples in their window are never flagged.
    """
    if values.shape[0] < window:
        return values.copy()
    # Judge a point only with (nearly) a full window around it: at the series' ends and at
    # the edges of missing stretches a one-sided window mistakes a trend for an outlier.
    need = max(3, window - 1)
    frame = pd.DataFrame(values)
    median = frame.rolling(window, center=True, min_periods=need).median()
    mad = (frame - median).abs().rolling(window, center=True, min_periods=need).median()
    scale = np.maximum(1.4826 * mad.to_numpy(), min_dev)
    deviation = np.abs(values - median.to_numpy())
    out = values.copy()
    with np.errstate(invalid="ignore"):
        out[deviation > sigmas * scale] = np.nan
    return out


def interpolate_gaps(values: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly fill interior NaN runs of at most ``max_gap`` samples, per column.

    Leading and trailing NaN, and runs longer than ``max_gap``, stay NaN.
    """
    out = values.copy()
    if max_gap <= 0 or values.shape[0] < 3:
        return out
    n = values.shape[0]
    t = np.arange(n)
    for c in range(values.shape[1]):
        col = out[:, c]
        missing = np.isnan(col)
        if not missing.any() or missing.all():
            continue
        # Start and end (exclusive) of each NaN run.
        edges = np.flatnonzero(np.diff(np.r_[0, missing.astype(np.int8), 0]))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            if start == 0 or end == n or end - start > max_gap:
                continue
            col[start:end] = np.interp(t[start:end], [start - 1, end], [col[start - 1], col[end]])
    return out


def lowpass(values: np.ndarray, fps: float, cutoff_hz: float, order: int) -> np.ndarray:
    """Zero-phase Butterworth low-pass over each NaN-free segment of each column.

    Segments too short for filtfilt's padding (fewer than ``3 * (order + 1) + 1`` samples) are
    left as they are: a handful of frames carries no frequency content to remove.
    """
    b, a = signal.butter(order, cutoff_hz / (fps / 2), btype="low")
    padlen = 3 * max(len(a), len(b))
    out = values.copy()
    for c in range(values.shape[1]):
        col = out[:, c]
        valid = ~np.isnan(col)
        if not valid.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[0, valid.astype(np.int8), 0]))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            if end - start > padlen:
                col[start:end] = signal.filtfilt(b, a, col[start:end], padlen=padlen)
    return out


def smooth_track(
    frames: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    fps: float | None,
    params: SmoothingParams | None = None,
) -> np.ndarray:
    """Smooth one track's keypoints.

    Args:
        frames: (T,) increasing frame indices of the track's rows (gaps allowed).
        keypoints: (T, K, 2) pixel coordinates; NaN allowed.
        scores: (T, K) model scores.
        fps: the video's frame rate; None (e.g. a folder of unrelated images) keeps only the
            score threshold: no outlier rejection, interpolation or filtering over time.
        params: the smoothing parameters (defaults if None).

    Returns:
        (T, K, 2) float64 smoothed coordinates for the same rows; NaN where a point was dropped
        (low score or outlier) and not interpolated.
    """
    params = params or SmoothingParams()
    frames = np.asarray(frames, dtype=np.int64)
    kpts = np.asarray(keypoints, dtype=np.float64)
    n_rows, n_kpts = kpts.shape[:2]
    if n_rows == 0:
        return kpts.copy()
    if np.any(np.diff(frames) <= 0):
        raise ValueError("smooth_track: frames must be strictly increasing")
    low = np.asarray(scores) < params.min_score
    kpts = kpts.copy()
    kpts[low] = np.nan
    if fps is None or not np.isfinite(fps) or fps <= 0:
        return kpts

    # Work on the full frame grid so that window lengths, gap limits and cut-offs are in time.
    grid_len = int(frames[-1] - frames[0] + 1)
    rows = frames - frames[0]
    grid = np.full((grid_len, n_kpts * 2), np.nan)
    grid[rows] = kpts.reshape(n_rows, -1)

    grid = hampel(grid, params.hampel_window, params.hampel_sigmas, params.hampel_min_px)
    grid = interpolate_gaps(grid, int(np.floor(params.max_gap_s * fps + 1e-9)))
    cutoff = effective_cutoff_hz(params, fps)
    if cutoff is not None:
        grid = lowpass(grid, fps, cutoff, params.order)
    return grid[rows].reshape(n_rows, n_kpts, 2)
