"""How sure a checked value is: its uncertainty from jitter, keypoint scores and segment lengths.

A joint angle read from 2D keypoints is as uncertain as its points are jittery relative to the
length of the segments between them: with point jitter ``sigma`` (pixels, per coordinate) and
segments of ``L1`` and ``L2`` pixels, the angle's standard error is about
``sigma * sqrt(1 / L1**2 + 1 / L2**2)`` radians (a segment's direction alone: ``sigma * sqrt(2) /
L``). A small subject, a thigh pointing at the camera (short in the image) or a jittery track make
the same knee valgus reading worth less. The jitter of each keypoint is the robust spread of the
track's raw points around its smoothed ones (the engine and the importer keep both); points
scored below `LOW_SCORE` count as proportionally noisier.

`metric_uncertainty` turns that into the uncertainty of one finding: the median over the phase
window of the per-frame model, reduced for what the smoothing and the window average out, times
`COVERAGE` (calibrated on generated motion, see tests/rules/test_uncertainty.py and
``make eval``, so that the value's error stays within it). The engine's low-pass filter
(`analysis.tracking.smoothing`, cut-off ``f_c``) keeps the share ``2 f_c / fps`` of white
jitter's power, and a window of ``n`` frames holds about ``n * 2 f_c / fps`` independent
samples, which a median or mean averages (a percentile, min or max does not). `judge` then decides:
a value whose interval (value +- uncertainty) spans the limit between "ok" and a flag is not
assessable, with the reason; one whose interval spans only flagged bands is a flag, in the
band of its value. Metrics without a model (velocities, ratios) have
uncertainty 0 and are judged as before.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from analysis.kinematics.angles import DERIVED_SPECS, FEATURE_SPECS, MID_POINTS, torso_length
from analysis.kinematics.features import shot_torso_unit
from analysis.tracking.smoothing import SmoothingParams, effective_cutoff_hz
from posecoach.keypoints import KEYPOINT_INDEX, KeyPoints
from rules.reps import frame_rate
from rules.specs import CheckSpec, MetricSpec

#: Vocabulary functions by the segments they read: an angle between two segments (a, b, c),
#: one segment's direction (a, b), a distance in torso lengths (p, ref).
TWO_SEGMENT = frozenset({"joint_angle", "frontal_projection_angle", "line_deviation"})
ONE_SEGMENT = frozenset({"segment_to_vertical", "segment_to_horizontal"})
IN_TORSOS = frozenset({"distance", "height_above", "horizontal_offset"})
#: Points scored below this count as noisier, by LOW_SCORE / score.
LOW_SCORE = 0.5
#: The finding's uncertainty in standard errors of its value (the smoothed, window-averaged
#: jitter model combined with the window's spread, `with_spread`): with `SPREAD_WEIGHT`,
#: calibrated on the generated clips of ``make eval`` (8 camera set-ups, 150-600 px tall, 1-5 px
#: jitter, 24-60 fps: 1,980 values) as the pair that keeps every clean rep unflagged while
#: assessing the most faults (the value's error is within it for 96% of them, where a false
#: flag needs more than it beyond a limit that clean reps are clear of).
COVERAGE = 2.5
#: The low-pass filter assumed where the keypoints were smoothed (the engine's and importer's).
SMOOTHING = SmoothingParams()
#: A segment shorter than this (pixels) is named as the reason: the subject is too small.
SMALL_SEGMENT_PX = 40.0
_SEGMENT_NAMES = {
    frozenset({"hip", "knee"}): "thigh",
    frozenset({"knee", "ankle"}): "shin",
    frozenset({"shoulder", "elbow"}): "upper arm",
    frozenset({"elbow", "wrist"}): "forearm",
    frozenset({"shoulder", "hip"}): "trunk",
    frozenset({"hip", "ankle"}): "leg",
}


def angle_sigma_deg(sigma_px: np.ndarray | float, l1: np.ndarray | float,
                    l2: np.ndarray | float) -> np.ndarray:  # fmt: skip
    """Standard error (degrees) of the angle between segments of ``l1`` and ``l2`` pixels whose
    points jitter by ``sigma_px`` (per coordinate)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rad = np.asarray(sigma_px) * np.sqrt(1.0 / np.square(l1) + 1.0 / np.square(l2))
    return np.degrees(rad)


