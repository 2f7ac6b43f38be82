"""A live session: every person of a camera's frames counted, one `LiveTrack` per track.

The pose engine hands on each frame's people as `KeyPoints` rows with their track ids;
`OnlineSession.push` dispatches each row to its track (made on the track's first row) and
answers with every track's `LiveState`. A declared view is every track's; without one each
track's view is estimated from its own frames (`rules.online_track`: phase ``starting`` until
it is known, then counted as in that view from the track's first row). A track unseen for
`DROP_TRACK_S` is finished (its rep on the way back or hold in progress ends) and forgotten,
so a session where people come and go keeps no counter for long; the views each track was
counted in stay (`spans`, a few numbers per track), for the stored session.
"""

from __future__ import annotations

from posecoach.keypoints import KeyPoints
from rules.online import OnlineCounter
from rules.online_records import LiveRep, LiveState
from rules.online_track import LiveTrack
from rules.schema import RuleFile

#: A track unseen for this long (seconds) has left: its counter is finished and dropped.
DROP_TRACK_S = 10.0


class OnlineSession:
    """The tracks of one live session, with one rule file and a declared view (or None:
    each track's estimated)."""

    def __init__(self, rule: RuleFile, view: str | None, fps: float | None = None) -> None:
        self.rule, self.view, self.fps = rule, view, fps
        self.tracks: dict[int, LiveTrack] = {}
        self._last_s: dict[int, float] = {}
        #: Every ended rep or hold so far, per track (the finished tracks' too).
        self.reps: dict[int, list[LiveRep]] = {}
        #: Per track: (first frame, last frame, view) of each view it was counted in.
        self.spans: dict[int, list[tuple[int, int, str]]] = {}

    @property
    def counters(self) -> dict[int, OnlineCounter]:
        """The tracks' counters now (a track still estimating its view has none)."""
        return {t: track.counter for t, track in self.tracks.items() if track.counter is not None}

    def view_of(self, track_id: int) -> str | None:
        """The view a track is counted in now (None: estimating, or not in the session)."""
        track = self.tracks.get(track_id)
        return track.view if track is not None else None

    def push(self, frame: KeyPoints) -> dict[int, LiveState]:
        """One frame's rows (one per person seen, all of the same frame): each track's state."""
        states: dict[int, LiveState] = {}
        for k in range(len(frame)):
            row = frame.take([k])
            tid = int(row.track_id[0])
            track = self.tracks.get(tid)
            if track is None:
                track = self.tracks[tid] = LiveTrack(self.rule, self.view, tid, self.fps)
            states[tid] = track.push(row)
            self._last_s[tid] = float(row.t_s[0])
            self.reps[tid] = track.reps
        if len(frame):
            now = float(frame.t_s[0])
            for tid in [t for t, s in self._last_s.items() if now - s > DROP_TRACK_S]:
                self._drop(tid)
        return states

    def _drop(self, tid: int) -> list[LiveRep]:
        track = self.tracks.pop(tid)
        del self._last_s[tid]
        ended = track.finish()
        self.reps[tid] = track.reps
        self.spans[tid] = track.spans()
        return ended

    def finish(self) -> dict[int, list[LiveRep]]:
        """End the session: every track finished; all ended reps and holds, per track."""
        for tid in list(self.tracks):
            self._drop(tid)
        return self.reps
