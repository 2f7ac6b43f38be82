"""Render the HTML reports from the store: per video, per night, per athlete, and an index.

Layout of a report folder (every page links by relative path, so the folder can be copied or
opened from a shared drive with no server and no internet)::

    <out>/index.html                  every night and athlete
    <out>/assets/                     plotly.js (written once, from the installed package), css, js
    <out>/<date>/index.html           the night: every video, ok or failed, findings by severity
    <out>/<date>/<video_id>.html      one video
    <out>/<date>/img/<video_id>-*.jpg its thumbnails
    <out>/athletes/<slug>.html        one athlete's trends across sessions

``<date>`` is the store's partition date of the video (the night it was processed). Pages are
built from the store alone and rebuilt whole each time; a link is written only to a page that
exists or is being written in the same build.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from markupsafe import Markup

from posecoach.keypoints import KeyPoints
from posecoach.store import Store
from reports import charts, series, summaries, thumbnails

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = ("report.css", "report.js")
MAX_KEYFRAMES_PER_TRACK = 24
MAX_UNSCORED_TRACKS = 4
_DATE_IN_PATH = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


# -- reading the store -----------------------------------------------------------------------------
def _read_video(store: Store, table: str, video_id: str) -> tuple[pd.DataFrame, str | None]:
    """One video's rows of a table (read from its own file, not a scan) and its partition date."""
    files = store.files(table, video_id)
    if not files:
        return pd.DataFrame(columns=store.dataset(table).schema.names), None
    frames = []
    for path in files:
        with store.fs.open(path, "rb") as fh:
            frames.append(pq.read_table(fh).to_pandas())
    match = _DATE_IN_PATH.search(files[-1])
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return df, match.group(1) if match else None


def _videos(store: Store) -> pd.DataFrame:
    videos = store.read("videos")
    return videos.sort_values(
        ["date", "recorded_at", "file_name"], kind="stable", na_position="last"
    )


def _recorded_signal(meta: dict[str, Any]) -> str | None:
    """The metric that drove repetition finding, where the writer recorded it with the reps."""
    for key in ("signal", "rep_signal", "signal_metric"):
        value = meta.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and value:
            first = next(iter(value.values()))
            if isinstance(first, str):
                return first
    return None


