"""The coaching evaluation's arithmetic: rep matching, count outcomes, flag precision and recall.

Pure functions over plain values, so the figures `bench/eval_coaching.py` prints can be checked
on small known inputs. A *flag* is a finding whose severity is a warning level (`FLAG_SEVERITIES`:
``caution`` or ``risk``); ``info`` is advice and ``not_assessable`` is no judgement, so neither
counts as flagging a fault.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Severities that flag a fault (rules/library bands: info < caution < risk).
FLAG_SEVERITIES = ("caution", "risk")


def is_flag(severity: str) -> bool:
    """Whether a finding's severity flags a fault (caution or risk)."""
    return severity in FLAG_SEVERITIES


@dataclass(frozen=True)
class FlagCounts:
    """True positives, false positives and false negatives of one check (or pooled)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: FlagCounts) -> FlagCounts:
        return FlagCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); NaN when nothing was flagged (undefined, not perfect)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    @property
    def recall(self) -> float:
        """tp / (tp + fn); NaN when no fault was planted."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan


def count_outcome(counted: int, truth: int, tolerance: int = 0) -> str:
    """``exact`` when counted == truth, ``within`` when off by at most ``tolerance``, else
    ``off``."""
    if counted == truth:
        return "exact"
    return "within" if abs(counted - truth) <= tolerance else "off"


def match_reps(
    truth: Sequence[tuple[float, float, float]], detected_turns: Sequence[float]
) -> dict[int, int]:
    """Match detected reps to true ones by time.

    Args:
        truth: per true rep (start_s, turn_s, end_s).
        detected_turns: per detected rep its turn time (s).

    Returns:
        detected index -> truth index. A detected rep matches a true rep whose [start, end]
        holds its turn; each true rep takes at most one detected rep (the one whose turn is
        nearest to the true turn), so a rep counted twice leaves one detection unmatched.
    """
    pairs = []
    for d, t_d in enumerate(detected_turns):
        for k, (start, turn, end) in enumerate(truth):
            if start <= t_d <= end:
                pairs.append((abs(t_d - turn), d, k))
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for _, d, k in sorted(pairs):
        if d not in matched and k not in taken:
            matched[d] = k
            taken.add(k)
    return matched


def flag_counts(
    expected: Iterable[tuple[int, str]],
    flagged: Iterable[tuple[int | None, str]],
    checks: Iterable[str] = (),
) -> dict[str, FlagCounts]:
    """Per check, the flags against the planted faults.

    Args:
        expected: (true rep index, check id) for every planted fault.
        flagged: (true rep index, check id) for every flag raised; the index is None for a flag
            on a detected rep that matches no true rep (always a false positive). A rep flagged
            twice by one check counts once.
        checks: check ids to report even when neither planted nor flagged (all zeros).

    Returns:
        check id -> FlagCounts, sorted by check id.
    """
    want = set(expected)
    got_matched = {(k, c) for k, c in flagged if k is not None}
    unmatched: dict[str, int] = {}
    for k, c in flagged:
        if k is None:
            unmatched[c] = unmatched.get(c, 0) + 1
    names = {c for _, c in want} | {c for _, c in got_matched} | set(unmatched) | set(checks)
    out = {}
    for c in sorted(names):
        w = {k for k, cc in want if cc == c}
        g = {k for k, cc in got_matched if cc == c}
        out[c] = FlagCounts(tp=len(w & g), fp=len(g - w) + unmatched.get(c, 0), fn=len(w - g))
    return out


def pool(per_clip: Iterable[Mapping[str, FlagCounts]]) -> dict[str, FlagCounts]:
    """Sum per-check counts over clips (check id -> FlagCounts, sorted)."""
    total: dict[str, FlagCounts] = {}
    for counts in per_clip:
        for c, n in counts.items():
            total[c] = total.get(c, FlagCounts()) + n
    return dict(sorted(total.items()))


def overall(counts: Mapping[str, FlagCounts]) -> FlagCounts:
    """All checks pooled into one FlagCounts."""
    return sum(counts.values(), FlagCounts())


def rate(hits: Iterable[bool]) -> float:
    """The share of True values; NaN for none."""
    values = list(hits)
    return sum(values) / len(values) if values else math.nan


def fmt_ratio(value: float) -> str:
    """Two decimals, or ``-`` for an undefined (NaN) ratio."""
    return "-" if math.isnan(value) else f"{value:.2f}"


@dataclass(frozen=True)
class FaultTally:
    """What became of planted faults: how many were *clear* (the planted value beyond the flag
    threshold by more than the finding's own uncertainty: the issue's "no fault missed whose
    value is clear of its threshold by more than its uncertainty"), how many of those were
    flagged, and of all faults how many were judged not assessable or missed (judged ok or
    info: a wrong call, where not assessable is an honest abstention)."""

    faults: int = 0
    clear: int = 0
    clear_flagged: int = 0
    not_assessable: int = 0
    missed: int = 0

    def __add__(self, other: FaultTally) -> FaultTally:
        return FaultTally(*(a + b for a, b in zip(vars(self).values(), vars(other).values(),
                                                   strict=True)))  # fmt: skip

    @property
    def recall_clear(self) -> float:
        """clear_flagged / clear; NaN when no fault was clear."""
        return self.clear_flagged / self.clear if self.clear else math.nan


def tally_fault(planted: float, threshold: float, comparison: str, severity: str | None,
                uncertainty: float) -> FaultTally:  # fmt: skip
    """One planted fault of value ``planted`` against the check's flag ``threshold``
    (``comparison`` above / below) and the finding on its rep (``severity`` None: no finding,
    the rep was not found; ``uncertainty`` NaN: nothing measured, never clear)."""
    margin = (planted - threshold) if comparison == "above" else (threshold - planted)
    u = 0.0 if severity is None else uncertainty
    clear = bool(margin > u) if not math.isnan(u) else False
    flagged = severity is not None and is_flag(severity)
    return FaultTally(
        faults=1,
        clear=int(clear),
        clear_flagged=int(clear and flagged),
        not_assessable=int(severity == "not_assessable"),
        missed=int(not flagged and severity != "not_assessable"),
    )
