"""Online (causal) repetition counting and cues for live coaching (issue 16).

The offline path (`rules.scoring.score_track`) sees a whole track and finds the repetitions'
turning points by their prominence (`rules.reps.find_reps`). A live session sees one frame at a
time. `OnlineCounter` follows one track with the same rule file:

* the rep signal is the metric `rules.scoring.signal_metric` names for the view, computed per
  frame (`rules.online_metrics`) and smoothed as offline (`rules.reps.smooth_signal`: a
  median then a mean over ``reps.smooth_s``, `rules.online_metrics.centred_smooth`), centred,
  so the counter runs one smoothing window behind the frames (0.2 s with the default);
* a state machine with hysteresis counts on it, with the signal turned so that the rule's turn
  is a peak: ``rest`` (the lowest value of the last `REST_WINDOW_S` is the rest level); once the
  signal leaves it by `ENTER_FRACTION` of the running range estimate (the median of the last
  `RANGE_REPS` reps' ranges, the view's ``min_range`` before the first): ``descent``; ``turn``
  once past its highest value so far or no longer moving towards it; once it has come back
  from the turn by `ENTER_FRACTION` of its travel, and that travel reaches ``min_range``:
  ``ascent``. The rep is counted when the signal is back within `ENTER_FRACTION` of its travel
  of the rest level, and judged once it has settled there (`SETTLE_S`), so that its rest point
  (where a lockout is read) is the one offline finds; or when it turns again after coming back
  by ``min_range`` (the next rep starts without a pause). A rep needs ``min_range`` on both
  sides of its turn (offline: the prominence), at least half of ``min_rep_s`` and at most
  ``max_rep_s``;
* when a rep ends its bounds are read as offline (`rules.reps._run_reps`: the first / last frame
  `ENTER_FRACTION` of the travel away from the rest points), and every check of the view is
  evaluated over its frames with `rules.checks.evaluate_check`, the offline path's function, so
  its findings (the cue) are those of the offline path wherever the rep's bounds and the
  metrics are the same.

Holds: the frames in the rule's position are joined across drop-outs up to ``max_gap_s``; a run
longer than `rules.reps.MIN_BLIP_S` is the ``hold`` phase with its time running; a run that
ends after ``min_hold_s`` is a hold, judged like a rep (the checks of the ``hold`` phase), with
its whole time and time in target (`rules.online_holds`).

Memory: the counter keeps the frames of the current rep (at most ``max_rep_s``) or of the
current hold (at most `MAX_HOLD_BUFFER_S`), plus `REST_WINDOW_S` of rest and one smoothing
window; a session of any length stays within that.

Where it differs from offline: no fallback signal (`rules.reps.with_fallback`); one view for
the counter (the caller names it: declared, or estimated by `rules.online_track`, which makes a
new counter when the view changes; offline each rep takes its view segment's); a rep cut by the
session's start counts once it has come back by ``min_range``, one cut by its end once its
travel reached ``min_range`` and it has come back by `rules.reps.TURN_FRACTION` of it (offline:
its turn and `rules.reps.COUNT_FRACTION` of its range seen; the same counts on generated clips
cut anywhere); the uncertainty of a finding comes from the jitter of
the buffered frames, not the whole track's; torso units are the shot's so far
(`rules.online_metrics`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from posecoach.keypoints import KeyPoints
from rules.online_holds import HoldRun, HoldTracker
from rules.online_judge import Sample, judge
from rules.online_metrics import FrameMetrics, centred_smooth, rule_metric_names
from rules.online_records import LiveRep, LiveState
from rules.reps import ENTER_FRACTION, MIN_BLIP_S, Segment
from rules.reps import TURN_FRACTION as CUT_TURN_FRACTION
from rules.schema import RuleFile

#: The rest level is the lowest (turned) signal of this long a stretch of rest, seconds.
REST_WINDOW_S = 2.0
#: A rep's turn phase: the signal within this share of the rep's travel of its highest value.
TURN_FRACTION = 0.05
#: A rep back at rest is judged once its signal has stopped falling for this long (or rises
#: again): its rest point, where the lockout is read, is then the one offline finds.
#: Heuristic: longer than the smoothed jitter's wiggles, short enough for a cue that follows
#: the rep (0.4 s after it with the smoothing).
SETTLE_S = 0.3
#: How many of the last reps' ranges the range estimate is the median of.
RANGE_REPS = 5
#: The frames of one hold kept for its checks: a longer hold is judged on its last ones.
MAX_HOLD_BUFFER_S = 60.0
#: Missing frames filled in (NaN rows) between two pushed frames, at most.
MAX_FILL_FRAMES = 300


@dataclass
class _RepState:
    phase: str = "rest"
    rest_from: int = 0  # sample index where the current rest began
    rb: int = -1
    pk: int = -1
    low: int = -1
    cut_before: bool = False
    settle_t: float = math.nan  # when the rep came back to rest
    ranges: deque[float] = field(default_factory=lambda: deque(maxlen=RANGE_REPS))


def _signal_of(rule: RuleFile, view: str) -> tuple[str, float]:
    assert rule.reps is not None
    if rule.reps.signal_for(view) is None:
        view = next(iter(rule.reps.signal))
    return rule.reps.signal_for(view) or "", rule.reps.range_for(view)


class OnlineCounter:
    """Counts the reps (or holds) of one track causally and judges each as it ends.

    Args:
        rule: the exercise's rule file.
        view: the camera view (declared, or estimated by the caller): which signal and
            ``min_range`` count reps, which checks apply.
        track_id: recorded in the findings.
        fps: the frame rate; default: estimated from the frames' times.
        first_index: the index of its first rep (a track's later counter, after a view change,
            goes on from the earlier's).

    Feed it with `push` (a one-row `KeyPoints` of the track per frame) or `push_metrics` (the
    metrics of a frame, without keypoints: no uncertainty then), in frame order; `finish` ends
    the session.
    """

    def __init__(
        self,
        rule: RuleFile,
        view: str,
        track_id: int = 0,
        fps: float | None = None,
        first_index: int = 0,
    ) -> None:
        self.rule, self.view, self.track_id, self.first_index = rule, view, track_id, first_index
        self.signal_name, self.min_range = (
            _signal_of(rule, view) if rule.reps is not None else ("", math.nan)
        )
        self.names = rule_metric_names(rule, [self.signal_name] if self.signal_name else [])
        self.metrics = FrameMetrics(rule, self.names)
        self.checks = [c for c in rule.checks if view in c.views]
        self._fps = fps
        self._dts: deque[float] = deque(maxlen=30)
        self._buf: deque[Sample] = deque()
        self._first = 0  # the sample index of self._buf[0]
        self._n = 0  # samples seen
        self._done = 0  # samples the state machine has taken
        self._rep = _RepState()
        self._hold = HoldTracker(rule.hold) if rule.hold is not None else None
        self.reps: list[LiveRep] = []
        self._turn = -1.0 if rule.reps is not None and rule.reps.turn == "valley" else 1.0
        self.max_buffered = 0
        self._first_seen = -1  # the first sample with a signal: a rep from it is cut
        self._rate, self._half = 30.0, 0
        self._rated()

    # -- feeding ---------------------------------------------------------------------------

    @property
    def fps(self) -> float:
        """The frame rate: the given one, else that of the last frames' times (30 before)."""
        return self._rate

    @property
    def half(self) -> int:
        """Half the smoothing window, samples: how far behind the state machine runs."""
        return self._half

    def _rated(self) -> None:
        """`fps` and `half` again: read many times a frame, they change only with a frame."""
        if self._fps:
            self._rate = float(self._fps)
        else:
            self._rate = 1.0 / float(np.median(self._dts)) if self._dts else 30.0
        reps = self.rule.reps
        self._half = 0 if reps is None else (int(round(reps.smooth_s * self._rate)) | 1) // 2

    @property
    def at_rest(self) -> bool:
        """No rep or hold under way (the state machine at rest): a view change may start here."""
        if self._hold is not None:
            return self._hold.run is None
        return self._rep.phase == "rest"

    @property
    def buffered(self) -> int:
        """Frames held now (bounded: see the module docstring)."""
        return len(self._buf)

    def push(self, row: KeyPoints) -> LiveState:
        """One frame of the track (a one-row `KeyPoints`); skipped frames become NaN rows."""
        frame, t = int(row.frame[0]), float(row.t_s[0])
        if self._buf:
            last = self._buf[-1]
            if frame <= last.frame:
                raise ValueError(f"frame {frame}: frames must increase (last was {last.frame})")
            missing = min(frame - last.frame - 1, MAX_FILL_FRAMES)
            for k in range(1, missing + 1):
                tk = last.t_s + (t - last.t_s) * k / (frame - last.frame)
                gap = dataclasses.replace(row.at_frames([last.frame + k]), t_s=np.array([tk]))
                self._add(last.frame + k, tk, dict.fromkeys(self.names, math.nan), gap)
        return self._add(frame, t, self.metrics.values(row), row)

    def push_metrics(self, frame: int, t_s: float, metrics: Mapping[str, float]) -> LiveState:
        """One frame's metrics (every name in ``names`` the rule reads; a missing one is NaN)."""
        return self._add(frame, t_s, {n: float(metrics.get(n, math.nan)) for n in self.names}, None)

    def finish(self) -> list[LiveRep]:
        """End the session: a rep on its way back or a hold in progress ends here."""
        ended: list[LiveRep] = []
        if self._hold is not None:
            ended += self._judge_hold(self._hold.close())
        else:
            while self._done < self._n:
                self._smooth(self._done)
                ended += self._step(self._done)
                self._done += 1
            st = self._rep
            if st.phase in ("descent", "turn"):
                self._turned_at_end()
            if st.phase in ("ascent", "settle"):
                ended += self._end_rep(st.low, self._n - 1)
        return ended

    def _turned_at_end(self) -> None:
        """A rep the session ends just after the turn of is counted as offline counts one cut by
        the clip's end: its travel reaches ``min_range`` and the signal has come back from the
        turn by `rules.reps.TURN_FRACTION` of it."""
        st = self._rep
        after = [(self._x(j), j) for j in range(st.pk + 1, self._n) if math.isfinite(self._x(j))]
        if not after:
            return
        low, j = min(after)
        travel = self._x(st.pk) - self._x(st.rb)
        if (travel >= self.min_range or st.cut_before) and self._x(st.pk) - low >= (
            CUT_TURN_FRACTION * travel
        ):
            st.phase, st.low = "ascent", j

    # -- the common path -------------------------------------------------------------------

    def _add(
        self, frame: int, t: float, values: dict[str, float], row: KeyPoints | None
    ) -> LiveState:
        if self._buf and t > self._buf[-1].t_s:
            self._dts.append(t - self._buf[-1].t_s)
            self._rated()
        sample = Sample(frame, t, values, row)
        if self.signal_name:
            sample.raw = self._turn * values.get(self.signal_name, math.nan)
        self._buf.append(sample)
        self._n += 1
        ended: list[LiveRep] = []
        if self._hold is not None:
            ended += self._judge_hold(self._hold.step(self._n - 1, frame, t, values, self.fps))
            self._done = self._n
        else:
            while self._done < self._n - 2 * self.half:
                self._smooth(self._done)
                ended += self._step(self._done)
                self._done += 1
        self._trim()
        self.max_buffered = max(self.max_buffered, len(self._buf))
        counted = len(self.reps) + (self._rep.phase == "settle")
        return LiveState(frame, t, counted, self._phase(), self._hold_s(), tuple(ended))

    def _at(self, i: int) -> Sample:
        return self._buf[i - self._first]

    def _trim(self) -> None:
        margin = self.half + 3
        if self.rule.hold is not None:
            keep = self._n - margin
            if self._hold is not None and self._hold.run is not None:
                keep = max(self._hold.run.first, self._n - int(MAX_HOLD_BUFFER_S * self.fps))
        else:
            st = self._rep
            rest = max(st.rest_from, self._done - int(REST_WINDOW_S * self.fps))
            keep = (rest if st.phase == "rest" else min(st.rb, rest)) - margin
            # An unsettled rep keeps its frames: a long pause ends it after SETTLE_S.
            keep = min(keep, self._done - 4 * self.half - 1)
        while self._buf and self._first < keep:
            self._buf.popleft()
            self._first += 1

    # -- repetitions -----------------------------------------------------------------------

    def _smooth(self, i: int) -> None:
        """The smoothed signal at sample ``i``, as `rules.reps.smooth_signal` has it (a centred
        median then mean; the window cut where the samples end: the session's start and end)."""
        h = self.half
        lo, hi = max(self._first, i - 2 * h), min(self._n - 1, i + 2 * h)
        raw = np.array([self._at(j).raw for j in range(lo, hi + 1)], dtype=np.float64)
        filled = raw.copy()
        ok = np.isfinite(raw)
        if ok.sum() >= 2 and not ok.all():
            where = np.arange(raw.size)
            inside = (where > where[ok][0]) & (where < where[ok][-1])
            filled[inside & ~ok] = np.interp(where[inside & ~ok], where[ok], raw[ok])
        self._at(i).smooth = (
            centred_smooth(filled, i - lo, h) if np.isfinite(raw[i - lo]) else math.nan
        )

    def _range(self) -> float:
        st = self._rep
        if not st.ranges:
            return self.min_range
        w = sorted(st.ranges)
        m = len(w) // 2
        return w[m] if len(w) % 2 else (w[m - 1] + w[m]) / 2

    def _x(self, i: int) -> float:
        return self._at(i).smooth

    def _rest_point(self, i: int) -> int:
        lo = max(self._rep.rest_from, self._first, i - int(REST_WINDOW_S * self.fps))
        xs = np.array([self._x(j) for j in range(lo, i + 1)])
        return lo + int(np.nanargmin(xs)) if np.isfinite(xs).any() else i

    def _step(self, i: int) -> list[LiveRep]:
        st, x = self._rep, self._x(i)
        if not math.isfinite(x):
            return []
        if self._first_seen < 0:
            self._first_seen = i
        t = self._at(i).t_s
        spec = self.rule.reps
        assert spec is not None
        band = ENTER_FRACTION * self._range()
        if st.phase == "rest":
            rb = self._rest_point(i)
            if x - self._x(rb) >= band:
                st.phase, st.rb, st.pk = "descent", rb, i
                st.cut_before = rb == self._first_seen
            return []
        base, peak = self._x(st.rb), self._x(st.pk)
        if st.phase == "settle":
            if x < self._x(st.low):
                st.low = i
            low = self._x(st.low)
            risen = x - low >= TURN_FRACTION * (peak - low)
            # A rest that drifts down on and on still ends the rep: 2 x SETTLE_S at most.
            settled = t - self._at(st.low).t_s >= SETTLE_S or t - st.settle_t >= 2 * SETTLE_S
            if risen or settled:
                return self._end_rep(st.low, i)
            return []
        if st.phase in ("descent", "turn"):
            if x >= peak:
                st.pk, peak = i, x
            travel = peak - base
            if t - self._at(st.rb).t_s > spec.max_rep_s:
                self._to_rest(i)
            elif (travel >= self.min_range or st.cut_before) and peak - x >= ENTER_FRACTION * max(
                travel, band / ENTER_FRACTION if st.cut_before else 0.0
            ):
                st.phase, st.low = "ascent", i
            elif x - base <= band / 2:
                self._to_rest(i)
            else:
                # At the turn: past the extreme, or no longer moving towards it (under
                # TURN_FRACTION of the travel in the last smoothing window).
                back = self._x(max(i - max(self.half, 1), st.rb))
                slow = x - back <= TURN_FRACTION * travel
                st.phase = "turn" if x < peak or slow else "descent"
            return []
        # ascent
        if x < self._x(st.low):
            st.low = i
        low = self._x(st.low)
        travel_b, travel_a = peak - base, peak - low
        if x > peak:
            st.phase, st.pk = "turn", i
            return []
        if t - self._at(st.rb).t_s > spec.max_rep_s:
            self._to_rest(i)
            return []
        if travel_a >= self.min_range and x <= base + ENTER_FRACTION * travel_b:
            st.phase, st.settle_t = "settle", t  # counted; judged once its rest is known
            return []
        if x - low >= ENTER_FRACTION * max(travel_a, self._range()):
            if travel_a >= self.min_range:
                rest = st.low
                ended = self._end_rep(rest, i)
                st.phase, st.rb, st.pk, st.cut_before = "descent", rest, i, False
                return ended
            st.phase = "descent"  # a dip on the way back: the same rep goes on
        return []

    def _to_rest(self, i: int) -> None:
        st = self._rep
        st.phase, st.rest_from, st.rb, st.pk, st.low = "rest", i, -1, -1, -1

    def _end_rep(self, ra: int, i: int) -> list[LiveRep]:
        """The rep whose turn is ``pk`` and rest after it ``ra`` ends (at sample ``i``)."""
        st = self._rep
        rb, pk = st.rb, st.pk
        xs = np.array([self._x(j) for j in range(rb, ra + 1)])
        base, peak, low = xs[0], xs[pk - rb], xs[ra - rb]
        amp_b, amp_a = peak - base, peak - low
        before = np.flatnonzero(xs[: pk - rb + 1] <= base + ENTER_FRACTION * amp_b)
        after = np.flatnonzero(xs[pk - rb :] <= low + ENTER_FRACTION * amp_a)
        start = rb + int(before[-1]) if before.size else rb
        end = pk + int(after[0]) if after.size else ra
        self._to_rest(i)
        st.rest_from = ra
        assert self.rule.reps is not None
        duration = self._at(end).t_s - self._at(start).t_s
        if duration < self.rule.reps.min_rep_s / 2 or duration > self.rule.reps.max_rep_s:
            return []
        st.ranges.append(amp_a if st.cut_before else min(amp_b, amp_a))
        seg = Segment("rep", start, pk, end, rb, ra, math.nan, math.nan)
        return [self._judge(seg)]

    # -- holds -----------------------------------------------------------------------------

    def _judge_hold(self, run: HoldRun | None) -> list[LiveRep]:
        """An ended run in the position: a hold if it lasted ``min_hold_s``."""
        hold = self.rule.hold
        assert hold is not None
        if run is None or run.duration_s(self.fps) < max(hold.min_hold_s, MIN_BLIP_S):
            return []
        # A hold longer than the buffer is judged on its last MAX_HOLD_BUFFER_S.
        a, b = max(run.first, self._first), run.last
        rep = self._judge(Segment("hold", a, (a + b) // 2, b, a, b, math.nan, math.nan))
        rep = dataclasses.replace(rep, start_frame=run.start_frame, start_s=run.start_s,
                                  in_target_s=run.in_target_s(self.fps, bool(hold.target)))  # fmt: skip
        self.reps[-1] = rep
        return [rep]

    def _hold_s(self) -> float:
        run = self._hold.run if self._hold is not None else None
        return run.duration_s(self.fps) if run is not None else 0.0

    def _phase(self) -> str:
        if self.rule.hold is not None:
            return "hold" if self._hold_s() >= MIN_BLIP_S else "rest"
        return "rest" if self._rep.phase == "settle" else self._rep.phase

    def _judge(self, seg: Segment) -> LiveRep:
        """The rep (hold) on the buffer's samples, judged as offline; kept in `reps`."""
        rep = judge(self.rule, self.view, self.track_id, self.checks, self.names,
                    list(self._buf), self._first, seg, self.first_index + len(self.reps),
                    self._turn)  # fmt: skip
        self.reps.append(rep)
        return rep
