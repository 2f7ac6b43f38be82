"""A video's status as the API and the pages show it: the ``videos`` row, or its upload's state.

The store's ``videos`` row is written last (the "done" marker), so until it exists the upload
record says where the video is: ``queued``, ``running`` (a worker holds its claim), or
``failed`` when the flow itself failed. An upload still pending wins over an older row of the same content (a failed video
uploaded again is analysed again only if the failure policy says so, and then shows as
queued meanwhile). ``report_url`` is set once the video's page exists in the reports folder.
An upload of content already analysed for another athlete (one recording of a class) has the id
of its own athlete's copy row (`upload_video_id`; ``same_content_as`` set) and answers that
row, with the analysed video's report: each athlete's upload keeps its own status, and the
analysed video's id keeps answering the analysed video's row, whoever uploads the content next.

``progress`` (0..1) and ``frames_done``: while ``running``, from the progress record the worker
writes into the store (`flows.progress`; 0 before its first window, while the models load),
with ``frames`` the count the video is expected to have; 1 and the row's ``frames`` once
``ok`` or ``empty``; null while ``queued`` and when ``failed``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flows.claims import claim_path
from flows.progress import Progress, read_progress
from flows.web.users import Accounts, Upload
from posecoach.schema import VIDEOS
from posecoach.store import Store
from posecoach.videos import VideoRow, copy_video_id, read_video_rows
from reports.site import video_page_path

REPORTS_URL = "/reports"


def report_url(reports_dir: Path, row: VideoRow) -> str | None:
    """The URL of a video's report page (``/reports/<date>/<video_id>.html``) once it exists."""
    if row.status == "failed":
        return None
    page = video_page_path(Path(reports_dir), row.date, row.video_id)
    return reports_url(reports_dir, page) if page.is_file() else None


def reports_url(reports_dir: Path, page: Path) -> str:
    """The URL under which the app serves a file of the reports folder."""
    return f"{REPORTS_URL}/" + quote(page.relative_to(reports_dir).as_posix())


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def upload_video_id(
    store: Store, upload: Upload, rows: Mapping[str, VideoRow] | None = None
) -> str:
    """The id of the ``videos`` row an upload is (or will be) filed as: its content's id, or
    where that content was analysed for another athlete, the id of this athlete's copy.
    ``rows``: the ``videos`` rows by id, read once for many uploads (else read here)."""
    if rows is None:
        rows = {r.video_id: r for r in read_video_rows(store, [upload.video_id])}
    row = rows.get(upload.video_id)
    if row is not None and row.athlete and row.athlete != upload.athlete:
        return copy_video_id(upload.video_id, upload.athlete)
    return upload.video_id


def _upload_of(accounts: Accounts, video_id: str, row: VideoRow | None) -> Upload | None:
    """The newest upload filed as ``video_id``: of a content id, one of its own athlete (any
    while no row says who that is); of a copy's id, one of the copy's content and athlete."""
    content = row.same_content_as if row is not None and row.same_content_as else video_id
    athlete = row.athlete if row is not None else None
    for upload in accounts.uploads(video_id=content, limit=100):
        if not athlete or upload.athlete == athlete:
            return upload
    if row is None:  # a copy's id before the night has filed the copy: its upload waits
        for upload in accounts.uploads(limit=500):
            if copy_video_id(upload.video_id, upload.athlete) == video_id:
                return upload
    return None


def video_status(
    store: Store,
    accounts: Accounts,
    reports_dir: Path,
    video_id: str,
    upload: Upload | None = None,
    rows: Mapping[str, VideoRow] | None = None,
) -> dict[str, Any] | None:
    """The ``videos`` row of ``video_id`` as JSON values, with ``status`` and ``report_url``;
    None when neither the store nor the uploads know the video. ``upload``: the upload the
    caller means (else the newest filed as ``video_id``, `_upload_of`); ``rows``: every
    ``videos`` row by id, read (after the upload) once for many videos."""

    def row_of(vid: str) -> VideoRow | None:
        if rows is not None:
            return rows.get(vid)
        found = read_video_rows(store, [vid])
        return found[0] if found else None

    # The upload first, then the row: the runner writes the row before it marks the upload
    # done, so an upload read as done always finds its row (read the other way round, a poll
    # between the two writes saw no row and a done upload: "recorded no result").
    if upload is None:
        upload = _upload_of(accounts, video_id, row_of(video_id))
    row = row_of(video_id)
    if upload is None and row is None:
        return None
    if row is not None and not _upload_is_newer(upload, row):
        analysed = row
        if row.same_content_as:  # a copy: the analysed video's report
            analysed = row_of(row.same_content_as) or row
        out = {k: _json_value(v) for k, v in row.to_dict().items()}
        out["report_url"] = report_url(reports_dir, analysed)
        finished = row.status in ("ok", "empty")
        out["progress"] = 1.0 if finished else None
        out["frames_done"] = out.get("frames") if finished else None
        return out
    assert upload is not None
    # The analysis (its claim, its progress) is of the content, a copy's too.
    analysing = store.fs.exists(claim_path(store, upload.video_id))
    progress = read_progress(store, upload.video_id) if analysing else None
    out = upload_status(upload, analysing=analysing, progress=progress)
    out["video_id"] = video_id
    return out


def upload_status(
    upload: Upload, *, analysing: bool = False, progress: Progress | None = None
) -> dict[str, Any]:
    """A not yet analysed upload as a ``videos`` row: its known columns, the rest null.

    ``running`` only while a worker holds the video's claim (`flows.claims`): in a batch of
    uploads the others are still ``queued``, waiting for their turn. ``progress``: the
    worker's record, if it wrote one yet.
    """
    out: dict[str, Any] = {name: None for name in VIDEOS.names}
    out.update(
        video_id=upload.video_id,
        path=upload.rel_path,
        file_name=upload.rel_path.rsplit("/", 1)[-1],
        athlete=upload.athlete,
        exercise=upload.exercise,
        status=(
            "failed"
            if upload.status in ("failed", "done")
            else "running"
            if upload.status == "running" and analysing
            else "queued"
        ),
        error=upload.error,
        date=None,
        report_url=None,
    )
    out.update(progress=None, frames_done=None)
    if out["status"] == "running":
        out["progress"] = round(progress.fraction, 4) if progress else 0.0
        if progress is not None:
            out.update(frames_done=progress.frames_done, frames=progress.frames_total)
    if upload.status == "done":  # the flow ran and wrote no row: say so rather than "ok"
        out["error"] = "the analysis recorded no result for this video"
    return out


def _upload_is_newer(upload: Upload | None, row: VideoRow) -> bool:
    if upload is None or upload.status not in ("queued", "running"):
        return False
    if row.processed_at is None:
        return True
    processed = row.processed_at
    if processed.tzinfo is None:
        processed = processed.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(upload.created_at) > processed
