"""The page of one video: per person, the summary, cues, the chart over time, the repetitions
table, the whole-set findings and a thumbnail of each flagged moment.

Everything comes from the store: the ``videos`` row, the ``keypoints`` (people, thumbnails),
``reps`` and ``findings`` (tables, cues, markers) and ``features`` (the chart's series, see
`reports.series`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from posecoach.annotations import filed_under, track_names, video_reviews
from posecoach.keypoints import KeyPoints
from posecoach.store import Store
from posecoach.videos import declared_view
from reports import charts, series, site, summaries, thumbnails, unjudged
from reports.reading import nameable_tracks, video_rows
from reports.site import text

MAX_KEYFRAMES_PER_TRACK = 24
MAX_UNSCORED_TRACKS = 4

# A thumbnail to render: (file name, keypoints row, joints to mark, track id, crop to person).
_Job = tuple[str, pd.Series, frozenset[str], int, bool]


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
    chart_note: str | None  # why there is no chart where one belongs
    keyframes: list[Keyframe]
    frames_seen: int
    scored: bool
    named: str | None = None  # the athlete a coach named this person (track_athletes)
    waiting: bool = False  # not named, in a video filed under several athletes
    named_link: str | None = None  # that athlete's trend page
    reviews: list[dict[str, str]] = field(default_factory=list)  # coaches' verdicts (reviews)


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


def _queue_identity(
    jobs: dict[int, list[_Job]], video_id: str, track_id: int, track: pd.DataFrame
) -> str | None:
    """Queue a track's identity thumbnail (``img/<video_id>-t<track>-id.jpg``, the picture the
    web app names a person by); its page-relative path, or None for a track with no rows."""
    ident = _identity_row(track)
    if ident is None:
        return None
    name = f"{video_id}-t{track_id}-id.jpg"
    jobs.setdefault(int(ident["frame"]), []).append((name, ident, frozenset(), track_id, True))
    return f"img/{name}"


def _tracks_to_show(
    keypoints: pd.DataFrame, reps: pd.DataFrame, findings: pd.DataFrame
) -> tuple[list[int], int]:
    scored = sorted({int(t) for t in reps["track_id"]} | {int(t) for t in findings["track_id"]})
    all_tracks = keypoints["track_id"].value_counts() if len(keypoints) else pd.Series(dtype=int)
    if scored:
        return scored, len(set(all_tracks.index) - set(scored))
    longest = [int(t) for t in all_tracks.index[:MAX_UNSCORED_TRACKS]]
    return sorted(longest), max(0, len(all_tracks) - len(longest))


def _reviews(reviews: pd.DataFrame) -> list[dict[str, str]]:
    """A track's reviews, by rep and check: what they judge, who, the verdict, the note."""
    out = []
    for r in reviews.sort_values(["rep_index", "check_id", "reviewer"], kind="stable").itertuples():
        rep = f"Rep {int(r.rep_index) + 1}" if r.rep_index >= 0 else "Whole set"
        finding = f"{rep} · {summaries.humanize(str(r.check_id))}"
        note = text(r.note)
        out.append(
            {
                "finding": finding,
                "reviewer": text(r.reviewer),
                "verdict": text(r.verdict),
                "note": note,
            }
        )
    return out


def _keyframes(
    video_id: str,
    track_id: int,
    track: pd.DataFrame,
    t_find: pd.DataFrame,
    stored: series.StoredMetrics,
    jobs: dict[int, list[_Job]],
) -> list[Keyframe]:
    """A keyframe per flagged finding (worst first), its thumbnail queued in ``jobs``."""
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
    keyframes: list[Keyframe] = []
    for f in flagged.head(MAX_KEYFRAMES_PER_TRACK).itertuples(index=False):
        row = _nearest_row(track, int(f.worst_frame))
        if row is None:
            continue
        joints = stored.keypoints(f.metric or "")
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
                message=text(f.message),
                time=f"{float(f.worst_s):.2f} s" if pd.notna(f.worst_s) else "",
            )
        )
    return keyframes


