"""The page of one athlete: per exercise, each checked metric's trend across sessions.

A video filed under several athletes (one recording of a class) in which nobody named this
athlete's person yet lists every person nobody named, says so on its row, and stays out of the
trend: a chart of everyone's knees is nobody's trend. Once the coach names the athlete's
person, only that person's reps are on the page, and in the trend.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from posecoach.store import Store
from reports import charts, site, summaries
from reports.night_page import video_rows
from reports.reading import athlete_tracks, content_of, scoring_metadata
from reports.site import text


def _session_key(v: Any) -> str:
    if v.recorded_at is not None and not pd.isna(v.recorded_at):
        return pd.Timestamp(v.recorded_at).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")
    return str(v.date)


def _exercise(
    ctx: site.Context,
    exercise: str,
    ev: pd.DataFrame,
    reps: pd.DataFrame,
    findings: pd.DataFrame,
    page: Path,
    index: int,
    metas: dict[str, dict[str, Any]],
    waiting: frozenset[tuple[str, int]],
    filed: dict[str, list[str]],
) -> dict[str, Any]:
    """One exercise's part of the page: its videos and the trend of each checked metric
    (without the ``waiting`` tracks: people not named yet in a video filed under several)."""
    ok = ev[ev["status"] == "ok"]
    rows = video_rows(ctx, ev, reps, findings, page, metas, filed)
    for row in rows:
        row["waiting"] = sorted(t for v, t in waiting if v == row["content_id"])
    ok_ids = {content_of(v) for v in ok.itertuples()}
    ef = findings[findings["video_id"].isin(ok_ids)] if len(findings) else findings
    if waiting and len(ef):
        keys = zip(ef["video_id"], ef["track_id"], strict=True)
        ef = ef[[(str(v), int(t)) not in waiting for v, t in keys]]
    per_rep = ef[(ef["rep_index"] >= 0) & ef["value"].notna()] if len(ef) else ef
    metrics = [m for m in dict.fromkeys(per_rep["metric"].dropna()) if m] if len(per_rep) else []
    # a row per metric, titled by the checks that judge it: "depth (knee angle)"
    labels = {
        m: ", ".join(
            summaries.humanize(c)
            for c in dict.fromkeys(per_rep.loc[per_rep["metric"] == m, "check_id"])
        )
        + f" ({summaries.humanize(m)})"
        for m in metrics
    }
    records = []
    for v in ok.itertuples(index=False):
        session = _session_key(v)
        vf = per_rep[per_rep["video_id"] == content_of(v)]
        for metric, mf in vf.groupby("metric", sort=False):
            vals = mf["value"].astype(float)
            records.append(
                {
                    "session": session,
                    "metric": metric,
                    "median": float(vals.median()),
                    "low": float(vals.min()),
                    "high": float(vals.max()),
                    "worst": summaries.worst_severity(list(mf["severity"])),
                    "label": f"{session[:16]} · "
                    f"{site.video_label(v.file_name, v.source, v.recorded_at, v.video_id)}: median "
                    f"{summaries.format_value(vals.median(), text(mf['unit'].iloc[0]))} "
                    f"over {mf['rep_index'].nunique()} reps",
                }
            )
    chart_json = None
    if records:
        table = pd.DataFrame.from_records(records)
        bands = {m: charts.threshold_bands(per_rep[per_rep["metric"] == m]) for m in metrics}
        fig = charts.trend_chart(table, metrics, bands, labels)
        chart_json = Markup(charts.script_json(fig))  # noqa: S704 - escaped by script_json
    return {
        "name": exercise or "(no exercise)",
        "rows": rows,
        "chart_id": f"trend-{index}",
        "chart_json": chart_json,
        "metrics": [labels[m] for m in metrics],
        "sessions": len(ok),
    }


def render_athlete(
    store: Store,
    out_dir: str | os.PathLike[str],
    athlete: str,
    *,
    _ctx: site.Context | None = None,
) -> Path:
    """Render one athlete's page: per exercise, each checked metric's trend across sessions.

    The athlete's reps and findings include the tracks a coach named for them in others'
    videos and leave out their own videos' tracks named for someone else (`athlete_rows`).
    """
    ctx = _ctx or site.context(out_dir)
    theirs = athlete_tracks(store, athlete)
    videos, reps, findings = theirs.videos, theirs.reps, theirs.findings
    page = site.athlete_page_path(ctx.out_dir, athlete)
    metas = scoring_metadata(store, videos)
    exercises = [
        _exercise(
            ctx, str(exercise), ev, reps, findings, page, i, metas, theirs.waiting, theirs.filed
        )
        for i, (exercise, ev) in enumerate(videos.groupby(videos["exercise"].fillna(""), sort=True))
    ]
    html = ctx.env.get_template("athlete.html").render(
        title=f"{athlete}: trends",
        athlete=athlete,
        exercises=exercises,
        has_charts=any(e["chart_json"] for e in exercises),
        plotly_js=ctx.asset("plotly.min.js", page),
        css=ctx.asset("report.css", page),
        js=ctx.asset("report.js", page),
        index_link=ctx.link(ctx.out_dir / "index.html", page),
        generated=site.now(),
    )
    site.write_page(page, html)
    return page