def segment_sigma_deg(sigma_px: np.ndarray | float, length: np.ndarray | float) -> np.ndarray:
    """Standard error (degrees) of the direction of one segment of ``length`` pixels."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.degrees(np.asarray(sigma_px) * math.sqrt(2.0) / np.asarray(length))


def jitter_px(kp: KeyPoints, min_score: float) -> np.ndarray:
    """Per keypoint (K,), the jitter in pixels: the robust spread (1.4826 MAD) of the raw points
    around the smoothed ones; where no raw points were kept, of the smoothed points' second
    differences (divided by sqrt 6, their spread for white noise); 0 where unknown."""
    ok = np.isfinite(kp.xy).all(-1) & (kp.scores >= min_score)
    raw_ok = ok & np.isfinite(kp.xy_raw).all(-1)
    out = np.zeros(kp.xy.shape[1])
    for k in range(kp.xy.shape[1]):
        if raw_ok[:, k].sum() >= 10:
            r = (kp.xy_raw[raw_ok[:, k], k] - kp.xy[raw_ok[:, k], k]).astype(np.float64)
        else:
            xy = np.where(ok[:, k, None], kp.xy[:, k], np.nan).astype(np.float64)
            r = (xy[2:] - 2 * xy[1:-1] + xy[:-2]) / math.sqrt(6.0)
            r = r[np.isfinite(r).all(-1)]
        if len(r) >= 10:
            out[k] = 1.4826 * float(np.median(np.abs(r)))
    return out


@dataclass(frozen=True)
class TrackNoise:
    """What the uncertainty of a track's findings is computed from: its keypoints on the frame
    grid (the features' rows), each keypoint's jitter and the torso length (pixels)."""

    grid: KeyPoints
    jitter: np.ndarray
    torso_px: float
    min_score: float
    #: The share of the jitter's power left in the smoothed points (1: not low-passed).
    kept: float = 1.0
    #: Per grid row, the torso unit of its shot (`analysis.kinematics.features.shot_torso_unit`:
    #: the unit the torso-length metrics were computed in); None: ``torso_px`` everywhere.
    torso_rows: np.ndarray | None = None

    @classmethod
    def of(cls, grid: KeyPoints, min_score: float) -> TrackNoise:
        """The noise of a track laid on its frame grid (`analysis.kinematics.features.track_grid`)."""
        kept = 1.0
        rate = frame_rate(grid.t_s)
        fps = rate if math.isfinite(rate) else None
        cutoff = effective_cutoff_hz(SMOOTHING, fps)
        if cutoff is not None and fps is not None and np.isfinite(grid.xy_raw).any():
            kept = min(1.0, 2.0 * cutoff / fps)
        return cls(grid, jitter_px(grid, min_score), torso_length(grid, min_score), min_score,
                   kept, shot_torso_unit(grid, min_score))  # fmt: skip

    def _point(self, name: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(xy (n, 2), sigma (n,)) of a point at grid rows ``idx``: score-weighted jitter."""
        names = MID_POINTS.get(name, (name,))
        xys, sigmas = [], []
        for n in names:
            k = KEYPOINT_INDEX[n]
            score = self.grid.scores[idx, k].astype(np.float64)
            xy = self.grid.xy[idx, k].astype(np.float64)
            xy[~(score >= self.min_score)] = np.nan
            with np.errstate(divide="ignore", invalid="ignore"):
                sigmas.append(self.jitter[k] * np.maximum(1.0, LOW_SCORE / score))
            xys.append(xy)
        # A mid-point of two present sides averages them (its jitter / sqrt 2); of one, is it.
        xy = np.nanmean(np.stack(xys), axis=0) if len(xys) > 1 else xys[0]
        sigma = np.nanmax(np.stack(sigmas), axis=0) / math.sqrt(len(names))
        return xy, sigma


@dataclass(frozen=True)
class Uncertainty:
    """A finding's uncertainty (``value``, the metric's unit; 0 where no model applies) and what
    it came from: the shortest segment involved (name, pixels), the jitter and lowest score."""

    value: float = 0.0
    segment: str = ""
    length_px: float = math.nan
    jitter_px: float = math.nan
    score: float = math.nan

    def reason(self) -> str:
        """Why the value is this uncertain, in a coach's words."""
        if self.length_px < SMALL_SEGMENT_PX:
            return f"subject too small: {self.segment} {self.length_px:.0f} px"
        if self.score < LOW_SCORE:
            return f"low keypoint scores: {self.score:.2f}"
        return (
            f"keypoints jitter {self.jitter_px:.1f} px on a {self.length_px:.0f} px {self.segment}"
        )


def _terms(metric: str, defined: dict[str, MetricSpec]) -> list[tuple[str, tuple[str, ...]]] | None:
    """The (vocabulary function, points) a metric is computed from; None when one is not
    modelled (a velocity, an operation other than a side's max / min / mean / difference)."""
    if metric in defined and defined[metric].fn is not None:
        return [(str(defined[metric].fn), defined[metric].points)]
    if metric in FEATURE_SPECS:
        return [FEATURE_SPECS[metric]]
    if metric in defined:
        op, inputs = defined[metric].op, defined[metric].of
    elif metric in DERIVED_SPECS:
        op, inputs = DERIVED_SPECS[metric]
    else:
        return None
    if op not in ("max", "max_seen", "min", "mean", "abs_difference", "difference"):
        return None
    out: list[tuple[str, tuple[str, ...]]] = []
    for name in inputs:
        terms = _terms(name, defined)
        if terms is None:
            return None
        out += terms
    return out


def _segment_name(a: str, b: str) -> str:
    parts = frozenset(p.removeprefix("left_").removeprefix("right_").removeprefix("mid_")
                      for p in (a, b))  # fmt: skip
    return _SEGMENT_NAMES.get(parts, f"{a}-{b}")


def metric_uncertainty(noise: TrackNoise, metric: str, defined: dict[str, MetricSpec],
                       idx: np.ndarray, robust: bool = False) -> Uncertainty:  # fmt: skip
    """The uncertainty of ``metric`` read over grid rows ``idx`` (its phase window): the worst of
    its terms' median per-frame standard errors, reduced for the smoothing and, where the value
    is a median or mean over the window (``robust``), for the window's independent samples,
    times `COVERAGE`."""
    terms = _terms(metric, defined)
    if not terms or len(idx) == 0:
        return Uncertainty()
    samples = max(1.0, len(idx) * noise.kept) if robust else 1.0
    reduce = math.sqrt(noise.kept / samples)
    worst = Uncertainty()
    for fn, names in terms:
        pts = [noise._point(n, idx) for n in names]
        sigma = np.nanmax(np.stack([s for _, s in pts]), axis=0)
        if fn in TWO_SEGMENT:
            segs = [(names[0], names[1], pts[0][0], pts[1][0]),
                    (names[1], names[2], pts[1][0], pts[2][0])]  # fmt: skip
        elif fn in ONE_SEGMENT:
            segs = [(names[0], names[1], pts[0][0], pts[1][0])]
        elif fn in IN_TORSOS:
            segs = []
        else:
            return Uncertainty()
        lengths = [np.linalg.norm(q - p, axis=-1) for _, _, p, q in segs]
        if fn in TWO_SEGMENT:
            per_frame = angle_sigma_deg(sigma, lengths[0], lengths[1])
        elif fn in ONE_SEGMENT:
            per_frame = segment_sigma_deg(sigma, lengths[0])
        else:
            torso = noise.torso_px if noise.torso_rows is None else noise.torso_rows[idx]
            per_frame = sigma * math.sqrt(2.0) / torso
        if not np.isfinite(per_frame).any():
            continue
        value = COVERAGE * reduce * float(np.nanmedian(per_frame))
        if value <= worst.value:
            continue
        seg_len = [float(np.nanmedian(v)) if np.isfinite(v).any() else math.nan for v in lengths]
        j = int(np.nanargmin(seg_len)) if segs and np.isfinite(seg_len).any() else -1
        scores = np.stack([noise.grid.scores[idx, KEYPOINT_INDEX[n]] for n in names
                           if n in KEYPOINT_INDEX] or [np.ones(len(idx))])  # fmt: skip
        worst = Uncertainty(
            value=value,
            segment=_segment_name(segs[j][0], segs[j][1]) if j >= 0 else "torso",
            length_px=seg_len[j] if j >= 0 else noise.torso_px,
            jitter_px=float(np.nanmedian(sigma)),
            score=float(np.nanmedian(np.nanmin(scores, axis=0))),
        )
    return worst


#: Weight of the value's spread within its window (its robust standard deviation) in the
#: uncertainty: where the metric moves within the window, which frames the window holds (the
#: turn found a frame or two off in noise) moves the value too, whatever the jitter.
SPREAD_WEIGHT = 0.5


def with_spread(u: Uncertainty, values: np.ndarray) -> Uncertainty:
    """``u`` combined with the spread of the window's ``values`` (`SPREAD_WEIGHT` times their
    robust standard deviation, in quadrature): the part of the error that no jitter model sees."""
    if u.value == 0.0 or values.size < 3:
        return u
    q1, q3 = np.percentile(values, [25, 75])
    spread = SPREAD_WEIGHT * COVERAGE * float(q3 - q1) / 1.349
    return dataclasses.replace(u, value=math.hypot(u.value, spread))


def judge(check: CheckSpec, value: float, u: float) -> tuple[str, float] | None:
    """(severity, threshold) of ``value`` given its uncertainty ``u``; None when the interval
    value +- u spans the limit between ok and a flag (not assessable). An interval within the
    flagged bands is a flag for sure and takes the band of the value itself: taking its milder
    end would turn a clear fault (62 +- 6 deg of trunk lean, caution from 55) into a note."""
    low, high = check.severity(value - u), check.severity(value + u)
    if "ok" in (low[0], high[0]) and low[0] != high[0]:
        return None
    return check.severity(value)
