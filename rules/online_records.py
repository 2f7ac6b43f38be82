"""What the live counter (`rules.online.OnlineCounter`) reports: per frame a `LiveState`, per
finished repetition or hold a `LiveRep` with its findings and cue."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rules.records import Finding

#: A severity rank, to pick a rep's cue (the worst flagged finding).
_RANK = {"info": 1, "caution": 2, "risk": 3}


@dataclass(frozen=True)
class LiveRep:
    """A finished repetition or hold of a live session.

    ``index``: 0-based among the session's counted reps (holds). ``findings``: its checks, as
    `rules.checks.evaluate_check` judged them. ``in_target_s``: for a hold (NaN for a rep).
    """

    kind: str
    index: int
    start_frame: int
    turn_frame: int
    end_frame: int
    start_s: float
    turn_s: float
    end_s: float
    side: str | None = None
    in_target_s: float = math.nan
    findings: tuple[Finding, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def cue(self) -> str:
        """The message of its worst flagged finding ("" when every check was within limits)."""
        flagged = [f for f in self.findings if f.severity in _RANK]
        if not flagged:
            return ""
        return max(flagged, key=lambda f: _RANK[f.severity]).message


@dataclass(frozen=True)
class LiveState:
    """The counter after one frame: reps (holds) counted, the phase, the running hold time and
    the rep or hold that ended with this frame, if any."""

    frame: int
    t_s: float
    reps: int
    phase: str
    hold_s: float = 0.0
    ended: tuple[LiveRep, ...] = ()
