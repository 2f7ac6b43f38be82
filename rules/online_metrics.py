"""A rule file's metrics for one frame at a time, causally (live coaching, issue 16).

The offline path computes every metric over a whole track (`analysis.kinematics.features`);
a live session has only the frames so far. `FrameMetrics` evaluates the same vocabulary
(`analysis.kinematics.angles`: the standard features and the rule file's own metrics) on one
row, with what needs more than one frame estimated from the past only:

* the torso unit (torso-length metrics): the 90th percentile of the torso lengths seen in the
  current shot so far, as `features.shot_torso_unit` takes it over the whole shot; a camera
  cut (`analysis.kinematics.view_segments.cut_rows` between the last well-seen row and this
  one) starts a new shot. Until a shot has shown a torso its torso metrics are NaN;
* the floor line (``height_above_floor``): the 90th percentile of the lower ankle so far in
  the shot (`features.shot_floor`);
* a velocity: the backward difference to the previous frame (offline: central differences).

`centred_smooth` is `rules.reps.smooth_signal` at one sample, for the counter's rep signal.

Angles need nothing but the row, so they equal the offline values exactly; torso-unit metrics
converge on them as the shot's percentile settles. Memory is bounded: each shot keeps at most
`SHOT_SAMPLES` lengths and ankle heights.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterable

import numpy as np

from analysis.kinematics import angles
from analysis.kinematics.angles import DERIVED_SPECS, FEATURE_SPECS
from analysis.kinematics.view_segments import MIN_BOX_POINTS, is_cut
from posecoach.keypoints import KeyPoints
from rules.schema import RuleFile

#: The running percentiles of a shot look at its last this many rows (30 s at 30 frames/s):
#: enough for a stable 90th percentile, bounded for a session of any length.
SHOT_SAMPLES = 900


def rule_metric_names(rule: RuleFile, extra: Iterable[str] = ()) -> list[str]:
    """The metrics a rule file's live counting and checks read: the rep signals (every view's,
    and the fallback's), the side metrics, the checks' and the hold conditions' metrics."""
    names: list[str] = list(extra)
    if rule.reps is not None:
        names += rule.reps.signal.values()
        if rule.reps.side is not None:
            names += [rule.reps.side.left, rule.reps.side.right]
        if rule.reps.fallback is not None:
            names += rule.reps.fallback.signal.values()
    if rule.hold is not None:
        names += [c.metric for c in (*rule.hold.position, *rule.hold.target)]
    names += [c.metric for c in rule.checks]
    return list(dict.fromkeys(names))


class RunningPercentile:
    """``np.percentile(last, q)`` (its default, linear method, to the bit) of the last ``size``
    values added, kept in order as they come: a frame costs a bisection, not a sort."""

    def __init__(self, q: float, size: int) -> None:
        self.q = q / 100
        self._window: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._window)

    def add(self, value: float) -> None:
        if len(self._window) == self._window.maxlen:
            del self._sorted[bisect.bisect_left(self._sorted, self._window[0])]
        self._window.append(value)
        bisect.insort(self._sorted, value)

    def clear(self) -> None:
        self._window.clear()
        self._sorted.clear()

    def value(self) -> float:
        """The percentile, NaN with no value; numpy's arithmetic, step by step."""
        xs, n = self._sorted, len(self._sorted)
        if n < 2:
            return xs[0] if xs else math.nan
        at = (n - 1) * self.q
        i = math.floor(at)
        gamma = at - i
        a, b = xs[i], xs[i + 1]
        diff = b - a
        return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


