"""What the request handlers share: the app's configuration and state, and who is asking.

A browser session is the cookie ``posecoach_session`` (HttpOnly, SameSite=Lax, Secure when the
request came over HTTPS, as a reverse proxy says with ``X-Forwarded-Proto``); an API client
sends ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from flows.web.live_session import LiveSetup
from flows.web.runner import AnalysisRunner
from flows.web.security import LoginThrottle
from flows.web.users import Accounts, Session, User
from posecoach.store import Store

SESSION_COOKIE = "posecoach_session"
LOGIN_CSRF_COOKIE = "posecoach_login_csrf"
#: A browser that logged in before (`flows.web.security.LoginThrottle`'s known device).
DEVICE_COOKIE = "posecoach_device"


@dataclass(frozen=True)
class WebConfig:
    """What ``posecoach web`` was started with (paths absolute)."""

    store: str
    inbox: Path
    reports: Path
    engine: dict[str, Any] = field(default_factory=dict)
    rules_dir: str | None = None
    workers: int = 1
    dispatch: str = "pool"  # or "deployment": on a Prefect work pool (docs/scale-out.md)
    batch_size: int = 1
    max_upload_bytes: int = 2048 * 2**20


@dataclass
class WebState:
    """What the request handlers share (``request.app.state.web``)."""

    config: WebConfig
    accounts: Accounts
    store: Store
    runner: AnalysisRunner
    throttle: LoginThrottle
    exercises: tuple[str, ...]
    templates: jinja2.Environment
    live: LiveSetup = field(default_factory=LiveSetup)


def state_of(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


# -- who is asking --------------------------------------------------------------------------------
def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def current_session(request: Request) -> Session | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    return state_of(request).accounts.session(session_id) if session_id else None


def token_user(request: Request) -> User | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return state_of(request).accounts.token_user(token.strip())


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site only (no ``//host``, no scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