def _chart(
    stored: series.StoredMetrics, track_id: int, t_reps: pd.DataFrame, t_find: pd.DataFrame
) -> tuple[Markup | None, str | None]:
    """(chart json, None), or (None, why not) when the store has no features for the video."""
    if not stored.available:
        return None, series.UNAVAILABLE
    judged = t_find[t_find["severity"] != "not_assessable"] if len(t_find) else t_find
    metrics = [m for m in dict.fromkeys(judged["metric"].dropna()) if m] if len(judged) else []
    signal = stored.signal(track_id)
    if signal:
        metrics = [signal, *[m for m in metrics if m != signal]]
    values = stored.series(track_id, metrics)
    if values["t_s"].isna().all():
        values["t_s"] = values["frame"].astype(float)
    recorded = {m: stored.bands(m) for m in metrics}
    bands = {m: [charts.Band(*b) for b in v] for m, v in recorded.items() if v is not None}
    fig = charts.track_chart(values, t_find, t_reps, signal=signal, bands=bands or None)
    return Markup(charts.script_json(fig)), None  # noqa: S704 - escaped by script_json


def camera_view(video: dict[str, Any], reps: pd.DataFrame) -> str:
    """The video's camera view as the page states it: the view, whether it was declared or
    estimated, and, for one person judged in more than one view, which reps in which ("side
    (estimated from the poses); reps 1-3 front, reps 4-6 side")."""
    view = text(video.get("view")) or "unknown"
    out = view
    if view != "unknown":
        out += " (declared)" if declared_view(video) else " (estimated from the poses)"
    if "view" not in reps.columns or not len(reps) or reps["track_id"].nunique() != 1:
        return out
    runs: list[tuple[str, int, int]] = []  # (view, first rep, last rep), 1-based
    for index, rep_view in reps.sort_values("rep_index")[["rep_index", "view"]].itertuples(
        index=False
    ):
        if site.missing(rep_view):
            continue
        number = int(index) + 1
        if runs and runs[-1][0] == rep_view:
            runs[-1] = (runs[-1][0], runs[-1][1], number)
        else:
            runs.append((str(rep_view), number, number))
    if len({r[0] for r in runs}) > 1:
        out += "; " + ", ".join(
            f"rep {a} {v}" if a == b else f"reps {a}-{b} {v}" for v, a, b in runs
        )
    return out


