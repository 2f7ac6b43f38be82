"""Why a check was not judged, in a summary line: the camera view, or the measurement.

A ``not_assessable`` finding has one of two causes, and a coach reads them differently:

- **the camera view**: the check needs a view the rep was not filmed from (knee valgus from the
  side). That is a fact about how the video was filmed, not a failure of the athlete or of the
  analysis: said once per check, with the view it needs and the one it had ("knee valgus needs
  a front view (filmed side)").
- **the measurement**: the rep was filmed from a view that shows the check, but the value was
  too uncertain or not measured (a small or jittery subject, a joint out of the frame): said
  per check with the reps concerned and the finding's reason ("depth not assessable on 2 reps
  (subject too small: thigh 12 px)").

The cause is read from what scoring stored: each check's views (the findings' metadata
``checks``) against the rep's own view (``reps.view``) or the views the track was filmed from;
for stores or writers without them, from the finding's message ("not assessable from this
view (needs front, the camera view is side)").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

_VIEW_MESSAGE = re.compile(r"not assessable from (this|an? \w+) view", re.I)
_NEEDS = re.compile(r"\(needs ([^,()]+),")
_CAMERA = re.compile(r"views? (?:is|are) ([^()]+)\)\s*$")
_REASON = re.compile(r"\(([^()]*)\)\s*$")


def check_views(meta: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """Each check's views (``side``, ``front``...) as scoring recorded them in the findings'
    metadata; empty where none was recorded."""
    checks = (meta or {}).get("checks")
    out: dict[str, tuple[str, ...]] = {}
    if isinstance(checks, list):
        for c in checks:
            if isinstance(c, dict) and isinstance(c.get("id"), str) and c.get("views"):
                out[c["id"]] = tuple(str(v) for v in c["views"])
    return out


def track_views(meta: Mapping[str, Any], track_id: int, video_view: str) -> tuple[str, ...]:
    """The view a track was scored in (the metadata's ``views``), else the video's; () where
    neither is known."""
    views = meta.get("views")
    view = views.get(str(track_id)) if isinstance(views, dict) else None
    view = view or video_view
    return (str(view),) if view and view != "unknown" else ()


def _plain(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _rep_views(reps: pd.DataFrame) -> dict[int, str]:
    if "view" not in reps.columns or not len(reps):
        return {}
    return {int(r): v for r, v in zip(reps["rep_index"], reps["view"].map(_plain), strict=True)
            if v is not None}  # fmt: skip


@dataclass(frozen=True)
class Unjudged:
    """The not-assessable findings of one check and cause, over one track."""

    check_id: str
    by_view: bool  # the camera view cannot show the check; else the measurement was unclear
    reps: int  # reps concerned (0: the whole set)
    cameras: tuple[str, ...]  # the views those reps were filmed from (by_view), where known
    needs: tuple[str, ...]  # the views the check needs (by_view), where known
    reason: str  # the most frequent reason of the unclear ones ("" where none was given)


def _cause(
    row: Any, views_of: Mapping[int, str], track_views: tuple[str, ...],
    needs_of: Mapping[str, tuple[str, ...]],
) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:  # fmt: skip
    """(by the view?, the camera views, the views needed) of one not-assessable finding."""
    message = str(row.message or "")
    rep = int(row.rep_index)
    cameras = (views_of[rep],) if rep in views_of else track_views
    needs = needs_of.get(str(row.check_id), ())
    if needs and cameras:
        return not set(cameras) & set(needs), cameras, needs
    if not _VIEW_MESSAGE.search(message):
        return False, cameras, needs
    found = _NEEDS.search(message)
    camera = _CAMERA.search(message)
    needs = needs or (tuple(found.group(1).split(" or ")) if found else ())
    cameras = cameras or (tuple(v.strip() for v in camera.group(1).split(",")) if camera else ())
    return True, cameras, needs


def unjudged(
    reps: pd.DataFrame,
    findings: pd.DataFrame,
    needs_of: Mapping[str, tuple[str, ...]] | None = None,
    track_views: Iterable[str] = (),
) -> list[Unjudged]:
    """The not-assessable findings of one track, one entry per (check, cause), in the order the
    checks first appear. ``needs_of``: `check_views` of the findings' metadata; ``track_views``:
    the views the track was filmed from where its reps carry none (the metadata's, the video's)."""
    rows = findings[findings["severity"] == "not_assessable"] if len(findings) else findings
    if not len(rows):
        return []
    views_of = _rep_views(reps)
    seen = tuple(dict.fromkeys(views_of.values())) or tuple(v for v in track_views if v)
    groups: dict[tuple[str, bool], list[tuple[Any, tuple[str, ...], tuple[str, ...]]]] = {}
    for row in rows.itertuples(index=False):
        by_view, cameras, needs = _cause(row, views_of, seen, needs_of or {})
        groups.setdefault((str(row.check_id), by_view), []).append((row, cameras, needs))
    out = []
    for (check, by_view), items in groups.items():
        per_rep = {int(r.rep_index) for r, _, _ in items if int(r.rep_index) >= 0}
        reasons = Counter(m.group(1) for r, _, _ in items
                          if (m := _REASON.search(str(r.message or ""))))  # fmt: skip
        cameras = tuple(dict.fromkeys(c for _, cs, _ in items for c in cs))
        needs = tuple(dict.fromkeys(n for _, _, ns in items for n in ns))
        reason = reasons.most_common(1)[0][0] if reasons and not by_view else ""
        if not by_view:
            cameras = needs = ()
        out.append(Unjudged(check, by_view, len(per_rep), cameras, needs, reason))
    return out


def _reps(n: int) -> str:
    return "over the set" if n == 0 else ("on 1 rep" if n == 1 else f"on {n} reps")


def clause(u: Unjudged, humanize: Any) -> str:
    """One entry as a summary line's clause."""
    name = humanize(u.check_id)
    if not u.by_view:
        return f"{name} not assessable {_reps(u.reps)}" + (f" ({u.reason})" if u.reason else "")
    if u.needs:
        article = "an" if u.needs[0][0] in "aeiou" else "a"
        needs = f"needs {article} {' or '.join(u.needs)} view"
    else:
        needs = "cannot be judged from this camera view"
    filmed = ", ".join(u.cameras)
    if filmed and u.reps:
        return f"{name} {needs} ({_plural_reps(u.reps)} filmed {filmed})"
    return f"{name} {needs}" + (f" (filmed {filmed})" if filmed else "")


def _plural_reps(n: int) -> str:
    return "1 rep" if n == 1 else f"{n} reps"
