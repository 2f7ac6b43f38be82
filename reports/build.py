"""Render the HTML reports from the store: per video, per night, per athlete, and an index.

The pages live in their own modules (`reports.video_page`, `reports.night_page`,
`reports.athlete_page`; the folder's layout, links and assets in `reports.site`); this one
renders the folder's index and builds a whole night or every night, or what one video changes
(`build_video_reports`). Pages are built from the
store alone and rebuilt whole each time; a link is written only to a page that exists or is
being written in the same build.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from posecoach.annotations import track_names
from posecoach.store import Store
from reports import site, summaries
from reports.athlete_page import render_athlete
from reports.night_page import render_night
from reports.reading import all_videos, athlete_names, athlete_videos
from reports.site import (
    athlete_page_path,
    athlete_slug,
    night_page_path,
    resolve_video_path,
    text,
    video_page_path,
)
from reports.video_page import render_video

__all__ = [
    "athlete_page_path",
    "athlete_slug",
    "build_reports",
    "build_video_reports",
    "night_page_path",
    "render_athlete",
    "render_index",
    "render_night",
    "render_video",
    "resolve_video_path",
    "video_page_path",
]

# One build's context, for callers that render pages one by one (bench/bench_report.py).
_context = site.context


def render_index(
    store: Store, out_dir: str | os.PathLike[str], *, _ctx: site.Context | None = None
) -> Path:
    """Render ``<out>/index.html``: every night and every athlete in the store."""
    ctx = _ctx or site.context(out_dir)
    page = ctx.out_dir / "index.html"
    videos = all_videos(store)
    findings = store.read("findings")
    nights = []
    for date, nv in videos[videos["same_content_as"].isna()].groupby("date", sort=True):
        nf = findings[findings["video_id"].isin(nv["video_id"])] if len(findings) else findings
        nights.append(
            {
                "date": date,
                "videos": len(nv),
                "failed": int((nv["status"] == "failed").sum()),
                "counts": summaries.severity_counts(nf),
                "link": ctx.link(night_page_path(ctx.out_dir, str(date)), page),
            }
        )
    nights.reverse()  # latest first
    athletes = []
    named = track_names(store)
    for name in athlete_names(store, videos):
        av = athlete_videos(videos, named, name)
        athletes.append(
            {
                "name": name,
                "videos": len(av),
                "exercises": ", ".join(sorted({text(e) for e in av["exercise"] if text(e)})),
                "link": ctx.link(athlete_page_path(ctx.out_dir, str(name)), page),
            }
        )
    html = ctx.env.get_template("index.html").render(
        title="PoseCoach reports",
        index_link=None,
        nights=nights,
        athletes=athletes,
        css=ctx.asset("report.css", page),
        generated=site.now(),
    )
    site.write_page(page, html)
    return page


def build_reports(
    store: Store | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    date: str | None = None,
    *,
    video_roots: Iterable[str | os.PathLike[str]] = (),
    rules_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Build the reports of one night (``date``) or of every night (None).

    Renders each video of the night(s) that has keypoints (ok or empty; failed ones appear on
    the night's index with their reason), the night index(es), the pages of the athletes seen,
    and the folder's index. ``video_roots`` are folders relative ``videos.path`` values are
    looked up in (the inbox folders), for the thumbnails' frames. ``rules_dir`` is accepted
    for ``posecoach report --rules`` and not used: what a chart needs of the rule files,
    scoring stored (`reports.series`).

    Returns the night's index page, or the folder's index when ``date`` is None.
    """
    del rules_dir
    store = store if isinstance(store, Store) else Store(store)
    ctx = site.context(out_dir, video_roots)
    videos = all_videos(store)
    if date is not None:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise ValueError(f"date {date!r}: expected YYYY-MM-DD")
        videos = videos[videos["date"] == date]
    dates = sorted(set(videos["date"])) if len(videos) else ([date] if date else [])
    # a copy (a file filed under a second athlete) has no page of its own: its analysed
    # video's is its page
    with_pages = videos[(videos["status"] != "failed") & videos["same_content_as"].isna()]
    athletes = athlete_names(store, videos)
    ctx.planned = {
        *(
            video_page_path(ctx.out_dir, v.date, v.video_id).resolve()
            for v in with_pages.itertuples()
        ),
        *(night_page_path(ctx.out_dir, d).resolve() for d in dates),
        *(athlete_page_path(ctx.out_dir, a).resolve() for a in athletes),
        (ctx.out_dir / "index.html").resolve(),
    }
    for v in with_pages.itertuples():
        render_video(store, v.video_id, ctx.out_dir, _ctx=ctx)
    for d in dates:
        render_night(store, ctx.out_dir, d, _ctx=ctx)
    for a in athletes:
        render_athlete(store, ctx.out_dir, a, _ctx=ctx)
    index = render_index(store, ctx.out_dir, _ctx=ctx)
    return night_page_path(ctx.out_dir, date) if date else index


def build_video_reports(
    store: Store,
    out_dir: str | os.PathLike[str],
    video_id: str,
    date: str,
    athletes: Iterable[str],
    *,
    video_roots: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Rebuild what one video changes, and only that (a night may hold many videos): the
    video's page, its night, the pages of ``athletes`` (those concerned), the index. Returns
    the video's page (not written for a failed video)."""
    ctx = site.context(out_dir, video_roots)
    concerned = sorted(set(athletes))
    page = video_page_path(ctx.out_dir, date, video_id)
    ctx.planned = {
        page.resolve(),
        night_page_path(ctx.out_dir, date).resolve(),
        *(athlete_page_path(ctx.out_dir, a).resolve() for a in concerned),
    }
    render_video(store, video_id, ctx.out_dir, _ctx=ctx)
    for athlete in concerned:
        render_athlete(store, ctx.out_dir, athlete, _ctx=ctx)
    render_night(store, ctx.out_dir, date, _ctx=ctx)
    render_index(store, ctx.out_dir, _ctx=ctx)
    return page
