"""Which view each repetition is judged in, and the findings for checks a view cannot show.

A track's camera view can change over time (`analysis.kinematics.view_segments`): each rep is
judged in the view of the segment holding its turn. A check that none of the track's rep views
can show gives one ``not_assessable`` finding for the whole track (``rep_index`` -1), as for a
single-view track; a check that some reps' views can show but this rep's cannot gives a
``not_assessable`` finding for that rep, so that no rep is silently left unjudged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.kinematics.view_segments import ViewSegment, view_at
from rules.records import Finding
from rules.reps import Segment
from rules.specs import CheckSpec, RuleFile


def rep_views(
    segments: Sequence[Segment],
    frames: np.ndarray,
    view: str,
    segments_of_view: Sequence[ViewSegment] | None,
) -> list[str]:
    """Per rep: the view of the view segment holding its turn frame (``view`` where there are
    no segments or that segment's view is unknown)."""
    return [view_at(segments_of_view or (), int(frames[s.turn]), default=view) for s in segments]


def _not_assessable(
    check: CheckSpec, rule: RuleFile, track_id: int, rep_index: int, span: tuple[float, float],
    camera: str,
) -> Finding:  # fmt: skip
    return Finding.of_check(
        check, rule, track_id=track_id, rep_index=rep_index, severity="not_assessable",
        value=float("nan"), threshold=float(next(iter(check.thresholds.values()))),
        start_s=span[0], end_s=span[1], worst_frame=None, worst_s=None,
        message=(f"{check.id}: not assessable from this view (needs "
                 f"{' or '.join(check.views)}, {camera})"),
    )  # fmt: skip


def track_view_findings(
    rule: RuleFile, seen: Sequence[str], t_s: np.ndarray, track_id: int
) -> list[Finding]:
    """One finding per check that none of the views in ``seen`` can show, over the track."""
    camera = (f"the camera view is {seen[0]}" if len(seen) == 1
              else f"the camera views are {', '.join(seen)}")  # fmt: skip
    span = (float(t_s[0]), float(t_s[-1]))
    return [_not_assessable(c, rule, track_id, -1, span, camera)
            for c in rule.checks if not set(seen) & set(c.views)]  # fmt: skip


def rep_view_findings(
    rule: RuleFile,
    seg: Segment,
    rep_index: int,
    rep_view: str,
    seen: Sequence[str],
    t_s: np.ndarray,
    track_id: int,
) -> list[Finding]:
    """The checks another of the track's views can show but this rep's view cannot."""
    span = (float(t_s[seg.start]), float(t_s[seg.end]))
    camera = f"this rep's camera view is {rep_view}"
    return [_not_assessable(c, rule, track_id, rep_index, span, camera)
            for c in rule.checks
            if rep_view not in c.views and set(seen) & set(c.views)]  # fmt: skip
