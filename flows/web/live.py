"""``GET /api/live?athlete=A&exercise=E[&view=V]``: live coaching over a WebSocket.

The athlete, exercise and view are checked as an upload's are (`live_fields`). Authorised by
the browser's session cookie (from a page of this site: `same_origin`) or
``Authorization: Bearer TOKEN``; otherwise the connection is closed before it is accepted
(code 1008). An authorised client with wrong fields (or a server without live coaching) is
accepted, told why in one error message, and closed (1008). Each binary message is one JPEG frame; each processed frame gets one JSON reply (`LiveRecorder.process`,
with ``latency_ms`` from arrival to reply and ``dropped``: the frames dropped since the last
reply). A receiving task keeps at most `LiveSetup.queue_frames` frames waiting, dropping the
oldest for a newer one, so a client that sends faster than the estimator runs is never queued
without bound. ``{"type": "end"}`` or a closed connection ends the session: it is stored
(`store_live`), its reports are built (`report_live`) and, if the client is still there, it
is answered ``{"type": "saved", "video_id", "video_url", "report_url"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from flows.live_store import report_live as build_live_reports
from flows.web.context import SESSION_COOKIE, WebState
from flows.web.live_session import LiveRecorder, is_jpeg, live_video_dir, store_live
from flows.web.status import reports_url
from flows.web.uploads import UploadError, folder_label
from rules.loader import load_library

router = APIRouter(prefix="/api")
log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
VIEWS = ("side", "front", "oblique")


def same_origin(websocket: WebSocket) -> bool:
    """Whether a browser's handshake comes from a page of this site (no ``Origin``: no browser).

    A browser sends the session cookie with a WebSocket handshake whatever page opened it (the
    same-origin policy does not cover WebSockets), so a cookie counts only from this site.
    """
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


def live_fields(
    athlete: str, exercise: str, view: str, exercises: Collection[str]
) -> tuple[str, str, str | None]:
    """A session's athlete, exercise and declared view (None), checked as an upload's are;
    `UploadError` says why not."""
    athlete = folder_label("athlete", athlete)
    exercise = folder_label("exercise", exercise)
    if exercise not in exercises:
        known = ", ".join(sorted(exercises))
        raise UploadError(422, f"unknown exercise {exercise!r}; known: {known}")
    view = view.strip()
    if view and view not in VIEWS:
        raise UploadError(422, f"view {view!r}: expected one of {', '.join(VIEWS)}")
    return athlete, exercise, view or None


def authorised(websocket: WebSocket, state: WebState) -> bool:
    session_id = websocket.cookies.get(SESSION_COOKIE)
    if session_id and same_origin(websocket) and state.accounts.session(session_id) is not None:
        return True
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return state.accounts.token_user(token.strip()) is not None


class _Link:
    """The session's side of the socket: sends serialised, and none once the client has gone."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.lock = asyncio.Lock()
        self.gone = False

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        async with self.lock:
            try:
                await self.websocket.send_text(json.dumps(message))
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.gone = True


@router.websocket("/live")
async def live(websocket: WebSocket, athlete: str = "", exercise: str = "", view: str = "") -> None:
    state: WebState = websocket.app.state.web
    setup = state.live
    if not authorised(websocket, state):
        await websocket.close(code=POLICY_VIOLATION, reason="log in or send a Bearer token")
        return
    rule = pose = None
    try:
        athlete, exercise, declared = live_fields(athlete, exercise, view, state.exercises)
        rule = load_library(state.config.rules_dir).find(exercise)
        pose = setup.session_pose() if rule is not None else None
        problem = "no rule file" if rule is None else "no pose estimator for live sessions"
    except UploadError as exc:
        problem = exc.message
    await websocket.accept()
    if rule is None or pose is None:
        # Accepted to say why: closed before the accept, a client only sees HTTP 403 (uvicorn
        # drops the reason). An authorised client may learn what is wrong with its fields.
        await websocket.send_text(json.dumps({"type": "error", "error": problem}))
        await websocket.close(code=POLICY_VIOLATION, reason=problem[:120])
        return
    link = _Link(websocket)
    recorder = LiveRecorder(rule, declared, pose, live_video_dir(state.config.store))
    started = dt.datetime.now(dt.UTC)
    waiting: deque[tuple[int, float, float, bytes]] = deque()
    dropped: list[int] = []
    wake = asyncio.Event()
    ended = False  # by the client, connected or not
    t0: float | None = None

    async def receive() -> None:
        nonlocal ended, t0
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    link.gone = True
                    return
                data, text = message.get("bytes"), message.get("text")
                if data is not None:
                    if not is_jpeg(data):
                        await link.send({"type": "error", "error": "not a JPEG frame"})
                        continue
                    now = setup.clock()
                    t0 = now if t0 is None else t0
                    frame = recorder.received(data, now - t0)
                    if len(waiting) >= setup.queue_frames:
                        dropped.append(waiting.popleft()[0])
                    waiting.append((frame, now - t0, time.perf_counter(), data))
                    wake.set()
                elif _is_end(text):
                    return
                else:
                    await link.send(
                        {"type": "error", "error": 'expected JPEG frames or {"type": "end"}'}
                    )
        finally:
            ended = True
            wake.set()

    async def answer() -> None:
        while True:
            wake.clear()
            if waiting:
                frame, t_s, arrived, data = waiting.popleft()
                reply = await run_in_threadpool(recorder.process, frame, t_s, data)
                if isinstance(reply, str):
                    await link.send({"type": "error", "frame": frame, "error": reply})
                    continue
                latency = (time.perf_counter() - arrived) * 1000.0
                await link.send({**reply, "latency_ms": round(latency, 1), "dropped": dropped[:]})
                dropped.clear()
            elif ended:
                return
            else:
                await wake.wait()

    receiver = asyncio.create_task(receive())
    try:
        await answer()
    finally:
        # A server (or test client) that cancels the handler once the client has gone must not
        # cut off the storing of what was received.
        with anyio.CancelScope(shield=True):
            if not receiver.done():
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiver
            saved = await run_in_threadpool(save_session, state, recorder, athlete, exercise,
                                            declared, started)  # fmt: skip
            await link.send({**saved, "type": "saved", "dropped": dropped})
            if not link.gone:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await websocket.close()


def save_session(state: WebState, recorder: LiveRecorder, athlete: str, exercise: str,
                 declared: str | None, started: dt.datetime) -> dict[str, Any]:  # fmt: skip
    """Store a session and build its reports: the ``saved`` message's ids and URLs. A session
    without a processed frame is not stored (there is no video of it): ids null, and why."""
    if not recorder.processed:
        recorder.close()
        why = "no frame was processed: nothing stored"
        return {"video_id": None, "video_url": None, "report_url": None, "error": why}
    video_id = store_live(state.store, recorder, athlete=athlete, exercise=exercise,
                          view=declared, started=started, rules_dir=state.config.rules_dir,
                          models=state.live.models)  # fmt: skip
    report = report_live(state, video_id)
    return {"video_id": video_id, "video_url": f"/videos/{video_id}", "report_url": report}


def report_live(state: WebState, video_id: str) -> str | None:
    """Build the reports a stored session adds to (`flows.live_store.report_live`); the URL of
    its page, None if none was built (a failed build is logged: the session is stored)."""
    try:
        page = build_live_reports(
            state.store, state.config.reports, video_id, video_roots=[state.config.inbox]
        )
    except Exception:
        log.exception("building the reports of live session %s failed", video_id)
        return None
    return reports_url(state.config.reports, page) if page is not None else None


def _is_end(text: str | None) -> bool:
    try:
        message = json.loads(text or "")
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "end"
