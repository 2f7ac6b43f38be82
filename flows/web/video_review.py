"""A video's page in the web app: who its tracked people are, and the coach's review of every
finding.

``GET /videos`` lists the analysed videos; ``GET /videos/{video_id}`` shows each track (its
thumbnail from the video's report, the athlete it belongs to, a form to name it; bystanders
without reps as well, the longest `reports.reading.MAX_BYSTANDERS` of them) and each
finding with agree / disagree buttons and a note, and the reviews given so far. The two form
posts (``/videos/{id}/reviews``, ``/videos/{id}/tracks/{track}``) need a session and its CSRF
token like every form of the app; they write the store's ``reviews`` and ``track_athletes``
tables (`posecoach.annotations`). A review renders the video's report page again (it lists
the reviews); naming a track rebuilds the reports it changes: the video's page and night, the
athletes' pages concerned, the index.

A file filed under several athletes (one recording of a class, `flows.copies`) has one page,
its analysed video's (a copy's id redirects there), which asks, for each athlete it is filed
under, which person is them (``POST /videos/{id}/athletes``: ``athlete``, ``track_id``, empty
for none yet; `posecoach.annotations.name_athlete`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from flows.web.context import WebState, current_session, login_redirect, state_of
from flows.web.pages import forbidden, form_of, page, session_and_form_ok
from flows.web.status import reports_url
from flows.web.uploads import UploadError, folder_label
from posecoach.annotations import (
    REVIEW_KEY,
    Review,
    TrackName,
    filed_under,
    name_athlete,
    name_track,
    record_review,
    track_names,
    track_owners,
    video_reviews,
)
from posecoach.schema import VERDICTS
from posecoach.store import StoreError
from reports import summaries
from reports.reading import all_videos, content_of, nameable_tracks, track_frames, video_rows
from reports.site import missing, text, video_label, video_page_path

log = logging.getLogger(__name__)
router = APIRouter()
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _thumbnail(state: WebState, date: str, video_id: str, track_id: int) -> str | None:
    """The URL of a track's identity thumbnail, written with the video's report (if built)."""
    reports = state.config.reports
    image = (
        video_page_path(reports, date, video_id).parent / "img" / f"{video_id}-t{track_id}-id.jpg"
    )
    return reports_url(reports, image) if image.is_file() else None


def _reviews_by_finding(reviews: pd.DataFrame) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in reviews.itertuples(index=False):
        key = tuple(getattr(r, k) for k in REVIEW_KEY[1:])
        out.setdefault((int(key[0]), int(key[1]), *key[2:]), []).append(
            {"reviewer": r.reviewer, "verdict": r.verdict, "note": text(r.note)}
        )
    return out


def video_context(state: WebState, video_id: str) -> dict[str, Any] | None:
    """What the video page shows, or None when the store has no such video."""
    videos, date = video_rows(state.store, "videos", video_id)
    if not len(videos) or date is None:
        return None
    video = videos.iloc[0]
    reps, _ = video_rows(state.store, "reps", video_id)
    findings, _ = video_rows(state.store, "findings", video_id)
    findings = findings[findings["track_id"] >= 0] if len(findings) else findings
    names = track_names(state.store, [video_id])
    reviews = _reviews_by_finding(video_reviews(state.store, video_id))
    scored = {int(t) for t in reps["track_id"]} | {int(t) for t in findings["track_id"]}
    frames_seen = track_frames(state.store, video_id)
    track_ids = nameable_tracks(frames_seen, scored)  # bystanders too: they may be named
    under = filed_under(state.store.read("videos")).get(video_id, [])
    named = {t: a for (v, t), a in names.items() if v == video_id}
    owners = track_owners(under, named, track_ids)
    tracks = []
    for track_id in track_ids:
        t_find = findings[findings["track_id"] == track_id].sort_values(
            ["rep_index", "check_id"], kind="stable"
        )
        rows = []
        for f in t_find.itertuples(index=False):
            key = (track_id, int(f.rep_index), f.check_id, f.rule_id, f.rule_version)
            rows.append(
                {
                    "id": f"f-{track_id}-{int(f.rep_index)}-{f.check_id}",
                    "track_id": track_id,
                    "rep_index": int(f.rep_index),
                    "rep": f"Rep {int(f.rep_index) + 1}" if f.rep_index >= 0 else "Whole set",
                    "check_id": f.check_id,
                    "check": summaries.humanize(str(f.check_id)),
                    "rule_id": f.rule_id,
                    "rule_version": f.rule_version,
                    "severity": f.severity,
                    "value": summaries.format_value(f.value, f.unit),
                    "message": text(f.message),
                    "reviews": reviews.get(key, []),
                }
            )
        tracks.append(
            {
                "track_id": track_id,
                # a person nobody named in a video filed under several athletes: not yet said
                "athlete": named.get(track_id)
                or (owners[track_id][0] if len(under) < 2 and owners[track_id] else ""),
                "named": track_id in named,
                "thumbnail": _thumbnail(state, date, video_id, track_id),
                "n_reps": summaries.counted_reps(reps[reps["track_id"] == track_id]),
                "scored": track_id in scored,
                "frames_seen": int(frames_seen.get(track_id, 0)),
                "findings": rows,
            }
        )
    page_file = video_page_path(state.config.reports, date, video_id)
    return {
        "video_id": video_id,
        "file_name": video_label(
            video["file_name"], video.get("source"), video.get("recorded_at"), video_id
        ),
        "athlete": text(video["athlete"]),
        "exercise": text(video["exercise"]),
        "video_status": text(video["status"]),
        # reviewing findings of untrained models would only mislead the analyst's agreement
        "random_weights": not missing(video.get("random_weights"))
        and bool(video.get("random_weights")),
        "report_url": reports_url(state.config.reports, page_file) if page_file.is_file() else None,
        "tracks": tracks,
        # who the video is filed under, each with the person named for them (None: not yet)
        "filed_under": [
            {"athlete": a, "track_id": next((t for t, n in named.items() if n == a), None)}
            for a in under
        ]
        if len(under) > 1
        else [],
        "verdicts": VERDICTS,
        "date": date,
    }


@router.get("/videos")
def videos(request: Request) -> Response:
    if current_session(request) is None:
        return login_redirect(request)
    rows = all_videos(state_of(request).store)
    listed = [
        {
            "video_id": v.video_id,
            "date": v.date,
            "file_name": video_label(v.file_name, v.source, v.recorded_at, v.video_id),
            "athlete": text(v.athlete),
            "exercise": text(v.exercise),
            "status": text(v.status),
        }
        for v in rows.iloc[::-1].itertuples(index=False)
    ]
    return page(request, "videos.html", videos=listed)


@router.get("/videos/{video_id}")
def video(request: Request, video_id: str) -> Response:
    if current_session(request) is None:
        return login_redirect(request)
    state = state_of(request)
    context = None
    if _VIDEO_ID.match(video_id):
        rows, _ = video_rows(state.store, "videos", video_id)
        if len(rows) and content_of(rows.iloc[0]) != video_id:  # a copy: its analysed video's
            return RedirectResponse(f"/videos/{content_of(rows.iloc[0])}", status_code=303)
        context = video_context(state, video_id)
    if context is None:
        return page(request, "message.html", 404, title="Not found", message="No such video.")
    return page(request, "video.html", error="", **context)


def _video_error(request: Request, video_id: str, message: str) -> Response:
    context = video_context(state_of(request), video_id)
    if context is None:
        return page(request, "message.html", 404, title="Not found", message="No such video.")
    return page(request, "video.html", 400, error=message, **context)


@router.post("/videos/{video_id}/reviews")
async def review(request: Request, video_id: str) -> Response:
    session = current_session(request)
    form = await form_of(request)
    if session is None or not session_and_form_ok(session, form):
        return forbidden(request, "Review from this site's own form, logged in.")
    state = state_of(request)
    if not _VIDEO_ID.match(video_id):
        return page(request, "message.html", 404, title="Not found", message="No such video.")
    track_id, rep_index = _int(form.get("track_id")), _int(form.get("rep_index"))
    findings, _ = video_rows(state.store, "findings", video_id)
    check_id, rule_id = form.get("check_id", ""), form.get("rule_id", "")
    rule_version = form.get("rule_version", "")
    key: dict[str, object] = {
        "track_id": track_id,
        "rep_index": rep_index,
        "check_id": check_id,
        "rule_id": rule_id,
        "rule_version": rule_version,
    }
    match = pd.Series(len(findings) > 0, index=findings.index)
    for column, value in key.items():
        match &= findings[column] == value
    if track_id is None or rep_index is None or not match.any():
        return _video_error(request, video_id, "That finding is not in this video.")
    try:
        record_review(
            state.store,
            Review(
                video_id=video_id,
                track_id=track_id,
                rep_index=rep_index,
                check_id=check_id,
                rule_id=rule_id,
                rule_version=rule_version,
                reviewer=session.user.name,
                verdict=form.get("verdict", ""),
                note=form.get("note", "").strip(),
            ),
        )
    except (ValueError, StoreError) as exc:
        return _video_error(request, video_id, str(exc))
    refresh_video_report(state, video_id)
    anchor = f"f-{track_id}-{rep_index}-{check_id}"
    return RedirectResponse(f"/videos/{video_id}#{anchor}", status_code=303)


@router.post("/videos/{video_id}/tracks/{track_id}")
async def name_person(request: Request, video_id: str, track_id: int) -> Response:
    session = current_session(request)
    form = await form_of(request)
    if session is None or not session_and_form_ok(session, form):
        return forbidden(request, "Name people from this site's own form, logged in.")
    state = state_of(request)
    context = video_context(state, video_id) if _VIDEO_ID.match(video_id) else None
    if context is None:
        return page(request, "message.html", 404, title="Not found", message="No such video.")
    track = next((t for t in context["tracks"] if t["track_id"] == track_id), None)
    if track is None:
        return _video_error(request, video_id, f"Track {track_id} is not in this video.")
    given = form.get("athlete", "").strip()
    try:
        athlete = folder_label("athlete", given) if given else ""
    except UploadError as exc:
        return _video_error(request, video_id, exc.message)
    filed = [f["athlete"] for f in context["filed_under"]]
    if athlete == context["athlete"] and not filed:
        athlete = ""  # the video's own athlete, its only one: no naming needed
    name_track(state.store, TrackName(video_id, track_id, athlete, session.user.name))
    concerned = {a for a in (track["athlete"], athlete or context["athlete"], *filed) if a}
    rebuild_reports(state, video_id, context["date"], concerned)
    return RedirectResponse(f"/videos/{video_id}", status_code=303)


@router.post("/videos/{video_id}/athletes")
async def name_filed_athlete(request: Request, video_id: str) -> Response:
    """Which person of a video filed under several athletes is one of them (none: not yet)."""
    session = current_session(request)
    form = await form_of(request)
    if session is None or not session_and_form_ok(session, form):
        return forbidden(request, "Name people from this site's own form, logged in.")
    state = state_of(request)
    context = video_context(state, video_id) if _VIDEO_ID.match(video_id) else None
    if context is None:
        return page(request, "message.html", 404, title="Not found", message="No such video.")
    athlete = form.get("athlete", "")
    filed = [f["athlete"] for f in context["filed_under"]]
    if athlete not in filed:
        return _video_error(request, video_id, "This video is not filed under that athlete.")
    given = form.get("track_id", "")
    track_id = _int(given)
    if given and track_id not in {t["track_id"] for t in context["tracks"]}:
        return _video_error(request, video_id, f"Person {given} is not in this video.")
    before = {t["athlete"] for t in context["tracks"] if t["track_id"] == track_id}
    name_athlete(state.store, video_id, athlete, track_id, session.user.name)
    concerned = {a for a in (*filed, *before) if a}
    rebuild_reports(state, video_id, context["date"], concerned)
    return RedirectResponse(f"/videos/{video_id}#filed-under", status_code=303)


def refresh_video_report(state: WebState, video_id: str) -> None:
    """Render a video's report page again (it lists the reviews), where one was built."""
    from reports.build import render_video

    try:
        render_video(state.store, video_id, state.config.reports, video_roots=[state.config.inbox])
    except Exception:  # the review is stored either way; the next build shows it
        log.exception("rebuilding the report of video %s failed", video_id)


def rebuild_reports(state: WebState, video_id: str, date: str, athletes: set[str]) -> None:
    """Rebuild what naming a track changes, and only that (`reports.build.build_video_reports`:
    the video's page, its night, the pages of the athletes concerned, the track's before and
    after, the index)."""
    from reports.build import build_video_reports

    try:
        build_video_reports(state.store, state.config.reports, video_id, date, athletes,
                            video_roots=[state.config.inbox])  # fmt: skip
    except Exception:  # the naming is stored either way; the next build shows it
        log.exception("rebuilding the reports of video %s failed", video_id)
