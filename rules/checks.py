"""One check judged over one repetition or hold: its phase window, robust value and uncertainty.

The value of a check is a robust statistic over its phase window, never one frame:

* the turn's phase (``bottom`` or ``lockout``, the rule's ``turn_phase``): the median over the
  frames around the turning point in which the rep signal stays within `TURN_FRACTION` of the
  rep's range from its turn value (at least +-0.07 s, at most +-`MAX_TURN_HALF_S`), so that
  the value depends neither on which frame of a flat or two-humped turn was the extreme nor on
  one noisy frame;
* the other one: the median over +-0.07 s around the rest points on both sides;
* ``throughout``: over the whole repetition, the 90th percentile (``above``) or the 10th
  (``below``), so that one noisy frame does not make a finding;
* ``hold``: the median over the frames of the hold that are in the position.

Its uncertainty comes from the keypoints' jitter and scores and the length in pixels of the
segments involved (`rules.uncertainty`); a value whose band is ambiguous within it is
``not_assessable`` with the reason in the message ("subject too small: thigh 38 px"), never a
flag. A value that cannot be measured (keypoints missing) is ``not_assessable`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from rules.records import Finding
from rules.reps import Segment, frame_rate
from rules.schema import CheckSpec, RuleFile
from rules.uncertainty import TrackNoise, Uncertainty, judge, metric_uncertainty, with_spread

#: Half-width of the bottom / lockout windows, seconds (the least, for the turn's).
PHASE_HALF_WINDOW_S = 0.07
#: The turn's window: frames whose smoothed rep signal is within this share of the rep's range
#: of the turn value, up to `MAX_TURN_HALF_S` either side of the turn.
TURN_FRACTION = 0.05
MAX_TURN_HALF_S = 0.25


def _window(centre: int, half: int, n: int) -> np.ndarray:
    return np.arange(max(0, centre - half), min(n, centre + half + 1))


def turn_window(seg: Segment, signal: np.ndarray | None, half: int, fps: float,
                n: int) -> np.ndarray:  # fmt: skip
    """Grid rows of a rep's turn phase: contiguous around the turn, where the smoothed rep
    ``signal`` stays within `TURN_FRACTION` of the rep's range of its turn value; +-``half``
    rows at least (and without a signal); ``n`` grid rows in all."""
    lo, hi = max(0, seg.turn - half), min(n - 1, seg.turn + half)
    if signal is None or not np.isfinite(signal[seg.turn]):
        return np.arange(lo, hi + 1)
    rest = np.nanmedian(signal[[seg.rest_before, seg.rest_after]])
    band = TURN_FRACTION * abs(float(signal[seg.turn] - rest))
    if not np.isfinite(band):
        return np.arange(lo, hi + 1)
    near = np.abs(signal - signal[seg.turn]) <= band
    reach = max(half, int(round(MAX_TURN_HALF_S * fps)))
    a, b = seg.turn, seg.turn
    while a - 1 >= max(seg.start, seg.turn - reach) and near[a - 1]:
        a -= 1
    while b + 1 <= min(seg.end, seg.turn + reach) and near[b + 1]:
        b += 1
    return np.arange(min(a, lo), max(b, hi) + 1)


def _phase_frames(check: CheckSpec, seg: Segment, rule: RuleFile, half: int, n: int,
                  in_position: np.ndarray | None, turn_rows: np.ndarray) -> np.ndarray:  # fmt: skip
    if check.phase == "throughout":
        return np.arange(seg.start, seg.end + 1)
    if check.phase == "hold":
        idx = np.arange(seg.start, seg.end + 1)
        if in_position is not None and in_position[idx].any():
            idx = idx[in_position[idx]]
        return idx
    turn_phase = rule.reps.turn_phase if rule.reps else "bottom"
    if check.phase == turn_phase:
        return turn_rows
    return np.union1d(_window(seg.rest_before, half, n), _window(seg.rest_after, half, n))


def _aggregate(check: CheckSpec, values: np.ndarray) -> float:
    agg = check.aggregate
    if agg is None:
        if check.phase == "throughout":
            agg = "p90" if check.comparison == "above" else "p10"
        else:
            agg = "median"
    reducers: dict[str, Callable[[np.ndarray], Any]] = {
        "median": np.median,
        "mean": np.mean,
        "min": np.min,
        "max": np.max,
        "p10": lambda v: np.percentile(v, 10),
        "p90": lambda v: np.percentile(v, 90),
    }
    return float(reducers[agg](values))


def _is_central(check: CheckSpec) -> bool:
    """Whether the check's statistic averages noise out over its window (a median or mean) or
    follows single frames (a percentile, min or max)."""
    if check.aggregate is not None:
        return check.aggregate in ("median", "mean")
    return check.phase != "throughout"


def format_message(template: str, **fields: Any) -> str:
    """Fill a validated message template (plain named fields only, see rules.schema)."""
    try:
        return template.format(**fields)
    except (KeyError, ValueError, IndexError) as exc:  # a NaN value in a format spec, etc.
        return f"{template} [message could not be filled: {exc}]"


def evaluate_check(
    check: CheckSpec,
    seg: Segment,
    rep_index: int,
    rule: RuleFile,
    grid: pd.DataFrame,
    metrics: dict[str, np.ndarray],
    view: str,
    track_id: int,
    in_position: np.ndarray | None = None,
    noise: TrackNoise | None = None,
    signal: np.ndarray | None = None,
) -> Finding:
    """One finding: the check evaluated over one repetition or hold.

    ``noise``: the track's jitter and keypoints (`rules.uncertainty.TrackNoise`); without it the
    value is taken as exact. ``signal``: the rep signal, smoothed as reps are found on it
    (`rules.reps.prepare_signal`), which bounds the turn's window (`turn_window`).
    """
    t_s = grid["t_s"].to_numpy(np.float64)
    frames = grid["frame"].to_numpy()
    fps = frame_rate(t_s)
    half = max(1, int(round(PHASE_HALF_WINDOW_S * fps)))
    turn_rows = turn_window(seg, signal if seg.kind == "rep" else None, half, fps, len(t_s))
    idx = _phase_frames(check, seg, rule, half, len(t_s), in_position, turn_rows)
    values = metrics[check.metric][idx]
    ok = np.isfinite(values)
    start_s, end_s = float(t_s[seg.start]), float(t_s[seg.end])
    if not ok.any():
        _, threshold = check.severity(float("nan"))
        return Finding.of_check(
            check, rule, track_id=track_id, rep_index=rep_index, severity="not_assessable",
            value=float("nan"), threshold=threshold, start_s=start_s, end_s=end_s,
            worst_frame=None, worst_s=None,
            message=(f"{check.id}: not measurable (keypoints missing, or a segment "
                     "foreshortened to nothing by the camera view)"),
        )  # fmt: skip
    value = _aggregate(check, values[ok])
    u = Uncertainty()
    if noise is not None:
        u = metric_uncertainty(
            noise, check.metric, rule.metrics, idx[ok], robust=_is_central(check)
        )
        u = with_spread(u, values[ok])
    judged = judge(check, value, u.value)
    if judged is None:
        limit = check.severity(float("nan"))[1]  # the mildest band's: between ok and a flag
        return Finding.of_check(
            check, rule, track_id=track_id, rep_index=rep_index, severity="not_assessable",
            value=value, threshold=limit, start_s=start_s, end_s=end_s, worst_frame=None,
            worst_s=None, uncertainty=u.value,
            message=(f"{check.id}: not assessable, {value:.1f} +- {u.value:.1f} {check.unit} "
                     f"could be on either side of {limit:g} {check.unit} ({u.reason()})"),
        )  # fmt: skip
    severity, threshold = judged
    pick = np.argmax if check.comparison == "above" else np.argmin
    worst = int(idx[ok][pick(values[ok])])
    if severity == "ok":
        message = (f"{check.id}: {value:.1f} {check.unit} ({check.phase}), within the limit "
                   f"({check.comparison} {threshold:g} {check.unit} would be flagged)")  # fmt: skip
    else:
        message = format_message(
            check.message, value=value, threshold=threshold, severity=severity, unit=check.unit,
            metric=check.metric, check=check.id, rep=rep_index + 1, phase=check.phase, view=view,
        )  # fmt: skip
    return Finding.of_check(
        check, rule, track_id=track_id, rep_index=rep_index, severity=severity, value=value,
        threshold=threshold, start_s=start_s, end_s=end_s, worst_frame=int(frames[worst]),
        worst_s=float(t_s[worst]), message=message, uncertainty=u.value,
    )  # fmt: skip