def render_video(
    store: Store,
    video_id: str,
    out_dir: str | os.PathLike[str],
    *,
    video_roots: Iterable[str | os.PathLike[str]] = (),
    rules_dir: str | os.PathLike[str] | None = None,
    _ctx: site.Context | None = None,
) -> Path:
    """Render one video's page (and its thumbnails); returns the page's path.

    ``rules_dir`` is accepted for the callers that still pass it and not used: the chart's
    series, rep signal and bands come from the store (`reports.series`).

    Raises:
        KeyError: the store has no ``videos`` row for ``video_id``.
    """
    del rules_dir
    ctx = _ctx or site.context(out_dir, video_roots)
    videos, date = video_rows(store, "videos", video_id)
    if not len(videos) or date is None:
        raise KeyError(f"{store.url}: no videos row for video_id {video_id!r}")
    # Nulls read back as NaN / NaT / NA; None everywhere, so that e.g. NaN is never "true".
    video = {k: (None if site.missing(v) else v) for k, v in videos.iloc[0].to_dict().items()}
    keypoints, _ = video_rows(store, "keypoints", video_id)
    points = KeyPoints.from_frame(keypoints)  # what the thumbnails draw, row for row
    reps, _ = video_rows(store, "reps", video_id)
    findings, _ = video_rows(store, "findings", video_id)
    page = site.video_page_path(ctx.out_dir, date, video_id)
    img_dir = page.parent / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    for old in img_dir.glob(f"{video_id}-*.jpg"):
        old.unlink()

    size = thumbnails.frame_size(video, points) if len(points) else (0, 0)
    source_path = site.resolve_video_path(text(video.get("path")), ctx.video_roots)
    meta = store.metadata("reps", video_id) or store.metadata("findings", video_id)
    stored = series.StoredMetrics.read(store, video_id, meta)
    # Findings of no track (track_id -1: "no rule file for this exercise") are notes on the video.
    notes = (
        [text(m) for m in findings.loc[findings["track_id"] < 0, "message"]]
        if len(findings)
        else []
    )
    if text(meta.get("note")) and text(meta.get("note")) not in notes:
        notes.append(text(meta["note"]))
    findings = findings[findings["track_id"] >= 0] if len(findings) else findings
    track_ids, others = _tracks_to_show(keypoints, reps, findings)
    names = track_names(store, [video_id])
    reviews = video_reviews(store, video_id)
    if ctx.filed is None:
        ctx.filed = filed_under(store.read("videos"))
    under = ctx.filed.get(video_id, [])

    # Every thumbnail needed, grouped by frame so the video is read once, in order.
    jobs: dict[int, list[_Job]] = {}
    sections: list[TrackSection] = []
    for track_id in track_ids:
        track = (
            keypoints[keypoints["track_id"] == track_id].sort_values("frame")
            if len(keypoints)
            else keypoints
        )
        t_reps = reps[reps["track_id"] == track_id] if len(reps) else reps
        t_find = findings[findings["track_id"] == track_id] if len(findings) else findings
        summary = summaries.summarize_track(
            track_id, t_reps, t_find, unjudged.check_views(meta),
            unjudged.track_views(meta, track_id, text(video.get("view"))),
        )  # fmt: skip
        scored = bool(len(t_reps) or len(t_find))
        if not scored:
            summary.line = "not scored"
        thumb = _queue_identity(jobs, video_id, track_id, track)
        keyframes = _keyframes(video_id, track_id, track, t_find, stored, jobs)
        chart_json = chart_note = None
        if len(track) and scored:
            chart_json, chart_note = _chart(stored, track_id, t_reps, t_find)
        sections.append(
            TrackSection(
                track_id=track_id,
                summary=summary,
                thumbnail=thumb,
                table=summaries.rep_table(t_reps, t_find, text(meta.get("rule_id")) or None),
                whole_track=summaries.track_findings(t_find),
                cues=summaries.coaching_cues(t_find),
                chart_id=f"chart-t{track_id}",
                chart_json=chart_json,
                chart_note=chart_note,
                keyframes=keyframes,
                frames_seen=len(track),
                scored=scored,
                named=names.get((video_id, track_id)),
                waiting=len(under) > 1 and (video_id, track_id) not in names,
                reviews=_reviews(
                    reviews[reviews["track_id"] == track_id] if len(reviews) else reviews
                ),
                named_link=ctx.link(
                    site.athlete_page_path(ctx.out_dir, names[(video_id, track_id)]), page
                )
                if (video_id, track_id) in names
                else None,
            )
        )

    # The web app's video page offers to name the people not shown here too (bystanders
    # without reps), each by this thumbnail.
    frames_seen = keypoints["track_id"].value_counts() if len(keypoints) else pd.Series(dtype=int)
    scored_ids = {int(t) for t in reps["track_id"]} | {int(t) for t in findings["track_id"]}
    for track_id in nameable_tracks(frames_seen, scored_ids):
        if track_id not in track_ids:
            _queue_identity(jobs, video_id, track_id, keypoints[keypoints["track_id"] == track_id])

    with thumbnails.FrameReader(
        source_path, size[0], size[1], int(video.get("rotation") or 0)
    ) as reader:
        for frame in sorted(jobs):
            image = reader.read(frame, _time_of(jobs[frame][0][1]))
            for name, row, joints, track_id, crop in jobs[frame]:
                person = points.take([keypoints.index.get_loc(row.name)])
                thumb_image = thumbnails.render_thumbnail(
                    image, person, size, joints, track_id, crop
                )
                thumbnails.write_jpeg(img_dir / name, thumb_image)
        frames_from_video = reader.available

    rules = []
    if len(findings):
        for (rid, ver), _ in findings.groupby(["rule_id", "rule_version"], dropna=False):
            rules.append(f"{text(rid)} v{text(ver)}".strip())
    athlete = text(video.get("athlete"))
    html = ctx.env.get_template("video.html").render(
        title=site.video_label(
            video.get("file_name"), video.get("source"), video.get("recorded_at"), video_id
        ),
        video=video,
        video_id=video_id,
        date=date,
        summary=summaries.video_summary_line([s.summary for s in sections if s.scored]),
        notes=notes,
        counts=summaries.severity_counts(findings),
        camera=camera_view(video, reps),
        sections=sections,
        others=others,
        rules=rules,
        frames_from_video=frames_from_video,
        has_charts=any(s.chart_json for s in sections),
        plotly_js=ctx.asset("plotly.min.js", page),
        css=ctx.asset("report.css", page),
        js=ctx.asset("report.js", page),
        night_link=ctx.link(site.night_page_path(ctx.out_dir, date), page),
        athlete_link=ctx.link(site.athlete_page_path(ctx.out_dir, athlete), page)
        if athlete
        else None,
        filed_under=[(a, ctx.link(site.athlete_page_path(ctx.out_dir, a), page)) for a in under]
        if len(under) > 1
        else [],
        index_link=ctx.link(ctx.out_dir / "index.html", page),
        generated=site.now(),
    )
    site.write_page(page, html)
    return page
