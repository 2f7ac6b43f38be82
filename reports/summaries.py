"""What a coach reads on a page, from the stored tables: pure functions over DataFrames.

Inputs are the ``reps`` and ``findings`` rows of one video (or one track), as read from the store
(`posecoach.schema`). Outputs are small dataclasses the templates render as they are: no HTML
here, and every string is plain text (the template engine escapes it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reports import unjudged

#: Severities from best to worst; ``not_assessable`` is outside the scale.
SEVERITY_RANK: dict[str, int] = {"ok": 0, "info": 1, "caution": 2, "risk": 3}
#: Severities a coach must look at, worst first.
FLAGGED: tuple[str, ...] = ("risk", "caution", "info")


def worst_severity(severities: list[str] | pd.Series) -> str:
    """The worst of the given severities; ``ok`` when there are none (``not_assessable`` ignored)."""
    ranked = [s for s in severities if s in SEVERITY_RANK]
    return max(ranked, key=SEVERITY_RANK.__getitem__) if ranked else "ok"


def humanize(name: str) -> str:
    """``knee_valgus`` -> ``knee valgus``; ``knee_angle_left_deg`` -> ``knee angle left``."""
    words = [w for w in str(name).replace("-", "_").split("_") if w]
    if len(words) > 1 and words[-1] in ("deg", "dps", "s", "px"):
        words = words[:-1]
    return " ".join(words)


def format_value(value: float | None, unit: str | None = None, digits: int = 1) -> str:
    """A measured value for a table cell: ``'97.3 deg'``; ``'n/a'`` for NaN or None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    unit = (unit or "").strip()
    text = f"{float(value):.{digits}f}"
    if unit in ("deg", "°"):
        return f"{text}°"
    return f"{text} {unit}" if unit else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class Cell:
    """One check's result in one rep: the shown text, its severity and a tooltip."""

    text: str
    severity: str
    title: str = ""
    note: str = ""  # not assessable: why ("subject too small: thigh 38 px"), shown under it


@dataclass(frozen=True)
class CheckColumn:
    check_id: str
    metric: str
    unit: str
    label: str


@dataclass
class RepRow:
    number: int  # 1-based, as a coach counts
    kind: str
    start_s: float
    end_s: float
    duration_s: float
    in_target_s: float | None
    worst: str
    cells: list[Cell]
    view: str | None = None  # the camera view the rep was judged in (None: not recorded)
    partial: bool = False  # cut by the clip's first / last visible frame: listed, not counted
    pose: str | None = None  # a flow's hold: the pose held (its rule id, humanized)
    side: str | None = None  # alternating-side exercises: the working side (left | right)


@dataclass
class RepTable:
    columns: list[CheckColumn]
    rows: list[RepRow]


@dataclass(frozen=True)
class Cue:
    """A coaching cue: the rule's plain-language message, how often and how bad."""

    severity: str
    check_id: str
    text: str
    count: int
    reps: str  # "reps 2, 5" or "whole set"


@dataclass
class TrackSummary:
    track_id: int
    n_reps: int
    n_holds: int
    hold_s: float
    line: str
    counts: dict[str, int] = field(default_factory=dict)  # severity -> number of findings