# -- small helpers ---------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays, lists
        return False


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _when(value: Any) -> str:
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return ""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def _num(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return f"{float(value):.{digits}f}{(' ' + unit) if unit else ''}"


def athlete_slug(athlete: str) -> str:
    """A file name for an athlete: readable part plus a short hash (distinct names never clash)."""
    readable = re.sub(r"[^a-z0-9]+", "-", athlete.lower()).strip("-")[:40] or "athlete"
    digest = hashlib.sha256(athlete.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


def resolve_video_path(
    path: str | None, roots: Sequence[str | os.PathLike[str]] = ()
) -> str | None:
    """Where the video file of a ``videos.path`` is on this machine, or None.

    Absolute paths are taken as they are; relative ones (the nightly flow stores them relative
    to the inbox) are tried under each of ``roots``, then under the working directory.
    """
    if not path:
        return None
    p = Path(path)
    candidates = [p] if p.is_absolute() else [Path(r) / p for r in roots] + [p]
    for c in candidates:
        if c.exists():
            return str(c)
    return None


def write_assets(out_dir: Path) -> None:
    """Copy plotly.js from the installed plotly package (once) and the page css/js."""
    import plotly
    from plotly.offline import get_plotlyjs

    assets = out_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    target = assets / "plotly.min.js"
    stamp = assets / "plotly.version"
    version = plotly.__version__
    if not target.exists() or not stamp.exists() or stamp.read_text().strip() != version:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(get_plotlyjs(), encoding="utf-8")
        os.replace(tmp, target)
        stamp.write_text(version + "\n")
    for name in ASSETS:
        data = (TEMPLATES / name).read_bytes()
        dest = assets / name
        if not dest.exists() or dest.read_bytes() != data:
            dest.write_bytes(data)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every page is HTML; names and messages are data, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["when"] = _when
    env.filters["humanize"] = summaries.humanize
    return env


def _write_page(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class _Context:
    """One build: where pages go, which pages exist or will, where videos are."""

    out_dir: Path
    video_roots: tuple[str, ...] = ()
    rules_dir: str | None = None
    planned: set[Path] = field(default_factory=set)
    env: jinja2.Environment = field(default_factory=_environment)

    def exists(self, page: Path) -> bool:
        return page.resolve() in self.planned or page.exists()

    def link(self, page: Path, from_page: Path) -> str | None:
        """Relative link from one page to another, or None where that page does not exist."""
        if not self.exists(page):
            return None
        return Path(os.path.relpath(page, from_page.parent)).as_posix()

    def asset(self, name: str, from_page: Path) -> str:
        return Path(os.path.relpath(self.out_dir / "assets" / name, from_page.parent)).as_posix()


def _context(
    out_dir: str | os.PathLike[str],
    video_roots: Iterable[str | os.PathLike[str]] = (),
    rules_dir: str | os.PathLike[str] | None = None,
) -> _Context:
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    write_assets(out)
    return _Context(
        out,
        tuple(os.fspath(r) for r in video_roots),
        os.fspath(rules_dir) if rules_dir is not None else None,
    )


def video_page_path(out_dir: Path, date: str, video_id: str) -> Path:
    return out_dir / date / f"{video_id}.html"


def night_page_path(out_dir: Path, date: str) -> Path:
    return out_dir / date / "index.html"


def athlete_page_path(out_dir: Path, athlete: str) -> Path:
    return out_dir / "athletes" / f"{athlete_slug(athlete)}.html"


# -- the video page --------------------------------------------------------------------------------
@dataclass
class Keyframe:
    image: str  # relative path
    caption: str
    severity: str
    message: str
    time: str


@dataclass
class TrackSection:
    track_id: int
    summary: summaries.TrackSummary
    thumbnail: str | None
    table: summaries.RepTable
    whole_track: list[dict[str, str]]
    cues: list[summaries.Cue]
    chart_id: str
    chart_json: Markup | None
    keyframes: list[Keyframe]
    frames_seen: int
    scored: bool


def _time_of(row: pd.Series) -> float | None:
    """The keypoints row's ``t_s`` (None for imported keypoints without times)."""
    t_s = row.get("t_s")
    return float(t_s) if t_s is not None and pd.notna(t_s) else None


def _nearest_row(track: pd.DataFrame, frame: int) -> pd.Series | None:
    if not len(track):
        return None
    frames = track["frame"].to_numpy()
    i = int(np.argmin(np.abs(frames - frame)))
    return track.iloc[i]


def _identity_row(track: pd.DataFrame) -> pd.Series | None:
    """The row that shows a person best: most confident keypoints, then the largest box."""
    if not len(track):
        return None
    scores = track[[c for c in track.columns if c.endswith("_score") and c != "bbox_score"]]
    quality = scores.fillna(0).mean(axis=1).to_numpy()
    area = ((track["bbox_x2"] - track["bbox_x1"]) * (track["bbox_y2"] - track["bbox_y1"])).fillna(0)
    key = np.round(quality, 2) * 1e9 + area.to_numpy()
    return track.iloc[int(np.argmax(key))]


def _tracks_to_show(
    keypoints: pd.DataFrame, reps: pd.DataFrame, findings: pd.DataFrame
) -> tuple[list[int], int]:
    scored = sorted({int(t) for t in reps["track_id"]} | {int(t) for t in findings["track_id"]})
    all_tracks = keypoints["track_id"].value_counts() if len(keypoints) else pd.Series(dtype=int)
    if scored:
        return scored, len(set(all_tracks.index) - set(scored))
    longest = [int(t) for t in all_tracks.index[:MAX_UNSCORED_TRACKS]]
    return sorted(longest), max(0, len(all_tracks) - len(longest))


def render_video(
    store: Store,
    video_id: str,
    out_dir: str | os.PathLike[str],
    *,
    video_roots: Iterable[str | os.PathLike[str]] = (),
    rules_dir: str | os.PathLike[str] | None = None,
    _ctx: _Context | None = None,
) -> Path:
    """Render one video's page (and its thumbnails); returns the page's path.

    ``rules_dir``: the rule files the video was scored with (default: the shipped library),
    for the rep signal, the rule file's own metrics and the exact threshold bands.

    Raises:
        KeyError: the store has no ``videos`` row for ``video_id``.
    """
    ctx = _ctx or _context(out_dir, video_roots, rules_dir)
    videos, date = _read_video(store, "videos", video_id)
    if not len(videos) or date is None:
        raise KeyError(f"{store.url}: no videos row for video_id {video_id!r}")
    # Nulls read back as NaN / NaT / NA; None everywhere, so that e.g. NaN is never "true".
    video = {k: (None if _missing(v) else v) for k, v in videos.iloc[0].to_dict().items()}
    keypoints, _ = _read_video(store, "keypoints", video_id)
    points = KeyPoints.from_frame(keypoints)  # what the thumbnails draw, row for row
    reps, _ = _read_video(store, "reps", video_id)
    findings, _ = _read_video(store, "findings", video_id)
    page = video_page_path(ctx.out_dir, date, video_id)
    img_dir = page.parent / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    for old in img_dir.glob(f"{video_id}-*.jpg"):
        old.unlink()

    size = thumbnails.frame_size(video, points) if len(points) else (0, 0)
    source_path = resolve_video_path(_text(video.get("path")), ctx.video_roots)
    meta = store.metadata("reps", video_id) or store.metadata("findings", video_id)
    rule_ctx = series.RuleContext.load(_text(video.get("exercise")), meta, ctx.rules_dir)
    fps = float(video["fps"]) if video.get("fps") else None
    # Findings of no track (track_id -1: "no rule file for this exercise") are notes on the video.
    notes = (
        [_text(m) for m in findings.loc[findings["track_id"] < 0, "message"]]
        if len(findings)
        else []
    )
    if _text(meta.get("note")) and _text(meta.get("note")) not in notes:
        notes.append(_text(meta["note"]))
    findings = findings[findings["track_id"] >= 0] if len(findings) else findings
    track_ids, others = _tracks_to_show(keypoints, reps, findings)

    # Every thumbnail needed, grouped by frame so the video is read once, in order.
    jobs: dict[int, list[tuple[str, pd.Series, frozenset[str], int, bool]]] = {}
    sections: list[TrackSection] = []
    for track_id in track_ids:
        track = (
            keypoints[keypoints["track_id"] == track_id].sort_values("frame")
            if len(keypoints)
            else keypoints
        )
        t_reps = reps[reps["track_id"] == track_id] if len(reps) else reps
        t_find = findings[findings["track_id"] == track_id] if len(findings) else findings
        summary = summaries.summarize_track(track_id, t_reps, t_find)
        scored = bool(len(t_reps) or len(t_find))
        if not scored:
            summary.line = "not scored"
        thumb = None
        ident = _identity_row(track)
        if ident is not None:
            name = f"{video_id}-t{track_id}-id.jpg"
            jobs.setdefault(int(ident["frame"]), []).append(
                (name, ident, frozenset(), track_id, True)
            )
            thumb = f"img/{name}"
        keyframes: list[Keyframe] = []
        flagged = (
            t_find[t_find["severity"].isin(summaries.FLAGGED) & t_find["worst_frame"].notna()]
            if len(t_find)
            else t_find
        )
        if len(flagged):
            flagged = flagged.assign(_rank=flagged["severity"].map(summaries.SEVERITY_RANK))
            flagged = flagged.sort_values(
                ["_rank", "rep_index"], ascending=[False, True], kind="stable"
            )
        for f in flagged.head(MAX_KEYFRAMES_PER_TRACK).itertuples(index=False):
            row = _nearest_row(track, int(f.worst_frame))
            if row is None:
                continue
            joints = rule_ctx.keypoints(f.metric or "")
            tag = hashlib.sha1(",".join(sorted(joints)).encode()).hexdigest()[:6]
            name = f"{video_id}-t{track_id}-f{int(row['frame'])}-{tag}.jpg"
            jobs.setdefault(int(row["frame"]), []).append((name, row, joints, track_id, True))
            rep_text = f"Rep {int(f.rep_index) + 1}" if f.rep_index >= 0 else "Whole set"
            keyframes.append(
                Keyframe(
                    image=f"img/{name}",
                    caption=f"{rep_text} · {summaries.humanize(f.check_id)} · "
                    f"{summaries.format_value(f.value, f.unit)}",
                    severity=str(f.severity),
                    message=_text(f.message),
                    time=f"{float(f.worst_s):.2f} s" if pd.notna(f.worst_s) else "",
                )
            )
        chart_json = None
        if len(track) and (len(t_reps) or len(t_find)):
            judged = t_find[t_find["severity"] != "not_assessable"] if len(t_find) else t_find
            metrics = (
                [m for m in dict.fromkeys(judged["metric"].dropna()) if m] if len(judged) else []
            )
            signal = rule_ctx.signal(track_id) or _recorded_signal(meta)
            if signal:
                metrics = [signal, *[m for m in metrics if m != signal]]
            values = rule_ctx.series(track, metrics, fps)
            if values["t_s"].isna().all():
                values["t_s"] = values["frame"].astype(float)
            bands = None
            if rule_ctx.rule is not None:
                bands = {m: [charts.Band(*b) for b in rule_ctx.bands(m) or []] for m in metrics}
            fig = charts.track_chart(values, t_find, t_reps, signal=signal, bands=bands)
            chart_json = Markup(charts.script_json(fig))  # noqa: S704 - escaped by script_json
        sections.append(
            TrackSection(
                track_id=track_id,
                summary=summary,
                thumbnail=thumb,
                table=summaries.rep_table(t_reps, t_find),
                whole_track=summaries.track_findings(t_find),
                cues=summaries.coaching_cues(t_find),
                chart_id=f"chart-t{track_id}",
                chart_json=chart_json,
                keyframes=keyframes,
                frames_seen=len(track),
                scored=scored,
            )
        )

    with thumbnails.FrameReader(
        source_path, size[0], size[1], int(video.get("rotation") or 0)
    ) as reader:
        for frame in sorted(jobs):
            image = reader.read(frame, _time_of(jobs[frame][0][1]))
            for name, row, joints, track_id, crop in jobs[frame]:
                person = points.take([keypoints.index.get_loc(row.name)])
                thumb = thumbnails.render_thumbnail(image, person, size, joints, track_id, crop)
                thumbnails.write_jpeg(img_dir / name, thumb)
        frames_from_video = reader.available

    rules = []
    if len(findings):
        for (rid, ver), _ in findings.groupby(["rule_id", "rule_version"], dropna=False):
            rules.append(f"{_text(rid)} v{_text(ver)}".strip())
    html = ctx.env.get_template("video.html").render(
        title=_text(video.get("file_name")) or video_id,
        video=video,
        video_id=video_id,
        date=date,
        summary=summaries.video_summary_line([s.summary for s in sections if s.scored]),
        notes=notes,
        counts=summaries.severity_counts(findings),
        sections=sections,
        others=others,
        rules=rules,
        frames_from_video=frames_from_video,
        has_charts=any(s.chart_json for s in sections),
        plotly_js=ctx.asset("plotly.min.js", page),
        css=ctx.asset("report.css", page),
        js=ctx.asset("report.js", page),
        night_link=ctx.link(night_page_path(ctx.out_dir, date), page),
        athlete_link=ctx.link(athlete_page_path(ctx.out_dir, _text(video.get("athlete"))), page)
        if _text(video.get("athlete"))
        else None,
        index_link=ctx.link(ctx.out_dir / "index.html", page),
        generated=_now(),
    )
    _write_page(page, html)
    return page


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- the night -------------------------------------------------------------------------------------
def _video_rows(
    ctx: _Context, videos: pd.DataFrame, reps: pd.DataFrame, findings: pd.DataFrame, from_page: Path
) -> list[dict[str, Any]]:
    rows = []
    for v in videos.itertuples(index=False):
        vr = reps[reps["video_id"] == v.video_id] if len(reps) else reps
        vf = findings[findings["video_id"] == v.video_id] if len(findings) else findings
        tracks = sorted({int(t) for t in vr["track_id"]} | {int(t) for t in vf["track_id"]})
        sums = [
            summaries.summarize_track(
                t, vr[vr["track_id"] == t], vf[vf["track_id"] == t] if len(vf) else vf
            )
            for t in tracks
        ]
        status = _text(v.status) or "unknown"
        rows.append(
            {
                "video_id": v.video_id,
                "file_name": _text(v.file_name) or v.video_id,
                "athlete": _text(v.athlete),
                "exercise": _text(v.exercise),
                "recorded_at": _when(v.recorded_at),
                "duration_s": _num(v.duration_s, 1, "s"),
                "status": status,
                "error": _text(v.error),
                "summary": summaries.video_summary_line(sums) if status == "ok" else "",
                "counts": summaries.severity_counts(vf),
                "n_reps": int((vr["kind"] == "rep").sum()) if len(vr) else 0,
                "link": ctx.link(video_page_path(ctx.out_dir, v.date, v.video_id), from_page),
                "athlete_link": ctx.link(
                    athlete_page_path(ctx.out_dir, _text(v.athlete)), from_page
                )
                if _text(v.athlete)
                else None,
            }
        )
    return rows


def render_night(
    store: Store,
    out_dir: str | os.PathLike[str],
    date: str,
    *,
    _ctx: _Context | None = None,
) -> Path:
    """Render the index of one night (partition ``date``, YYYY-MM-DD); returns its path."""
    ctx = _ctx or _context(out_dir)
    videos = _videos(store)
    videos = videos[videos["date"] == date]
    ids = list(videos["video_id"])
    reps = store.read("reps", ids)
    findings = store.read("findings", ids)
    page = night_page_path(ctx.out_dir, date)
    rows = _video_rows(ctx, videos, reps, findings, page)
    totals = summaries.severity_counts(findings)
    status_counts = videos["status"].fillna("unknown").value_counts().to_dict()
    html = ctx.env.get_template("night.html").render(
        title=f"Night of {date}",
        date=date,
        rows=rows,
        totals=totals,
        status_counts={k: int(v) for k, v in status_counts.items()},
        n_videos=len(rows),
        css=ctx.asset("report.css", page),
        index_link=ctx.link(ctx.out_dir / "index.html", page),
        generated=_now(),
    )
    _write_page(page, html)
    return page


# -- the athlete -----------------------------------------------------------------------------------
def _session_key(v: Any) -> str:
    if v.recorded_at is not None and not pd.isna(v.recorded_at):
        return pd.Timestamp(v.recorded_at).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")
    return str(v.date)


def render_athlete(
    store: Store,
    out_dir: str | os.PathLike[str],
    athlete: str,
    *,
    _ctx: _Context | None = None,
) -> Path:
    """Render one athlete's page: per exercise, each checked metric's trend across sessions."""
    ctx = _ctx or _context(out_dir)
    videos = _videos(store)
    videos = videos[(videos["athlete"] == athlete)]
    ids = list(videos["video_id"])
    reps = store.read("reps", ids)
    findings = store.read("findings", ids)
    page = athlete_page_path(ctx.out_dir, athlete)
    exercises = []
    for exercise, ev in videos.groupby(videos["exercise"].fillna(""), sort=True):
        ok = ev[ev["status"] == "ok"]
        rows = _video_rows(ctx, ev, reps, findings, page)
        ef = findings[findings["video_id"].isin(ok["video_id"])] if len(findings) else findings
        per_rep = ef[(ef["rep_index"] >= 0) & ef["value"].notna()] if len(ef) else ef
        metrics = (
            [m for m in dict.fromkeys(per_rep["metric"].dropna()) if m] if len(per_rep) else []
        )
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
            vf = per_rep[per_rep["video_id"] == v.video_id]
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
                        "label": f"{session[:16]} · {_text(v.file_name)}: median "
                        f"{summaries.format_value(vals.median(), _text(mf['unit'].iloc[0]))} "
                        f"over {mf['rep_index'].nunique()} reps",
                    }
                )
        chart_json = None
        if records:
            table = pd.DataFrame.from_records(records)
            bands = {m: charts.threshold_bands(per_rep[per_rep["metric"] == m]) for m in metrics}
            fig = charts.trend_chart(table, metrics, bands, labels)
            chart_json = Markup(charts.script_json(fig))  # noqa: S704 - escaped by script_json
        exercises.append(
            {
                "name": exercise or "(no exercise)",
                "rows": rows,
                "chart_id": f"trend-{len(exercises)}",
                "chart_json": chart_json,
                "metrics": [labels[m] for m in metrics],
                "sessions": len(ok),
            }
        )
    html = ctx.env.get_template("athlete.html").render(
        title=f"{athlete}: trends",
        athlete=athlete,
        exercises=exercises,
        has_charts=any(e["chart_json"] for e in exercises),
        plotly_js=ctx.asset("plotly.min.js", page),
        css=ctx.asset("report.css", page),
        js=ctx.asset("report.js", page),
        index_link=ctx.link(ctx.out_dir / "index.html", page),
        generated=_now(),
    )
    _write_page(page, html)
    return page


# -- the whole folder ------------------------------------------------------------------------------
def render_index(
    store: Store, out_dir: str | os.PathLike[str], *, _ctx: _Context | None = None
) -> Path:
    """Render ``<out>/index.html``: every night and every athlete in the store."""
    ctx = _ctx or _context(out_dir)
    page = ctx.out_dir / "index.html"
    videos = _videos(store)
    findings = store.read("findings")
    nights = []
    for date, nv in videos.groupby("date", sort=True):
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
    for name, av in videos[videos["athlete"].notna()].groupby("athlete", sort=True):
        athletes.append(
            {
                "name": name,
                "videos": len(av),
                "exercises": ", ".join(sorted({_text(e) for e in av["exercise"] if _text(e)})),
                "link": ctx.link(athlete_page_path(ctx.out_dir, str(name)), page),
            }
        )
    html = ctx.env.get_template("index.html").render(
        title="PoseCoach reports",
        index_link=None,
        nights=nights,
        athletes=athletes,
        css=ctx.asset("report.css", page),
        generated=_now(),
    )
    _write_page(page, html)
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
    looked up in (the inbox folders), for the thumbnails' frames. ``rules_dir``: the rule files
    the videos were scored with (default: the shipped library).

    Returns the night's index page, or the folder's index when ``date`` is None.
    """
    store = store if isinstance(store, Store) else Store(store)
    ctx = _context(out_dir, video_roots, rules_dir)
    videos = _videos(store)
    if date is not None:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise ValueError(f"date {date!r}: expected YYYY-MM-DD")
        videos = videos[videos["date"] == date]
    dates = sorted(set(videos["date"])) if len(videos) else ([date] if date else [])
    with_pages = videos[videos["status"] != "failed"]
    athletes = sorted({a for a in videos["athlete"].dropna() if a})
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
