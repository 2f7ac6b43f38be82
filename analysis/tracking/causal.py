"""Causal keypoint smoothing for live sessions: the One Euro filter, per track and keypoint.

The offline smoothing (`analysis.tracking.smoothing`) filters forwards and backwards over the
whole track; a live frame has no future. The One Euro filter (Casiez, Roussel and Vogel, CHI
2012; ``../shared/docs/coaching-evidence.md``, "Smoothing defaults") is a first-order low-pass
whose cut-off rises with the point's speed: still points are smoothed hard (jitter gone), moving
ones lightly (little lag). Speeds are in the person's box heights per second, so one ``beta``
fits any resolution and distance to the camera.

Points scoring below ``min_score`` are not filtered and come out NaN (as offline); a point
missing for longer than ``max_gap_s`` starts afresh, as does a track unseen for that long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    """The filter's settings.

    ``min_cutoff_hz`` and ``d_cutoff_hz``: 1 Hz, the common ports' defaults (coaching-evidence
    "Smoothing defaults"). ``beta``: heuristic, chosen on generated squats (tests/analysis/
    tracking/test_causal.py): at 8 per box height/s a squat's hip (about 0.5 box heights/s)
    is filtered at about 5 Hz, near the offline 6 Hz, and lags by at most a frame at 30
    frames/s (3 or more at beta 0), while a still point's 3 px jitter drops under 40 %. ``min_score`` and
    ``max_gap_s`` as offline (`analysis.tracking.smoothing.SmoothingParams`).
    """

    min_cutoff_hz: float = 1.0
    beta: float = 8.0
    d_cutoff_hz: float = 1.0
    min_score: float = 0.3
    max_gap_s: float = 0.3


def _alpha(cutoff_hz: np.ndarray | float, dt: np.ndarray) -> np.ndarray:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """One track's filter over its (K, 2) keypoints, frame by frame."""

    def __init__(self, params: OneEuroParams | None = None, k: int = 17) -> None:
        self.params = params or OneEuroParams()
        self.x = np.full((k, 2), np.nan)  # the filtered points
        self.dx = np.zeros((k, 2))  # their filtered speeds (px/s)
        self.t = np.full(k, -np.inf)  # when each point was last filtered

    def __call__(self, t_s: float, xy: np.ndarray, scores: np.ndarray, scale: float) -> np.ndarray:
        """The filtered points at ``t_s`` (NaN where the score is low); ``scale``: the
        person's box height in pixels (speeds are in scales per second)."""
        p = self.params
        xy = np.asarray(xy, dtype=np.float64)
        valid = np.isfinite(xy).all(axis=1) & (np.asarray(scores) >= p.min_score)
        dt = t_s - self.t
        fresh = valid & ~(dt <= p.max_gap_s)  # first seen, or back after a long gap
        going = valid & ~fresh & (dt > 0)
        if going.any():
            g, step = going, dt[going][:, None]
            raw_dx = (xy[g] - self.x[g]) / step
            a_d = _alpha(p.d_cutoff_hz, step)
            self.dx[g] = a_d * raw_dx + (1.0 - a_d) * self.dx[g]
            speed = np.linalg.norm(self.dx[g], axis=1, keepdims=True) / max(scale, 1.0)
            a = _alpha(p.min_cutoff_hz + p.beta * speed, step)
            self.x[g] = a * xy[g] + (1.0 - a) * self.x[g]
            self.t[g] = t_s
        self.x[fresh], self.dx[fresh], self.t[fresh] = xy[fresh], 0.0, t_s
        out = self.x.copy()
        out[~valid] = np.nan
        return out


class KeypointSmoother:
    """The filters of a live session's tracks: ``smoother(track_id, t_s, xy, scores, box)``.

    A track unseen for longer than ``max_gap_s`` is forgotten (a new person, or the same one
    back after a while, starts afresh), so the session holds filters only for the people in
    view.
    """

    def __init__(self, params: OneEuroParams | None = None) -> None:
        self.params = params or OneEuroParams()
        self.filters: dict[int, OneEuro] = {}
        self._seen: dict[int, float] = {}

    def __call__(
        self, track_id: int, t_s: float, xy: np.ndarray, scores: np.ndarray, box: np.ndarray
    ) -> np.ndarray:
        for tid in [t for t, s in self._seen.items() if t_s - s > self.params.max_gap_s]:
            del self.filters[tid], self._seen[tid]
        one = self.filters.get(track_id)
        if one is None:
            one = self.filters[track_id] = OneEuro(self.params, len(xy))
        self._seen[track_id] = t_s
        height = float(box[3] - box[1]) if np.isfinite(box[1]) and np.isfinite(box[3]) else 1.0
        return one(t_s, xy, scores, height)
