"""A hold followed frame by frame, for the live counter (`rules.online.OnlineCounter`).

As `rules.reps.find_holds` has it offline: the frames where every position condition holds are
joined across drop-outs up to ``max_gap_s``; the time in target is the hold's length times the
share of its frames with the target metrics measured that are on target (bridged drop-outs
counted too). Only counters are kept, so a hold of any length costs the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rules.specs import HoldSpec


@dataclass
class HoldRun:
    """A run of frames in the position: sample indices ``first``..``last`` (the last one in
    position), its first frame and time, and the frames on target / with the target measured
    (as of the last frame, and as of the last frame in position)."""

    first: int
    start_frame: int
    start_s: float
    last: int
    on: int = 0
    known: int = 0
    on_at_last: int = 0
    known_at_last: int = 0

    def duration_s(self, fps: float) -> float:
        return (self.last + 1 - self.first) / fps

    def in_target_s(self, fps: float, has_target: bool) -> float:
        if not has_target:
            return self.duration_s(fps)
        if not self.known_at_last:
            return math.nan
        return self.duration_s(fps) * self.on_at_last / self.known_at_last


class HoldTracker:
    """The current run in a hold's position, fed one frame's metrics at a time."""

    def __init__(self, spec: HoldSpec) -> None:
        self.spec = spec
        self.run: HoldRun | None = None

    def step(self, i: int, frame: int, t_s: float, metrics: Mapping[str, float],
             fps: float) -> HoldRun | None:  # fmt: skip
        """Take sample ``i``; the run it ends (out of position longer than ``max_gap_s``)."""
        inside = all(c.holds(metrics[c.metric]) for c in self.spec.position)
        if inside and self.run is None:
            self.run = HoldRun(i, frame, t_s, i)
        run = self.run
        if run is None:
            return None
        known = all(math.isfinite(metrics[c.metric]) for c in self.spec.target)
        run.known += known
        run.on += known and all(c.holds(metrics[c.metric]) for c in self.spec.target)
        if inside:
            run.last, run.on_at_last, run.known_at_last = i, run.on, run.known
            return None
        return self.close() if i - run.last > self.spec.max_gap_s * fps else None

    def close(self) -> HoldRun | None:
        """End the current run (the session's end); None when there is none."""
        run, self.run = self.run, None
        return run
