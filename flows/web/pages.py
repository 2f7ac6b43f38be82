"""The HTML pages: login and logout, the home page, the upload form, the admin's user page.

Every form carries a hidden ``csrf_token`` and every form post is refused (403) without the
right one: the session's token once logged in, before that (the login form) a random value
also set in a SameSite=Strict cookie (double submit). Failed logins are throttled per user name
and client address, per address, per user name, and per known device (a browser that logged in
as that user before, by its ``posecoach_device`` cookie; `flows.web.security.LoginThrottle`),
answered 429 with Retry-After.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flows.inbox import VIEWS
from flows.web.api import queue_upload, receive_upload
from flows.web.context import (
    DEVICE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    current_session,
    is_https,
    login_redirect,
    safe_next,
    state_of,
)
from flows.web.security import same_token
from flows.web.status import reports_url, upload_video_id, video_status
from flows.web.uploads import UploadError
from flows.web.users import DEVICE_TTL_S, ROLES, SESSION_TTL_S, AccountError, Session
from posecoach.videos import read_video_rows
from reports.reading import athlete_names
from reports.site import athlete_page_path

router = APIRouter()
_NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = current_session(request)
    html = (
        state_of(request)
        .templates.get_template(template)
        .render(
            user=session.user if session else None,
            csrf_token=session.csrf_token if session else "",
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def forbidden(request: Request, reason: str) -> HTMLResponse:
    return page(request, "message.html", 403, title="Not allowed", message=reason)


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- login ------------------------------------------------------------------------------------------
def login_page(request: Request, status: int = 200, error: str = "", **headers: str) -> Response:
    nonce = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status,
        login_csrf=nonce,
        next=safe_next(request.query_params.get("next")),
        error=error,
    )
    response.headers.update(headers)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    state = state_of(request)
    form = await form_of(request)
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
        return forbidden(request, "The form was too old or not from this site. Log in again.")
    name = form.get("username", "").strip()
    device = state.accounts.known_device(request.cookies.get(DEVICE_COOKIE), name)
    who = (name, _client(request), device)
    wait = state.throttle.retry_after_s(*who)
    if wait:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed logins. Try again in about {minutes} minute(s)."
        return login_page(request, 429, error, **{"Retry-After": str(wait)})
    user = state.accounts.check_password(name, form.get("password", ""))
    if user is None:
        state.throttle.failed(*who)
        return login_page(request, 401, "Wrong user name or password.")
    state.throttle.succeeded(*who)
    session_id, _ = state.accounts.create_session(user)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    if device is None:  # from now on this browser is a known device of the user
        response.set_cookie(
            DEVICE_COOKIE,
            state.accounts.add_device(user),
            max_age=DEVICE_TTL_S,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
            path="/login",
        )
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def session_and_form_ok(session: Session | None, form: dict[str, str]) -> bool:
    return session is not None and same_token(session.csrf_token, form.get("csrf_token"))


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = current_session(request)
    form = await form_of(request)
    if not session_and_form_ok(session, form):
        return forbidden(request, "Log out from the site's own button.")
    state_of(request).accounts.end_session(request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- home -------------------------------------------------------------------------------------------
@router.get("/")
def home(request: Request) -> Response:
    if current_session(request) is None:
        return login_redirect(request)
    state = state_of(request)
    reports = state.config.reports
    nights = sorted(
        (
            d.name
            for d in reports.iterdir()
            if _NIGHT.match(d.name) and (d / "index.html").is_file()
        ),
        reverse=True,
    )
    athletes = []
    # the videos' athletes and those a coach named in group videos (track_athletes)
    for name in athlete_names(state.store, state.store.read("videos")):
        path = athlete_page_path(reports, name)
        if path.is_file():
            athletes.append((name, reports_url(reports, path)))
    recent = state.accounts.uploads(limit=20)  # before the rows (`video_status`)
    rows = {r.video_id: r for r in read_video_rows(state.store)}
    uploads = []
    for u in recent:
        own = upload_video_id(state.store, u, rows)
        uploads.append((u, video_status(state.store, state.accounts, reports, own, u, rows)))
    pending = any(_in_progress(s) for _, s in uploads)
    return page(
        request,
        "home.html",
        nights=[(n, f"/reports/{n}/index.html") for n in nights],
        athletes=sorted(set(athletes)),
        uploads=uploads,
        refresh=pending,  # the page reloads itself while something is being analysed or reported
    )


#: How long after its analysis a video's report may still be coming (the flow builds the
#: reports after the videos rows): the start page keeps reloading meanwhile.
REPORT_WAIT = dt.timedelta(minutes=10)


def _in_progress(status: dict[str, Any] | None, now: dt.datetime | None = None) -> bool:
    """Whether an upload's row on the start page will still change: queued, running, or
    analysed moments ago with its report not built yet (``ok`` comes before ``report_url``)."""
    if not status:
        return False
    if status["status"] in ("queued", "running"):
        return True
    if status["status"] not in ("ok", "empty") or status.get("report_url"):
        return False
    processed = status.get("processed_at")
    if not processed:
        return False
    at = dt.datetime.fromisoformat(str(processed))
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return (now or dt.datetime.now(dt.UTC)) - at < REPORT_WAIT


# -- upload -----------------------------------------------------------------------------------------
def upload_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
    state = state_of(request)
    return page(
        request,
        "upload.html",
        status,
        exercises=state.exercises,
        views=[v for v in VIEWS if v != "unknown"],
        max_mb=state.config.max_upload_bytes // 2**20,
        error=error,
    )


@router.get("/upload")
def upload_form(request: Request) -> Response:
    if current_session(request) is None:
        return login_redirect(request)
    return upload_page(request)


@router.post("/upload")
async def upload(request: Request) -> Response:
    session = current_session(request)
    if session is None:
        return forbidden(request, "Log in first.")
    try:
        received = await receive_upload(request)
        if not same_token(session.csrf_token, received.fields.get("csrf_token")):
            received.discard()
            return forbidden(request, "The form was too old or not from this site. Upload again.")
        await queue_upload(request, received, session.user.name)
    except UploadError as exc:
        return upload_page(request, exc.status, exc.message)
    return RedirectResponse("/", status_code=303)


# -- users (admins only) ----------------------------------------------------------------------------
def users_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
    return page(
        request,
        "users.html",
        status,
        users=state_of(request).accounts.users(),
        roles=ROLES,
        error=error,
    )


@router.get("/users")
def users(request: Request) -> Response:
    session = current_session(request)
    if session is None:
        return login_redirect(request)
    if not session.user.is_admin:
        return forbidden(request, "Only an admin may manage users.")
    return users_page(request)


async def admin_form(request: Request) -> tuple[Session | None, dict[str, str]]:
    """The admin's session when the post is an admin's, with the right CSRF token; its form."""
    session = current_session(request)
    form = await form_of(request)
    if session is None or not session.user.is_admin or not session_and_form_ok(session, form):
        return None, form
    return session, form


@router.post("/users")
async def add_user(request: Request) -> Response:
    session, form = await admin_form(request)
    if session is None:
        return forbidden(request, "Only an admin may manage users, from this site's form.")
    try:
        state_of(request).accounts.add_user(
            form.get("name", "").strip(), form.get("password", ""), form.get("role", "coach")
        )
    except AccountError as exc:
        return users_page(request, 400, str(exc))
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{name}/remove")
async def remove_user(request: Request, name: str) -> Response:
    session, _ = await admin_form(request)
    if session is None:
        return forbidden(request, "Only an admin may manage users, from this site's form.")
    if name == session.user.name:
        return users_page(request, 400, "You cannot remove yourself.")
    try:
        state_of(request).accounts.remove_user(name)
    except AccountError as exc:
        return users_page(request, 400, str(exc))
    return RedirectResponse("/users", status_code=303)