def _sorted(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    present = [c for c in cols if c in df.columns]
    return df.sort_values(present, kind="stable") if present and len(df) else df


def rep_table(reps: pd.DataFrame, findings: pd.DataFrame, rule_id: str | None = None) -> RepTable:
    """The per-rep table of one track: one row per rep or hold, one column per check.

    A check's cell shows the measured value (``n/a`` where NaN) with the finding's severity.
    Checks are ordered as they first appear in the findings; findings over the whole track
    (``rep_index`` -1) are not in this table (see `track_findings`). ``rule_id``: the video's
    (the reps' metadata); a row judged by another rule file is a flow's pose, and names it.
    """
    per_rep = findings[findings["rep_index"] >= 0] if len(findings) else findings
    columns: list[CheckColumn] = []
    seen: set[str] = set()
    for row in _sorted(per_rep, "rep_index").itertuples(index=False):
        if row.check_id not in seen:
            seen.add(row.check_id)
            columns.append(
                CheckColumn(row.check_id, row.metric or "", row.unit or "", humanize(row.check_id))
            )
    by_rep: dict[int, dict[str, Cell]] = {}
    for row in per_rep.itertuples(index=False):
        title = row.message or ""
        if row.severity == "not_assessable":
            cell = Cell("not assessable", "not_assessable", title, not_assessable_reason(title))
        else:
            cell = Cell(format_value(row.value, row.unit), row.severity, title)
        by_rep.setdefault(int(row.rep_index), {})[row.check_id] = cell
    rows = []
    for rep in _sorted(reps, "rep_index").itertuples(index=False):
        cells_of = by_rep.get(int(rep.rep_index), {})
        cells = [cells_of.get(c.check_id, Cell("", "none")) for c in columns]
        in_target = rep.in_target_s if rep.kind == "hold" else None
        rows.append(
            RepRow(
                number=int(rep.rep_index) + 1,
                kind=str(rep.kind),
                start_s=float(rep.start_s),
                end_s=float(rep.end_s),
                duration_s=float(rep.duration_s),
                in_target_s=None if in_target is None or pd.isna(in_target) else float(in_target),
                worst=worst_severity([c.severity for c in cells]),
                cells=cells,
                view=_view_of(rep),
                partial=getattr(rep, "partial", None) is True,
                pose=_pose_of(rep, rule_id),
                side=_text_of(rep, "side"),
            )
        )
    return RepTable(columns, rows)


def _pose_of(rep: Any, rule_id: str | None) -> str | None:
    """The pose a flow's hold is (rows of a flow carry their pose's rule id, the video the
    family's); None for a row of the video's own rule file."""
    own = getattr(rep, "rule_id", None)
    if rule_id is None or own is None or pd.isna(own) or str(own) == rule_id:
        return None
    return humanize(str(own))


def not_assessable_reason(message: str) -> str:
    """The reason a not-assessable finding's message gives in its closing parentheses
    ("... (subject too small: thigh 38 px)"); "" where it gives none."""
    m = re.search(r"\(([^()]*)\)\s*$", message)
    return m.group(1) if m else ""


def _text_of(rep: Any, column: str) -> str | None:
    """A reps row's text column; None where the file predates the column or it is null."""
    value = getattr(rep, column, None)
    return None if value is None or pd.isna(value) else str(value)


def _view_of(rep: Any) -> str | None:
    """A reps row's view; None where the file predates the column or it is null."""
    return _text_of(rep, "view")


def side_counts(reps: pd.DataFrame) -> str:
    """ " (5 left, 5 right)" for counted reps that record their side; "" where none does."""
    if not len(reps) or "side" not in reps.columns:
        return ""
    counted = reps[(reps["kind"] == "rep") & ~partial(reps)]
    by_side = counted["side"].dropna().value_counts()
    if by_side.empty:
        return ""
    return " (" + ", ".join(f"{int(by_side[s])} {s}" for s in ("left", "right")
                            if s in by_side.index) + ")"  # fmt: skip


def track_findings(findings: pd.DataFrame) -> list[dict[str, str]]:
    """Findings over the whole track (``rep_index`` -1) as display rows, worst first."""
    rows = findings[findings["rep_index"] < 0] if len(findings) else findings
    out = []
    for row in rows.itertuples(index=False):
        value = (
            "not assessable"
            if row.severity == "not_assessable"
            else format_value(row.value, row.unit)
        )
        out.append(
            {
                "check": humanize(row.check_id),
                "value": value,
                "severity": row.severity,
                "message": row.message or "",
            }
        )
    out.sort(key=lambda r: -SEVERITY_RANK.get(r["severity"], -1))
    return out


def partial(reps: pd.DataFrame) -> pd.Series:
    """Per reps row, whether it is partial (False where the file predates the column)."""
    if "partial" not in reps.columns:
        return pd.Series(False, index=reps.index)
    return reps["partial"].eq(True)


def counted_reps(reps: pd.DataFrame) -> int:
    """Repetitions counted: a partial one (cut by the clip) is listed, not counted."""
    return int(((reps["kind"] == "rep") & ~partial(reps)).sum()) if len(reps) else 0


def severity_counts(findings: pd.DataFrame) -> dict[str, int]:
    """Number of findings per flagged severity (risk, caution, info) plus not_assessable."""
    counts = {s: 0 for s in (*FLAGGED, "not_assessable")}
    if len(findings):
        vc = findings["severity"].value_counts()
        for sev in counts:
            counts[sev] = int(vc.get(sev, 0))
    return counts


def summarize_track(
    track_id: int,
    reps: pd.DataFrame,
    findings: pd.DataFrame,
    needs_of: Mapping[str, tuple[str, ...]] | None = None,
    track_views: Iterable[str] = (),
) -> TrackSummary:
    """The one-line summary of a track, e.g. ``"8 reps, 2 with knee valgus risk"``.

    A rep counts once per (check, severity) it is flagged with; checks over the whole track
    are named after the reps (``"trunk lean caution over the set"``). Checks not assessable
    follow (`reports.unjudged`): an unclear measurement with its reason ("depth not assessable
    on 2 reps (subject too small: thigh 12 px)"), and, after a semicolon and once per check,
    what the camera view could not show ("knee valgus needs a front view (filmed side)"): a
    fact about the filming, not a flag. ``needs_of``: each check's views (the findings'
    metadata, `reports.unjudged.check_views`); ``track_views``: the views the track was filmed
    from where its reps record none.
    """
    n_reps = counted_reps(reps)
    holds = reps[reps["kind"] == "hold"] if len(reps) else reps
    n_holds = len(holds)
    hold_s = float(holds["duration_s"].sum()) if n_holds else 0.0
    parts = []
    if n_reps or not n_holds:
        parts.append(_plural(n_reps, "rep") + side_counts(reps))
    if n_holds:
        parts.append(f"{_plural(n_holds, 'hold')} ({hold_s:.1f} s)")
    flags = []
    if len(findings):
        flagged = findings[findings["severity"].isin(FLAGGED)]
        for sev in FLAGGED:
            of_sev = flagged[flagged["severity"] == sev]
            # checks in order of how many reps they flag, then by name, for a stable line
            per_check = of_sev[of_sev["rep_index"] >= 0].groupby("check_id")["rep_index"].nunique()
            for check, n in sorted(per_check.items(), key=lambda kv: (-kv[1], kv[0])):
                flags.append(f"{n} with {humanize(check)} {sev}")
            for check in sorted(set(of_sev[of_sev["rep_index"] < 0]["check_id"])):
                flags.append(f"{humanize(check)} {sev} over the set")
    if not flags and (n_reps or n_holds):
        flags.append("no flags")
    notes = unjudged.unjudged(reps, findings, needs_of, track_views)
    unclear = [unjudged.clause(u, humanize) for u in notes if not u.by_view]
    camera = [unjudged.clause(u, humanize) for u in notes if u.by_view]
    line = ", ".join(parts + flags + unclear) + "".join(f"; {c}" for c in camera)
    return TrackSummary(track_id, n_reps, n_holds, hold_s, line, severity_counts(findings))


def video_summary_line(summaries: list[TrackSummary]) -> str:
    """The video's one line: the track's own line, or ``"2 people: #1 8 reps ...; #2 ..."``."""
    if not summaries:
        return "no repetitions scored"
    if len(summaries) == 1:
        return summaries[0].line
    inner = "; ".join(f"#{s.track_id}: {s.line}" for s in summaries)
    return f"{len(summaries)} people. {inner}"


def coaching_cues(findings: pd.DataFrame) -> list[Cue]:
    """Plain-language cues, worst first: one per (check, severity), with the reps they concern.

    The text is the rule's message of the worst such finding (it carries the measured value);
    where a rule gave no message, a neutral sentence is made from value and threshold.
    """
    if not len(findings):
        return []
    flagged = findings[findings["severity"].isin(FLAGGED)]
    cues = []
    for (check, sev), group in flagged.groupby(["check_id", "severity"], sort=False):
        reps = sorted(int(r) + 1 for r in set(group["rep_index"]) if r >= 0)
        where = (
            ("rep " if len(reps) == 1 else "reps ") + ", ".join(map(str, reps))
            if reps
            else "whole set"
        )
        first = group.iloc[0]
        text = str(first["message"] or "").strip()
        if not text:
            text = (
                f"{humanize(check).capitalize()}: {format_value(first['value'], first['unit'])} "
                f"({first['comparison'] or 'vs'} {format_value(first['threshold'], first['unit'])})."
            )
        cues.append(Cue(str(sev), str(check), text, len(group), where))
    cues.sort(key=lambda c: (-SEVERITY_RANK[c.severity], -c.count, c.check_id))
    return cues
