"""The page of one night (a partition date): every video, ok or failed, findings by severity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from posecoach.annotations import filed_under, track_names
from posecoach.store import Store
from reports import site, summaries, unjudged
from reports.reading import all_videos, content_of, scoring_metadata
from reports.site import num, text, when


def video_rows(
    ctx: site.Context,
    videos: pd.DataFrame,
    reps: pd.DataFrame,
    findings: pd.DataFrame,
    from_page: Path,
    metas: Mapping[str, Mapping[str, Any]] | None = None,
    filed: Mapping[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """One table row per video: names, status, summary line, counts and links. ``metas``: the
    videos' findings metadata (`scoring_metadata`), which says what each check's view is.
    A copy (a file filed under a second athlete) shows its analysed video's reps, findings and
    page; ``filed``: who each analysed video is filed under (`filed_under`), named on the row
    of a video filed under several."""
    rows = []
    for v in videos.itertuples(index=False):
        content = content_of(v)
        vr = reps[reps["video_id"] == content] if len(reps) else reps
        vf = findings[findings["video_id"] == content] if len(findings) else findings
        tracks = sorted({int(t) for t in vr["track_id"]} | {int(t) for t in vf["track_id"]})
        meta = (metas or {}).get(content, {})
        under = (filed or {}).get(content, [])
        sums = [
            summaries.summarize_track(
                t, vr[vr["track_id"] == t], vf[vf["track_id"] == t] if len(vf) else vf,
                unjudged.check_views(meta), unjudged.track_views(meta, t, text(v.view)),
            )
            for t in tracks
        ]  # fmt: skip
        status = text(v.status) or "unknown"
        rows.append(
            {
                "video_id": v.video_id,
                "content_id": content,
                "filed_under": under if len(under) > 1 else [],
                "file_name": site.video_label(v.file_name, v.source, v.recorded_at, v.video_id),
                "athlete": text(v.athlete),
                "exercise": text(v.exercise),
                "recorded_at": when(v.recorded_at),
                "duration_s": num(v.duration_s, 1, "s"),
                "status": status,
                "error": text(v.error),
                "summary": summaries.video_summary_line(sums) if status == "ok" else "",
                "counts": summaries.severity_counts(vf),
                "n_reps": summaries.counted_reps(vr),
                "link": ctx.link(site.video_page_path(ctx.out_dir, v.date, content), from_page),
                "athlete_link": ctx.link(
                    site.athlete_page_path(ctx.out_dir, text(v.athlete)), from_page
                )
                if text(v.athlete)
                else None,
            }
        )
    return rows


def _named(
    ctx: site.Context, names: Mapping[tuple[str, int], str], rows: list[dict[str, Any]], page: Path
) -> list[list[dict[str, Any]]]:
    """Per row, the named tracks of its video: track id, athlete, link to their page."""
    return [
        [
            {
                "track_id": track_id,
                "athlete": athlete,
                "link": ctx.link(site.athlete_page_path(ctx.out_dir, athlete), page),
            }
            for (vid, track_id), athlete in sorted(names.items())
            if vid == row["content_id"]
        ]
        for row in rows
    ]


def render_night(
    store: Store,
    out_dir: str | os.PathLike[str],
    date: str,
    *,
    _ctx: site.Context | None = None,
) -> Path:
    """Render the index of one night (partition ``date``, YYYY-MM-DD); returns its path."""
    ctx = _ctx or site.context(out_dir)
    videos = all_videos(store)
    videos = videos[videos["date"] == date]
    ids = sorted({content_of(v) for v in videos.itertuples()})
    reps = store.read("reps", ids)
    findings = store.read("findings", ids)
    page = site.night_page_path(ctx.out_dir, date)
    metas = scoring_metadata(store, videos)
    rows = video_rows(ctx, videos, reps, findings, page, metas, filed_under(videos))
    # the people a coach named in group videos, after the video's athlete: "#2 ben"
    for row, named in zip(rows, _named(ctx, track_names(store, ids), rows, page), strict=True):
        row["named"] = named
    totals = summaries.severity_counts(findings)
    copies = [r["video_id"] != r["content_id"] for r in rows]
    analysed = videos[[not c for c in copies]] if len(videos) else videos
    status_counts = analysed["status"].fillna("unknown").value_counts().to_dict()
    html = ctx.env.get_template("night.html").render(
        title=f"Night of {date}",
        date=date,
        rows=rows,
        totals=totals,
        status_counts={k: int(v) for k, v in status_counts.items()},
        n_videos=len(analysed),
        n_copies=sum(copies),
        css=ctx.asset("report.css", page),
        index_link=ctx.link(ctx.out_dir / "index.html", page),
        generated=site.now(),
    )
    site.write_page(page, html)
    return page
