"""Repetitions and holds, found on the whole series (offline: the night's batch knows it all).

Repetitions: the driving signal (e.g. the knee angle) is gap-filled over short gaps and lightly
smoothed; its turning points are the peaks (or valleys) that stand out by at least the rule's
``min_range`` (``scipy.signal.find_peaks`` prominence, coaching-evidence.md "Repetition
counting", method 3). Each turning point then gets its rest points: the extreme of the signal on
either side, up to the neighbouring turning point. Hysteresis decides where the rep starts and
ends: the first / last frame more than 10 % of the rep's amplitude away from the rest point, so
that a pause at the top belongs to no repetition and jitter at rest does not move the bounds.

Cut repetitions: a rep cut by the first or last visible frame of a run of the signal (the clip's
ends, a title card, a gap longer than the gap-fill) is found too: the run is padded with its
lowest value on both sides, so that a turn whose far side the clip never shows still stands out
(`find_peaks` would otherwise measure its prominence against the cut side). Such a rep is
counted when its turn and most of its range are visible (issue 14; the range, not the time):
the turn lies inside the run and the signal comes back from it on the cut side by
``TURN_FRACTION`` of the range, and one side's travel covers ``COUNT_FRACTION`` of the range
(the rep's uncut side, so always when only one side is cut; when both are, the range is the
median amplitude of the set's uncut reps). Otherwise it is kept with ``partial=True`` and not
counted, never dropped.

Alternating sides and fallback signals: `rep_side` tells the side a rep is done with (the
rule's ``reps.side``); `with_fallback` adds the reps of the rule's ``reps.fallback`` signal where
the primary one is not measured (`measured`), one rep at a seam.

Holds: the frames where the body is in the position (all position conditions true) are joined
across drop-outs shorter than ``max_gap_s``; blips still shorter than 0.25 s are ignored; runs lasting
at least ``min_hold_s`` are holds. Their time in target is the time within the hold where the
target conditions also held.

All indices refer to the regular frame grid the caller built (one sample per frame, NaN where
the track was absent or the signal could not be measured).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from rules.specs import Condition, HoldSpec, RepSpec

#: Hysteresis band: a rep starts / ends this fraction of its amplitude away from rest.
ENTER_FRACTION = 0.10
#: Gaps in the signal up to this long are interpolated before peak detection ...
MAX_GAP_S = 0.5
#: ... after dropping strays: islands of samples this short with gaps at least STRAY_GAP_S on
#: both sides. Heuristic: step_ups.csv's close-up has single frames 0.4 s apart whose hips are
#: guessed at the frame's edge; a real squat's descent seen in two frames between gaps of 0.4
#: and 0.17 s (squats.csv, 15.6 s) is kept.
STRAY_S = 0.15
STRAY_GAP_S = 0.25
#: A rep cut by the clip's first / last visible frame is counted when its turn is visible and
#: the signal's travel on one side of it covers more than this share of the rep's range ("its
#: turn and most of its range are visible", issue 14: a range, not a time).
COUNT_FRACTION = 0.5
#: A turn is visible when the signal comes back from it by this share of the rep's range on its
#: cut side. Heuristic: above the smoothed jitter at a turn (a clip that ends on the way down
#: has its turn on the last frame anyway), below what a clip starting 30 % into a push-up shows
#: of the elbow's way down (some 10 %: the angle changes slowly near the bottom).
TURN_FRACTION = 0.05
#: A rep's side is told when at least this share of the sides' difference agrees (`rep_side`).
SIDE_AGREEMENT = 2 / 3
#: In-position runs shorter than this are noise, not a hold.
MIN_BLIP_S = 0.25


@dataclass(frozen=True)
class Segment:
    """A repetition or a hold on the frame grid (indices, inclusive).

    ``rest_before`` / ``rest_after``: the rest points (signal extreme opposite the turn) on either
    side of a repetition, where its lockout (squat) or bottom (press) is read. For holds they
    equal start and end. ``in_target_s`` is NaN for repetitions. ``partial``: a repetition cut
    by the first / last visible frame whose turn or most of whose range is not visible: kept,
    not counted. ``side``: the side an alternating exercise's rep is done with (`rep_side`),
    None where the rule does not say or the sides cannot be told apart.
    """

    kind: str
    start: int
    turn: int
    end: int
    rest_before: int
    rest_after: int
    signal_min: float
    signal_max: float
    in_target_s: float = float("nan")
    partial: bool = False
    side: str | None = None


class _Turn(NamedTuple):
    """A turn of one run: its rest points, the signal's travel from each, whether each side
    reaches an end of the run (is cut)."""

    turn: int
    rest_before: int
    rest_after: int
    amp_b: float
    amp_a: float
    cut_b: bool
    cut_a: bool


def frame_rate(t_s: np.ndarray) -> float:
    """Frames per second of a regular grid of times (median step); NaN if unknown."""
    d = np.diff(np.asarray(t_s, dtype=np.float64))
    d = d[np.isfinite(d) & (d > 0)]
    return float(1.0 / np.median(d)) if d.size else float("nan")


def fill_gaps(values: np.ndarray, max_gap: int) -> np.ndarray:
    """Linear interpolation over interior NaN runs of at most ``max_gap`` samples."""
    s = pd.Series(np.asarray(values, dtype=np.float64))
    if max_gap <= 0:
        return s.to_numpy()
    filled = s.interpolate(limit_area="inside")
    # Put back the NaN of runs longer than max_gap.
    isnan = s.isna().to_numpy()
    edges = np.flatnonzero(np.diff(np.r_[0, isnan.astype(np.int8), 0]))
    out = filled.to_numpy().copy()
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a > max_gap:
            out[a:b] = np.nan
    return out


def smooth_signal(values: np.ndarray, window: int) -> np.ndarray:
    """Centred rolling median then mean over ``window`` samples (odd); NaN stays NaN."""
    if window < 3:
        return np.asarray(values, dtype=np.float64)
    window |= 1
    s = pd.Series(values)
    out = s.rolling(window, center=True, min_periods=1).median()
    out = out.rolling(window, center=True, min_periods=1).mean().to_numpy().copy()
    out[np.isnan(values)] = np.nan
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end_exclusive) of each run of True."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def drop_strays(values: np.ndarray, max_len: int, min_gap: int) -> np.ndarray:
    """A copy without the islands of at most ``max_len`` finite samples that have a gap of at
    least ``min_gap`` on both sides: a stray detection (a close-up's flicker of a joint out of
    frame), which the gap-fill would otherwise join to the signal."""
    out = np.asarray(values, dtype=np.float64).copy()
    runs = _runs(np.isfinite(out))
    for k, (a, b) in enumerate(runs):
        gap_before = a - runs[k - 1][1] if k > 0 else a
        gap_after = runs[k + 1][0] - b if k + 1 < len(runs) else len(out) - b
        if b - a <= max_len and min(gap_before, gap_after) >= min_gap:
            out[a:b] = np.nan
    return out


def prepare_signal(signal: np.ndarray, fps: float, smooth_s: float) -> np.ndarray:
    """Gap-filled and smoothed copy of a driving signal (see the module docstring)."""
    signal = drop_strays(signal, max(1, int(STRAY_S * fps)), max(2, int(STRAY_GAP_S * fps)))
    filled = fill_gaps(signal, int(MAX_GAP_S * fps))
    return smooth_signal(filled, int(round(smooth_s * fps)))


def _merge_close_peaks(seg: np.ndarray, peaks: np.ndarray, min_dip: float) -> np.ndarray:
    """Peaks with the neighbours they are not separated from by a dip of ``min_dip``
    replaced by the higher one: a two-humped top (a press finished with a lean back) is one
    turn, where each hump alone would be a wiggle beside the other and both be dropped."""
    out: list[int] = []
    for p in (int(q) for q in peaks):
        if out and min(seg[out[-1]], seg[p]) - seg[out[-1] : p + 1].min() < min_dip:
            if seg[p] > seg[out[-1]]:
                out[-1] = p
            continue
        out.append(p)
    return np.asarray(out, dtype=np.int64)


def _counts_when_cut(turn: int, last: int, amp_b: float, amp_a: float, full: float) -> bool:
    """Whether a rep cut by an end of its run counts: its turn is visible (inside the run, the
    signal coming back from it on both sides by ``TURN_FRACTION`` of the range) and so is most
    of its range (the larger side's travel: the whole range when one side is uncut)."""
    turned = 0 < turn < last and min(amp_b, amp_a) >= TURN_FRACTION * full
    return turned and max(amp_b, amp_a) >= COUNT_FRACTION * full


def _run_turns(seg: np.ndarray, prominence: float, distance: int) -> list[_Turn]:
    """The turns of one run of finite samples (as peaks), indices within the run."""
    # Padding with the run's lowest value lets a turn whose far side is cut off stand out.
    low = float(seg.min())
    peaks, _ = find_peaks(np.r_[low, seg, low], prominence=prominence, distance=distance)
    peaks = _merge_close_peaks(seg, peaks - 1, prominence / 2)
    last = len(seg) - 1
    found = []
    for k, p in enumerate(peaks):
        left = peaks[k - 1] if k > 0 else 0
        right = peaks[k + 1] if k + 1 < len(peaks) else last
        rb = left + int(np.argmin(seg[left : p + 1]))
        ra = p + int(np.argmin(seg[p : right + 1]))
        found.append(_Turn(int(p), rb, ra, float(seg[p] - seg[rb]), float(seg[p] - seg[ra]),
                           rb == 0, ra == last))  # fmt: skip
    return found


def _run_reps(
    seg: np.ndarray, found: list[_Turn], prominence: float, typical: float | None
) -> list[Segment]:
    """Repetitions of one run from its turns; ``typical``: the set's range (the median
    amplitude of its uncut reps, over all runs). The signal range of each is left to the
    caller."""
    last = len(seg) - 1
    out = []
    for p, rb, ra, amp_b, amp_a, cut_b, cut_a in found:
        # The rep's range: its side that does not reach an end of the run (where the clip
        # shows its rest); the set's when both do.
        if cut_b and cut_a:
            full = typical if typical is not None else max(amp_b, amp_a)
        else:
            full = amp_a if cut_b else amp_b
        if (not cut_b and amp_b < prominence / 2) or (not cut_a and amp_a < prominence / 2):
            continue  # a wiggle between two reps, not a rep
        partial = (cut_b or cut_a) and not _counts_when_cut(p, last, amp_b, amp_a, full)
        above_b = np.flatnonzero(seg[rb : p + 1] <= seg[rb] + ENTER_FRACTION * amp_b)
        above_a = np.flatnonzero(seg[p : ra + 1] <= seg[ra] + ENTER_FRACTION * amp_a)
        out.append(Segment(kind="rep", start=rb + int(above_b[-1]), turn=p,
                           end=p + int(above_a[0]), rest_before=rb, rest_after=ra,
                           signal_min=float("nan"), signal_max=float("nan"),
                           partial=partial))  # fmt: skip
    return out


def find_reps(
    signal: np.ndarray,
    t_s: np.ndarray,
    spec: RepSpec,
    min_range: float | None = None,
    *,
    with_partial: bool = False,
    prepared: np.ndarray | None = None,
) -> list[Segment]:
    """Repetitions of a driving signal on a regular frame grid.

    Args:
        signal: the driving signal per frame (its unit is the rule's), NaN where unknown.
        t_s: time of each frame, seconds.
        spec: the rule file's ``reps`` section (turn direction, prominence, durations).
        min_range: the prominence (default: the spec's for any view).
        with_partial: also return the partial repetitions (cut by the clip, not counted), in
            time order among the counted ones; by default only the counted ones.
        prepared: the signal already through `prepare_signal` at this spec's smoothing, for a
            caller that needs it too (the turn windows); computed here when not given.
    """
    prominence = min_range if min_range is not None else spec.range_for("any")
    signal = np.asarray(signal, dtype=np.float64)
    fps = frame_rate(t_s)
    if signal.size < 3 or not np.isfinite(fps):
        return []
    if prepared is None:
        prepared = prepare_signal(signal, fps, spec.smooth_s)
    x = prepared if spec.turn == "peak" else -prepared
    out: list[Segment] = []
    min_len = max(3, int(spec.min_rep_s * fps))
    distance = max(1, int(spec.min_rep_s * fps / 2))
    runs = [(a, b) for a, b in _runs(np.isfinite(x)) if b - a >= min_len]
    turns = [_run_turns(x[a:b], prominence, distance) for a, b in runs]
    # The set's typical range: the median amplitude of the reps that touch no end of a run.
    inner = [max(t.amp_b, t.amp_a) for found in turns for t in found if not (t.cut_b or t.cut_a)]
    typical = float(np.median(inner)) if inner else None
    for (a, b), found in zip(runs, turns, strict=True):
        for seg in _run_reps(x[a:b], found, prominence, typical):
            if seg.partial and not with_partial:
                continue
            start, end = a + seg.start, a + seg.end
            if (t_s[end] - t_s[start]) > spec.max_rep_s:
                continue
            window = signal[start : end + 1]
            finite = window[np.isfinite(window)]
            out.append(
                dataclasses.replace(
                    seg,
                    start=start,
                    turn=a + seg.turn,
                    end=end,
                    rest_before=a + seg.rest_before,
                    rest_after=a + seg.rest_after,
                    signal_min=float(finite.min()) if finite.size else float("nan"),
                    signal_max=float(finite.max()) if finite.size else float("nan"),
                )
            )
    return out


def rep_side(seg: Segment, left: np.ndarray, right: np.ndarray, pick: str = "max") -> str | None:
    """The side a repetition is done with: ``left`` or ``right``, whose metric is the larger
    (``pick="max"``) or the smaller (``"min"``) on the way into the turn, from as long before
    the rep's start as the start is before the turn (a step-up's lead foot goes onto the box
    before the hips rise), but not before the rest point.

    None, rather than a made-up side, where both are measured on fewer than half of those
    frames or less than :data:`SIDE_AGREEMENT` of their difference (each frame weighted by its
    size) is on one side (a side view whose pose model swaps the legs' labels)."""
    first = max(seg.rest_before, seg.start - (seg.turn - seg.start))
    a = np.asarray(left, dtype=np.float64)[first : seg.turn + 1]
    b = np.asarray(right, dtype=np.float64)[first : seg.turn + 1]
    both = np.isfinite(a) & np.isfinite(b)
    if not both.any() or both.sum() < both.size / 2:
        return None
    d = a[both] - b[both]
    weight = float(np.abs(d).sum())
    if weight == 0:
        return None
    # Each frame votes with its difference, so the frames where the sides look alike (standing
    # before the rep, jitter) count for little.
    left_share = float(d[d > 0].sum()) / weight
    larger = "left" if left_share >= SIDE_AGREEMENT else None
    larger = "right" if 1 - left_share >= SIDE_AGREEMENT else larger
    if larger is None or pick == "max":
        return larger
    return "right" if larger == "left" else "left"


def measured(signal: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Per frame, whether a driving signal is known where `find_reps` looks (strays dropped,
    short gaps filled): where it is not, a rule's fallback signal may count."""
    fps = frame_rate(t_s)
    if not np.isfinite(fps):
        return np.zeros(len(signal), dtype=bool)
    kept = drop_strays(signal, max(1, int(STRAY_S * fps)), max(2, int(STRAY_GAP_S * fps)))
    return np.isfinite(fill_gaps(kept, int(MAX_GAP_S * fps)))


def with_fallback(
    primary: list[Segment], fallback: list[Segment], primary_known: np.ndarray
) -> list[Segment]:
    """The reps of the primary signal and, where it is not measured, those of the fallback.

    A fallback rep is taken when its turn lies where the primary is not known
    (``primary_known``, `measured`) and it overlaps no counted primary rep. At a seam, where a
    primary rep is cut by the primary going missing, the two are one repetition: the fallback's
    replaces the primary's partial one if it counts; otherwise the primary's stays. So a rep
    is never counted twice, and a partial one is kept once, never dropped. In time order."""

    def overlaps(a: Segment, b: Segment) -> bool:
        return a.start <= b.end and b.start <= a.end

    taken = [f for f in fallback if not primary_known[f.turn]]
    taken = [f for f in taken if not any(overlaps(f, p) for p in primary if not p.partial)]
    kept = []
    for p in primary:
        same = [f for f in taken if overlaps(f, p)]
        if p.partial and any(not f.partial for f in same):
            continue  # seen whole by the fallback
        kept.append(p)
    taken = [f for f in taken if not (f.partial and any(overlaps(f, p) for p in kept))]
    return sorted(kept + taken, key=lambda s: s.turn)


def conditions_mask(conditions: Sequence[Condition], metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Per frame, whether every condition holds (a NaN value fails it)."""
    n = len(next(iter(metrics.values())))
    mask = np.ones(n, dtype=bool)
    for cond in conditions:
        v = metrics[cond.metric]
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v)
            if cond.above is not None:
                ok &= v >= cond.above
            if cond.below is not None:
                ok &= v <= cond.below
        mask &= ok
    return mask


def find_holds(
    in_position: np.ndarray,
    in_target: np.ndarray | None,
    t_s: np.ndarray,
    spec: HoldSpec,
    signal: np.ndarray | None = None,
    target_known: np.ndarray | None = None,
) -> list[Segment]:
    """Holds: runs of frames in the position (see the module docstring).

    Args:
        in_position: per frame, whether every position condition held (False where unknown).
        in_target: per frame, whether the target conditions held too (None: no target, the
            whole hold counts as in target).
        t_s: time of each frame, seconds.
        spec: the rule file's ``hold`` section.
        signal: optional series reported as the hold's signal_min / signal_max.
        target_known: per frame, whether the target metrics could be measured (default: all).
    """
    pos = np.asarray(in_position, dtype=bool).copy()
    fps = frame_rate(t_s)
    if pos.size == 0 or not np.isfinite(fps):
        return []
    # Bridge short drop-outs first (a flickering condition must not break a hold), then drop
    # the blips that remain isolated.
    for a, b in _runs(~pos):
        if a > 0 and b < pos.size and b - a <= spec.max_gap_s * fps:
            pos[a:b] = True
    for a, b in _runs(pos):
        if b - a < MIN_BLIP_S * fps:
            pos[a:b] = False
    out = []
    for a, b in _runs(pos):
        duration = (b - a) / fps
        if duration < spec.min_hold_s:
            continue
        if in_target is None:
            target_s = duration
        else:
            # The share of the hold's measurable frames that were on target, times its length:
            # a frame whose target metrics are missing is neither in nor out of target.
            known = np.ones(b - a, bool) if target_known is None else target_known[a:b]
            on = np.asarray(in_target, dtype=bool)[a:b] & known
            target_s = duration * float(on.sum()) / known.sum() if known.any() else float("nan")
        lo = hi = float("nan")
        if signal is not None:
            w = np.asarray(signal, dtype=np.float64)[a:b]
            w = w[np.isfinite(w)]
            if w.size:
                lo, hi = float(w.min()), float(w.max())
        out.append(
            Segment(
                kind="hold",
                start=a,
                turn=(a + b - 1) // 2,
                end=b - 1,
                rest_before=a,
                rest_after=b - 1,
                signal_min=lo,
                signal_max=hi,
                in_target_s=target_s,
            )
        )
    return out