class FrameMetrics:
    """Per-frame values of named metrics of one track, fed its rows in frame order."""

    def __init__(self, rule: RuleFile, names: Iterable[str]) -> None:
        self.rule = rule
        self.min_score = rule.min_score
        self.names = list(names)
        self._torso = RunningPercentile(90, SHOT_SAMPLES)
        self._ankle = RunningPercentile(90, SHOT_SAMPLES)
        #: the last well-seen row: its keypoints seen, positions (float64) and time
        self._last_seen: tuple[np.ndarray, np.ndarray, float] | None = None
        self._prev: dict[str, float] = {}
        self._prev_t = math.nan

    def _new_shot(self, row: KeyPoints) -> None:
        """Start a new shot when ``row`` is cut from the last well-seen row (a jump in the
        box's size or place, or the track unseen too long): its scale is its own."""
        scores = np.nan_to_num(row.scores[0], nan=0.0)
        seen = (scores >= self.min_score) & np.isfinite(row.xy[0]).all(axis=1)
        if int(seen.sum()) < MIN_BOX_POINTS:
            return
        seen_now = (seen, row.xy[0].astype(np.float64), float(row.t_s[0]))
        if self._last_seen is not None and is_cut(*self._last_seen, *seen_now):
            self._torso.clear()
            self._ankle.clear()
        self._last_seen = seen_now

    def _scales(self, row: KeyPoints, cache: dict[str, np.ndarray]) -> tuple[float, float]:
        """(torso unit, floor line) of the shot so far, this row included."""
        at = self.min_score
        torso = angles._norm(angles.point(row, "mid_shoulder", at, cache)
                             - angles.point(row, "mid_hip", at, cache))  # fmt: skip
        if np.isfinite(torso[0]) and torso[0] > 0:
            self._torso.add(float(torso[0]))
        low = np.fmax(angles.point(row, "left_ankle", at, cache)[:, 1],
                      angles.point(row, "right_ankle", at, cache)[:, 1])  # fmt: skip
        if np.isfinite(low[0]):
            self._ankle.add(float(low[0]))
        return self._torso.value(), self._ankle.value()

    def values(self, row: KeyPoints) -> dict[str, float]:
        """The metrics of one row (a one-row `KeyPoints`), NaN where not measurable."""
        self._new_shot(row)
        cache: dict[str, np.ndarray] = {}  # the row's points, taken once
        unit, floor = self._scales(row, cache)
        t = float(row.t_s[0])
        out: dict[str, float] = {}

        def need(name: str) -> float:
            if name in out:
                return out[name]
            spec = self.rule.metrics.get(name)
            if spec is not None and spec.fn is not None:
                value = angles.evaluate_point_function(
                    row, spec.fn, spec.points, unit, self.min_score, floor=floor, cache=cache
                )[0]
            elif spec is not None:
                value = self._combine(spec.op or "", [need(n) for n in spec.of], name, t)
            elif name in FEATURE_SPECS:
                fn, pts = FEATURE_SPECS[name]
                value = angles.evaluate_point_function(
                    row, fn, pts, unit, self.min_score, cache=cache
                )[0]
            elif name in DERIVED_SPECS:
                op, inputs = DERIVED_SPECS[name]
                value = self._combine(op, [need(n) for n in inputs], name, t)
            else:
                raise KeyError(f"metric {name!r}: neither a standard feature nor defined")
            out[name] = float(value)
            return out[name]

        for name in self.names:
            need(name)
        self._prev_t = t
        self._prev.update(out)
        return {n: out[n] for n in self.names}

    def _combine(self, op: str, inputs: list[float], name: str, t: float) -> float:
        if op == "velocity":
            dt = t - self._prev_t
            prev = self._prev.get(name + "\0input", math.nan)
            self._prev[name + "\0input"] = inputs[0]
            return (inputs[0] - prev) / dt if dt > 0 else math.nan
        arrays = [np.array([v], dtype=np.float64) for v in inputs]
        return float(angles.combine(op, arrays)[0])


def centred_smooth(values: np.ndarray, c: int, h: int) -> float:
    """`rules.reps.smooth_signal` at ``values[c]`` (window ``2h+1``, NaN ignored, the window
    cut at the array's ends): the mean over +-h of the medians over +-h."""
    if h == 0:
        return float(values[c])
    # Plain Python: a few short windows per frame, where numpy's per-call cost dominates.
    xs = values.tolist()
    n = len(xs)
    medians = []
    for j in range(max(0, c - h), min(n, c + h + 1)):
        w = sorted(v for v in xs[max(0, j - h) : j + h + 1] if v == v)
        if w:
            m = len(w) // 2
            medians.append(w[m] if len(w) % 2 else (w[m - 1] + w[m]) / 2)
    return sum(medians) / len(medians) if medians else math.nan
