"""The JSON API (``Authorization: Bearer TOKEN``) and the upload intake the upload page shares.

- ``POST /api/videos`` (multipart: ``file``, ``athlete``, ``exercise``, optional ``view``,
  ``recorded_at``): ``202 {"video_id", "status_url", "status": "queued", "path"}``.
- ``GET /api/videos/{video_id}``: the ``videos`` row as JSON with ``status`` (``queued``,
  ``running``, then ``ok``, ``empty`` or ``failed`` with its ``error``) and ``report_url``.

``401`` without a token or with a wrong or revoked one, ``413`` above the upload limit, and a
clear ``4xx`` with ``{"detail": why}`` for a bad upload (`flows.web.uploads.UploadError`).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from flows.web.context import state_of, token_user
from flows.web.status import upload_video_id, video_status
from flows.web.uploads import (
    PARTIAL_DIR,
    MultipartReceiver,
    Placed,
    Received,
    UploadError,
    place_upload,
)
from flows.web.users import Upload
from posecoach.videos import VideoRow, read_video_rows

router = APIRouter(prefix="/api")

# Room for the form's other fields and the multipart framing around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
_VIDEO_ID = re.compile(r"^[0-9a-f]{16}$")


def unauthorized() -> Response:
    return JSONResponse(
        {"detail": "a valid API token is needed: Authorization: Bearer TOKEN"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def receive_upload(request: Request) -> Received:
    """The request's multipart body with its file streamed into the inbox's partial folder."""
    state = state_of(request)
    limit = state.config.max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD_BYTES:
        raise UploadError(413, f"the upload is larger than the limit of {limit / 2**20:g} MB")
    receiver = MultipartReceiver(
        request.headers.get("content-type"), state.config.inbox / PARTIAL_DIR, limit
    )
    try:
        async for chunk in request.stream():
            receiver.feed(chunk)
        return receiver.finish()
    except BaseException:  # a refusal, a client that went away, a cancelled request
        receiver.abort()
        raise


async def queue_upload(request: Request, received: Received, user: str) -> tuple[Placed, Upload]:
    """Place a received upload in the inbox, record it queued and wake the analysis."""
    state = state_of(request)
    placed = await run_in_threadpool(place_upload, received, state.config.inbox, state.exercises)
    upload = state.accounts.add_upload(
        placed.video_id, placed.rel_path, placed.athlete, placed.exercise, user
    )
    state.runner.wake()
    return placed, upload


@router.post("/videos")
async def post_video(request: Request) -> Response:
    user = token_user(request)
    if user is None:
        return unauthorized()
    try:
        received = await receive_upload(request)
        placed, upload = await queue_upload(request, received, user.name)
    except UploadError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    # Content analysed for another athlete already: this athlete's copy, with its own id.
    store = state_of(request).store
    rows = await run_in_threadpool(read_video_rows, store, [upload.video_id])
    analysed = {r.video_id: r for r in rows}
    video_id = upload_video_id(store, upload, analysed)
    answer = {
        "video_id": video_id,
        "status_url": f"/api/videos/{video_id}",
        "status": "queued",
        "path": placed.rel_path,
    }
    if note := _analysed_otherwise(analysed.get(upload.video_id), upload):
        answer["note"] = note
    return JSONResponse(answer, status_code=202)


def _analysed_otherwise(row: VideoRow | None, upload: Upload) -> str | None:
    """Why the answer will be ``row``, an earlier analysis of this content under another
    exercise (the store keeps one analysis per content and athlete), or None."""
    if row is None or row.athlete != upload.athlete or row.exercise == upload.exercise:
        return None
    return (
        f"this file was analysed before as {row.exercise!r} (video {row.video_id}); that "
        f"analysis is the answer, not one as {upload.exercise!r}"
    )


@router.get("/videos/{video_id}")
def get_video(request: Request, video_id: str) -> Response:
    if token_user(request) is None:
        return unauthorized()
    state = state_of(request)
    status = None
    if _VIDEO_ID.match(video_id):
        status = video_status(state.store, state.accounts, state.config.reports, video_id)
    if status is None:
        return JSONResponse({"detail": f"no video {video_id!r}"}, status_code=404)
    return JSONResponse(status)
