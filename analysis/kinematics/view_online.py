"""The camera view of a live track, estimated causally from its own frames (issue 16).

A live session without a declared view needs each track's view before its counter can start
(the view picks the rep signal, its ``min_range`` and the checks). `OnlineView` reads the
offline estimator's per-frame yaw (`analysis.kinematics.view.frame_yaw`) row by row:

* the first view is that of the track's first :data:`ESTIMATE_S` (`view.view_of_yaws`, the
  offline track estimate over those frames); when they say ``unknown`` (fewer than
  ``MIN_FRAMES`` measurable rows) it waits up to :data:`MAX_ESTIMATE_S`, then settles for
  ``unknown``;
* later, the weighted median yaw of the last :data:`CHANGE_S` (offline's shortest view
  segment, `view_segments.MIN_SEGMENT_S`) classified with offline's hysteresis
  (`view_segments.hysteresis_class`) is a change when it has named another known view for
  :data:`CONFIRM_S` on end: a pan of the camera or the athlete turning for good, not a turn
  of the body within a rep (the caller switches at the next rest).

`spans_to_segments` turns what a live session recorded (per track: first frame, last frame,
view) into `ViewSegment` rows, so that offline scoring can judge each rep in the view its cue
was judged in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.kinematics.angles import MIN_SCORE
from analysis.kinematics.view import MIN_FRAMES, frame_yaw, view_of_yaws, weighted_median
from analysis.kinematics.view_segments import MIN_SEGMENT_S, ViewSegment, hysteresis_class
from posecoach.keypoints import KeyPoints

#: The first view is estimated over a track's first this long (seconds). Heuristic: 1.5 s holds
#: 45 frames at 30 frames/s, far over ``MIN_FRAMES``, and most of a rep, so a body turning
#: within a rep does not decide; short enough that the first rep is counted from its start
#: (its frames are replayed into the counter once the view is known).
ESTIMATE_S = 1.5
#: A track whose first frames show no view (no shoulders and hips) waits this long for one.
MAX_ESTIMATE_S = 4.0
#: The window of the running view, seconds (offline's shortest view segment).
CHANGE_S = MIN_SEGMENT_S
#: The running view must name another view this long on end to change it (seconds).
#: Heuristic: with the window's median this means the new view has held for about 2 s.
CONFIRM_S = 1.0
#: Once the view is known, every this many rows' yaw is read (a frame's yaw costs about 1 ms;
#: a third of 30 frames/s over CHANGE_S is 20, far over ``MIN_FRAMES``).
STRIDE = 3
#: Rows kept at most, whatever the frame rate (120 frames/s over MAX_ESTIMATE_S).
MAX_ROWS = 480


class OnlineView:
    """One track's view, estimated causally: `push` each row, in frame order."""

    def __init__(self, min_score: float = MIN_SCORE) -> None:
        self.min_score = min_score
        self.view = ""  # "" while estimating
        self._yaws: deque[tuple[float, float, float]] = deque(maxlen=MAX_ROWS)  # t, yaw, weight
        self._t0 = np.nan
        self._other = ""  # the other view the running window names
        self._other_since = np.nan
        self._n = 0

    @property
    def buffered(self) -> int:
        """Rows whose yaw is held (bounded by `MAX_ROWS` and the windows)."""
        return len(self._yaws)

    def push(self, row: KeyPoints) -> str:
        """Take one row (a one-row `KeyPoints`): the view decided ("" while estimating, the
        first view once known, then a changed view when it clearly changed)."""
        t = float(row.t_s[0])
        self._n += 1
        if self.view and self._n % STRIDE:
            return self._other if self._confirmed(t) else self.view
        yaw, weight = frame_yaw(row, self.min_score)
        self._yaws.append((t, float(yaw[0]), float(weight[0])))
        if not np.isfinite(self._t0):
            self._t0 = t
        if not self.view:
            est = self._estimate(self._yaws)
            if (est != "unknown" and t - self._t0 >= ESTIMATE_S) or t - self._t0 >= MAX_ESTIMATE_S:
                self.view = est
            return self.view
        while self._yaws and self._yaws[0][0] < t - CHANGE_S:
            self._yaws.popleft()
        running = self._running()
        if running in ("", "unknown", self.view):
            self._other = ""
        elif running != self._other:
            self._other, self._other_since = running, t
        return self._other if self._confirmed(t) else self.view

    def _confirmed(self, t: float) -> bool:
        """The other view the running window names has named it for CONFIRM_S."""
        return bool(self._other) and t - self._other_since >= CONFIRM_S

    def estimate_now(self) -> str:
        """The view of the rows seen so far (a track that ends while estimating)."""
        return self._estimate(self._yaws)

    def changed(self, view: str) -> None:
        """The caller switched to ``view`` (`push`'s changed view)."""
        self.view, self._other = view, ""

    @staticmethod
    def _estimate(yaws: Sequence[tuple[float, float, float]]) -> str:
        arr = np.array(yaws, dtype=np.float64).reshape(-1, 3)
        return view_of_yaws(arr[:, 1], arr[:, 2]).view

    def _running(self) -> str:
        arr = np.array(self._yaws, dtype=np.float64).reshape(-1, 3)
        ok = np.isfinite(arr[:, 1]) & (arr[:, 2] > 0)
        if ok.sum() < MIN_FRAMES:
            return ""
        return hysteresis_class(self.view, weighted_median(arr[:, 1], arr[:, 2]))


def spans_to_segments(track: KeyPoints, spans: Sequence[Sequence[Any]]) -> list[ViewSegment]:
    """A live session's views of one track (``[first_frame, last_frame, view]`` each, in
    order) as view segments on the track's rows (their times; confidence 1: the view the
    cues were judged in)."""
    frames, t_s = track.frame.astype(np.int64), track.t_s.astype(np.float64)
    order = np.argsort(frames, kind="stable")
    frames, t_s = frames[order], t_s[order]
    out = []
    for first, last, view in spans:
        a, b = int(first), int(last)
        inside = (frames >= a) & (frames <= b)
        ts = t_s[inside] if inside.any() else np.array([np.nan])
        out.append(ViewSegment(a, b, float(ts[0]), float(ts[-1]), str(view), 1.0, False))
    return out
