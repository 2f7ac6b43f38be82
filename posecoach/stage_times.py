"""Where a live session's time goes: milliseconds per stage, frame by frame.

`StageTimes` keeps each stage's times as 4-byte floats (a 10-minute session at 30 frames/s is
about 70 kB a stage) and sums them up as the median, 95th percentile and mean per call, and the
total, for the session's log line and the live speed benchmark (bench/live_speed.py).
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class StageTimes:
    """Milliseconds per call of each named stage, in the order the stages first ran."""

    def __init__(self) -> None:
        self.ms: dict[str, array[float]] = {}

    def add(self, stage: str, ms: float) -> None:
        self.ms.setdefault(stage, array("f")).append(ms)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, (time.perf_counter() - start) * 1000.0)

    def merged(self, other: StageTimes | None) -> StageTimes:
        """These stages and ``other``'s (a stage in both: ``other``'s calls after these)."""
        out = StageTimes()
        for source in (self, other):
            for stage, values in (source.ms if source is not None else {}).items():
                out.ms.setdefault(stage, array("f")).extend(values)
        return out

    def summary(self) -> dict[str, dict[str, float]]:
        """Per stage: ``calls``, ``median``, ``p95``, ``mean`` and ``total`` (ms)."""
        out = {}
        for stage, values in self.ms.items():
            if not values:
                continue
            v = np.frombuffer(values, dtype=np.float32).astype(np.float64)
            out[stage] = {
                "calls": float(len(v)),
                "median": round(float(np.median(v)), 2),
                "p95": round(float(np.percentile(v, 95)), 2),
                "mean": round(float(v.mean()), 2),
                "total": round(float(v.sum()), 1),
            }
        return out
