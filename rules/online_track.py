"""One person of a live session: its counter, in its declared view or in the one it shows.

With a declared view the track's `OnlineCounter` starts on its first row. Without one the
view is estimated from the track's own frames (`analysis.kinematics.view_online.OnlineView`):
while it is (the first `view_online.ESTIMATE_S`), the rows are kept and the state is
phase `STARTING` with 0 reps; once it is known the counter is made in that view and the kept
rows are pushed into it. The counter is causal, so it then stands where it would have stood
had it counted from the first row: its reps and cues are those of a counter given that view
from the start.

When the view clearly changes later (`OnlineView`), the counter is switched at its next rest
(or as a rep ends): the old counter is finished, a new one made in the new view and given the
rows since the old one's last rep (at most `REPLAY_S`), so that the rest before the next rep
is its own. `views` records which frames each view covered (`LiveTrack.spans`): the
session stores them, and offline scoring judges each rep in the view its cue came from.
"""

from __future__ import annotations

from collections import deque

from analysis.kinematics.view_online import OnlineView
from posecoach.keypoints import KeyPoints
from rules.online import REST_WINDOW_S, OnlineCounter
from rules.online_records import LiveRep, LiveState
from rules.schema import RuleFile

#: The phase of a track whose view is being estimated (no counter yet).
STARTING = "starting"
#: Rows after the last rep given to a new counter at a view change, seconds (its rest window).
REPLAY_S = REST_WINDOW_S
#: Rows kept at most (while estimating: `view_online.MAX_ESTIMATE_S` at 120 frames/s).
MAX_KEPT = 480


class LiveTrack:
    """One track's counting: `push` its rows in frame order, `finish` at the end."""

    def __init__(
        self, rule: RuleFile, view: str | None, track_id: int, fps: float | None = None
    ) -> None:
        self.rule, self.track_id, self.fps = rule, track_id, fps
        self.estimator = OnlineView() if view is None else None
        self.counter: OnlineCounter | None = None
        #: Per counter so far: (its first frame, its view).
        self.views: list[tuple[int, str]] = []
        self._done: list[LiveRep] = []  # the reps of the finished counters
        self._kept: deque[KeyPoints] = deque(maxlen=MAX_KEPT)
        self._last_frame, self._last_t = -1, float("nan")
        if view is not None:
            self.counter = OnlineCounter(rule, view, track_id, fps)

    @property
    def view(self) -> str | None:
        """The view counted in (None while estimating)."""
        return self.counter.view if self.counter is not None else None

    @property
    def reps(self) -> list[LiveRep]:
        """Every ended rep or hold of the track so far."""
        return self._done + (self.counter.reps if self.counter is not None else [])

    @property
    def buffered(self) -> int:
        """Rows held here and in the counter (bounded: see `REPLAY_S`, `MAX_KEPT`; the
        estimator's yaws, three numbers a row, are bounded on their own)."""
        return len(self._kept) + (self.counter.buffered if self.counter is not None else 0)

    def spans(self) -> list[tuple[int, int, str]]:
        """(first frame, last frame, view) of each view counted in, in order."""
        ends = [first - 1 for first, _ in self.views[1:]] + [self._last_frame]
        return [(first, end, view) for (first, view), end in zip(self.views, ends, strict=True)]

    def push(self, row: KeyPoints) -> LiveState:
        """One row of the track (a one-row `KeyPoints`): the track's state after it."""
        frame, t = int(row.frame[0]), float(row.t_s[0])
        self._last_frame, self._last_t = frame, t
        if self.estimator is None:
            assert self.counter is not None
            if not self.views:
                self.views.append((frame, self.counter.view))
            return self.counter.push(row)
        view = self.estimator.push(row)
        if self.counter is None:
            self._kept.append(row)
            if not view:
                return LiveState(frame, t, 0, STARTING)
            return self._start(view, ())
        state = self._offset(self.counter.push(row))
        self._keep(row, state.ended)
        if view != self.counter.view and (self.counter.at_rest or state.ended):
            ended = state.ended + tuple(self.counter.finish())
            self._done += self.counter.reps
            self._keep(None, ended)
            return self._start(view, ended)
        return state

    def finish(self) -> list[LiveRep]:
        """End the track: a rep under way ends here (its ended reps)."""
        if self.counter is None:
            if not self._kept:
                return []
            # Too short a track for an estimate: counted in what its frames show.
            assert self.estimator is not None
            self._start(self.estimator.estimate_now(), ())
        assert self.counter is not None
        return self.counter.finish()

    def _start(self, view: str, ended: tuple[LiveRep, ...]) -> LiveState:
        """A counter in ``view`` from the kept rows (``ended``: reps that ended just before)."""
        assert self.estimator is not None
        self.estimator.changed(view)
        kept, self._kept = list(self._kept), deque(maxlen=MAX_KEPT)
        self.counter = OnlineCounter(self.rule, view, self.track_id, self.fps, len(self._done))
        self.views.append((int(kept[0].frame[0]) if kept else self._last_frame + 1, view))
        state = None
        for row in kept:
            state = self._offset(self.counter.push(row))
            ended += state.ended
            self._keep(row, state.ended)
        if state is None:
            return LiveState(self._last_frame, self._last_t, len(self._done), "rest", 0.0, ended)
        return LiveState(state.frame, state.t_s, state.reps, state.phase, state.hold_s, ended)

    def _offset(self, state: LiveState) -> LiveState:
        if not self._done:
            return state
        return LiveState(state.frame, state.t_s, state.reps + len(self._done), state.phase,
                         state.hold_s, state.ended)  # fmt: skip

    def _keep(self, row: KeyPoints | None, ended: tuple[LiveRep, ...]) -> None:
        """Keep the rows a new counter would be given: those after the last ended rep, of the
        last `REPLAY_S`."""
        if ended:
            last = max(r.end_frame for r in ended)
            while self._kept and int(self._kept[0].frame[0]) <= last:
                self._kept.popleft()
        if row is None:
            return
        if not ended or int(row.frame[0]) > max(r.end_frame for r in ended):
            self._kept.append(row)
        t = float(row.t_s[0])
        while self._kept and float(self._kept[0].t_s[0]) < t - REPLAY_S:
            self._kept.popleft()
