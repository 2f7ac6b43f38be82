"""A live session: every person of a camera's frames counted, one `OnlineCounter` per track.

The pose engine hands on each frame's people as `KeyPoints` rows with their track ids;
`OnlineSession.push` dispatches each row to its track's counter (made on the track's first
row) and answers with every track's `LiveState`. A track unseen for `DROP_TRACK_S` is finished
(its rep on the way back or hold in progress ends) and forgotten, so a session where people
come and go keeps no counter for long.
"""

from __future__ import annotations

from posecoach.keypoints import KeyPoints
from rules.online import OnlineCounter
from rules.online_records import LiveRep, LiveState
from rules.schema import RuleFile

#: A track unseen for this long (seconds) has left: its counter is finished and dropped.
DROP_TRACK_S = 10.0


class OnlineSession:
    """The counters of every track of one live session, with one rule file and view."""

    def __init__(self, rule: RuleFile, view: str, fps: float | None = None) -> None:
        self.rule, self.view, self.fps = rule, view, fps
        self.counters: dict[int, OnlineCounter] = {}
        self._last_s: dict[int, float] = {}
        #: Every ended rep or hold so far, per track (the finished tracks' too).
        self.reps: dict[int, list[LiveRep]] = {}

    def push(self, frame: KeyPoints) -> dict[int, LiveState]:
        """One frame's rows (one per person seen, all of the same frame): each track's state."""
        states: dict[int, LiveState] = {}
        for k in range(len(frame)):
            row = frame.take([k])
            tid = int(row.track_id[0])
            counter = self.counters.get(tid)
            if counter is None:
                counter = self.counters[tid] = OnlineCounter(self.rule, self.view, tid, self.fps)
            states[tid] = counter.push(row)
            self._last_s[tid] = float(row.t_s[0])
            self.reps[tid] = counter.reps
        if len(frame):
            now = float(frame.t_s[0])
            for tid in [t for t, s in self._last_s.items() if now - s > DROP_TRACK_S]:
                self._drop(tid)
        return states

    def _drop(self, tid: int) -> list[LiveRep]:
        counter = self.counters.pop(tid)
        del self._last_s[tid]
        ended = counter.finish()
        self.reps[tid] = counter.reps
        return ended

    def finish(self) -> dict[int, list[LiveRep]]:
        """End the session: every track finished; all ended reps and holds, per track."""
        for tid in list(self.counters):
            self._drop(tid)
        return self.reps
