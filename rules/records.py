"""Rep and finding records: what scoring produces, typed, until the store boundary.

A `Rep` is one row of the ``reps`` table and a `Finding` one row of ``findings``
(`posecoach.schema.REPS` / ``FINDINGS``), without the columns that are the same for a whole
video (``video_id``; ``exercise`` for reps): scoring builds records, `to_frame` turns a list of
them into the table the store writes, in the schema's column order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rules.reps import Segment
from rules.specs import CheckSpec, RuleFile

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Rep:
    """One repetition or hold of a track: frames and times of its start, turn and end."""

    track_id: int
    rule_id: str
    rule_version: str
    rep_index: int  # 0-based within the track
    kind: str  # rep | hold
    start_frame: int
    turn_frame: int  # bottom / turning point; for a hold, its middle
    end_frame: int
    start_s: float
    turn_s: float
    end_s: float
    duration_s: float
    in_target_s: float  # holds: time within the target position; NaN for repetitions
    signal_min: float
    signal_max: float
    worst_severity: str  # the worst judged severity of its findings, "ok" if none
    partial: bool = False  # cut by the first / last visible frame: kept, not counted
    view: str | None = None  # the camera view of its own view segment (None: not estimated)
    side: str | None = None  # left | right: an alternating exercise's working side (rules.reps)

    @classmethod
    def from_segment(
        cls,
        seg: Segment,
        rep_index: int,
        frames: np.ndarray,
        t_s: np.ndarray,
        fps: float,
        *,
        track_id: int,
        rule: RuleFile,
        worst_severity: str,
        view: str | None = None,
    ) -> Rep:
        """The record of a segment found on a track's frame grid (``frames`` / ``t_s`` per
        grid index; a segment lasts from its first frame to the end of its last)."""
        return cls(
            track_id=track_id,
            rule_id=rule.id,
            rule_version=rule.version,
            rep_index=rep_index,
            kind=seg.kind,
            start_frame=int(frames[seg.start]),
            turn_frame=int(frames[seg.turn]),
            end_frame=int(frames[seg.end]),
            start_s=float(t_s[seg.start]),
            turn_s=float(t_s[seg.turn]),
            end_s=float(t_s[seg.end]),
            duration_s=float(t_s[seg.end] - t_s[seg.start] + 1.0 / fps),
            in_target_s=seg.in_target_s,
            signal_min=seg.signal_min,
            signal_max=seg.signal_max,
            worst_severity=worst_severity,
            partial=seg.partial,
            view=view,
            side=seg.side,
        )


@dataclass(frozen=True)
class Finding:
    """One check judged over one repetition or hold (``rep_index`` -1: over the whole track)."""

    track_id: int
    rep_index: int
    rule_id: str
    rule_version: str
    check_id: str
    metric: str
    phase: str
    severity: str  # ok | info | caution | risk | not_assessable
    value: float  # NaN when not measurable
    threshold: float
    comparison: str
    unit: str
    start_s: float | None
    end_s: float | None
    worst_frame: int | None  # the frame that decided the value; None when nothing was measured
    worst_s: float | None
    message: str
    source: str
    uncertainty: float = math.nan  # +- of value (rules.uncertainty); 0: no model applies

    @classmethod
    def of_check(
        cls, check: CheckSpec, rule: RuleFile, *, track_id: int, rep_index: int, **judged: Any
    ) -> Finding:
        """A finding of ``check``: its identity from the rule file, the judgement from
        ``judged`` (severity, value, threshold, start_s, end_s, worst_frame, worst_s, message)."""
        return cls(
            track_id=track_id,
            rep_index=rep_index,
            rule_id=rule.id,
            rule_version=rule.version,
            check_id=check.id,
            metric=check.metric,
            phase=check.phase,
            comparison=check.comparison,
            unit=check.unit,
            source=check.source,
            **judged,
        )

    @classmethod
    def no_rule_file(cls, note: str) -> Finding:
        """The one note finding of an exercise without a rule file: nothing judged."""
        return cls(
            track_id=-1, rep_index=-1, rule_id="", rule_version="", check_id="no_rule_file",
            metric="", phase="", severity="not_assessable", value=math.nan, threshold=math.nan,
            comparison="", unit="", start_s=None, end_s=None, worst_frame=None, worst_s=None,
            message=note, source="",
        )  # fmt: skip


def to_frame(
    records: Sequence[Rep] | Sequence[Finding], schema: pa.Schema, video_id: str, **const: Any
) -> pd.DataFrame:
    """The table of ``records`` in ``schema``'s column order, ``video_id`` first and the
    columns in ``const`` (e.g. ``exercise=``) set for every row; empty records give the empty
    table with every column."""
    rows = [dataclasses.asdict(r) for r in records]
    df = pd.DataFrame(rows, columns=[n for n in schema.names if n != "video_id"])
    df.insert(0, "video_id", video_id)
    for name, value in const.items():
        df[name] = value
    return df
