"""The FastAPI application: `create_app(config)`; the pages in `flows.web.pages`, the JSON API
in `flows.web.api`.

Everything except ``/login`` and ``/static`` is behind a login: a browser session (cookie
``posecoach_session``: HttpOnly, SameSite=Lax, Secure when the request came over HTTPS, as a
reverse proxy says with ``X-Forwarded-Proto``) for the pages and the reports, an API token
(``Authorization: Bearer``) for ``/api``; the live WebSocket ``/api/live`` (`flows.web.live`)
takes either, and the Live page ``/live`` (`flows.web.live_page`) opens it. Every response carries the security headers of
`flows.web.security`. Uploads are analysed by `flows.web.runner.AnalysisRunner`, started and
stopped with the app.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePath
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analysis.io.session_video import remove_stale
from flows.web import api as api_routes
from flows.web import live as live_routes
from flows.web import live_page, pages, security, video_review
from flows.web.context import WebConfig, WebState, current_session, login_redirect
from flows.web.live_session import LiveSetup, live_video_dir
from flows.web.runner import AnalysisRunner, RunBatch
from flows.web.uploads import PARTIAL_DIR
from flows.web.users import Accounts
from posecoach.store import Store
from reports.site import APP_LINKS_MARKER, when

HERE = Path(__file__).parent


def nightly_batch(config: WebConfig) -> RunBatch:
    """Run the nightly flow over some inbox paths (the uploads), as ``posecoach run`` would."""

    def run(paths: list[str]) -> dict[str, Any]:
        from flows.nightly import nightly

        return nightly(
            inboxes=[str(config.inbox)],
            store=config.store,
            reports=str(config.reports),
            engine=dict(config.engine),
            rules_dir=config.rules_dir,
            workers=config.workers,
            dispatch=config.dispatch,
            batch_size=config.batch_size,
            only=paths,
        )

    return run


# A video's page: <date>/<video_id>.html (a night's is <date>/index.html).
_VIDEO_PAGE = re.compile(r"^\d{4}-\d{2}-\d{2}/(?!index\.html$)([A-Za-z0-9_-]{1,64})\.html$")


def with_app_links(html: str, page: PurePath) -> str:
    """A report page as the app serves it: links back to the app where the page keeps room.

    The reports are built to be read from a shared folder too (`reports.site.APP_LINKS_MARKER`),
    so the links go in when the app serves them, not when they are built: a page built by the
    nightly job gets them as well, and one opened from the folder shows none.
    """
    links = ['<a class="app" href="/">PoseCoach app</a>']
    if match := _VIDEO_PAGE.match(page.as_posix()):
        links.append(f'<a class="app" href="/videos/{match.group(1)}">Name people, review</a>')
    return html.replace(APP_LINKS_MARKER, " ".join(links), 1)


def remove_partial_uploads(inbox: Path) -> int:
    """Remove what uploads cut off by a stopped server left in the partial folder.

    One ``posecoach web`` process serves an inbox, so at its start no upload is in progress.
    """
    removed = 0
    for leftover in (inbox / PARTIAL_DIR).glob("*"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink()
            removed += 1
    return removed


def create_app(
    config: WebConfig,
    *,
    accounts: Accounts | None = None,
    run_batch: RunBatch | None = None,
    api: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    throttle: security.LoginThrottle | None = None,
    live: LiveSetup | None = None,
) -> FastAPI:
    """The app over ``config``'s store, inbox and reports.

    ``run_batch`` (default: the nightly flow) and ``api`` (default: the configured Prefect API or
    a temporary server, see `flows.prefect_api`) are the analysis; tests may replace them.
    ``live``: the pose estimator and clock of ``/api/live`` (`flows.web.live`); without one,
    live sessions are refused.
    """
    from flows.prefect_api import prefect_api
    from rules.loader import load_library

    accounts = accounts or Accounts.for_store(config.store)
    runner = AnalysisRunner(accounts, run_batch or nightly_batch(config), api=api or prefect_api)
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every name in every page is escaped
        undefined=jinja2.StrictUndefined,
    )
    templates.filters["when"] = when
    state = WebState(
        config=config,
        accounts=accounts,
        store=Store(config.store),
        runner=runner,
        throttle=throttle or security.LoginThrottle(),
        exercises=load_library(config.rules_dir).exercises(),
        templates=templates,
        live=live or LiveSetup(),
    )
    config.inbox.mkdir(parents=True, exist_ok=True)
    config.reports.mkdir(parents=True, exist_ok=True)
    remove_partial_uploads(config.inbox)
    # Live videos a crashed server left half-kept or half-transcoded (none of a running one).
    remove_stale(live_video_dir(config.store))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            runner.stop()

    app = FastAPI(
        title="PoseCoach", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.web = state
    app.add_middleware(SecurityHeaders)

    app.include_router(pages.router)
    app.include_router(video_review.router)
    app.include_router(api_routes.router)
    app.include_router(live_routes.router)
    app.include_router(live_page.router)

    @app.get("/reports/{path:path}", include_in_schema=False)
    def reports(request: Request, path: str) -> Response:
        if current_session(request) is None:
            return login_redirect(request)
        raw = request.scope.get("raw_path", b"").decode("latin-1")
        file = security.report_file(state.config.reports, raw, path)
        if file is None:
            return Response("not found", status_code=404, media_type="text/plain")
        if file.suffix == ".html":
            html = file.read_text(encoding="utf-8", errors="replace")
            page = file.relative_to(state.config.reports.resolve())
            return HTMLResponse(with_app_links(html, page))
        return FileResponse(file)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # The reports (pages that also open from a folder) name no icon: no 404 for theirs.
        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(request: Request, name: str) -> Response:
        raw = request.scope.get("raw_path", b"").decode("latin-1")
        file = security.report_file(HERE / "static", raw, name)
        if file is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(file, headers={"Cache-Control": "max-age=3600"})

    return app


class SecurityHeaders:
    """Adds `security.security_headers` to every response (the reports' CSP under /reports/)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security.security_headers(
            report=str(scope.get("path", "")).startswith("/reports/"),
            https=scope.get("scheme") == "https",
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])]
                names = {k.lower() for k, _ in headers}
                for key, value in extra.items():
                    if key.lower().encode() not in names:
                        headers.append((key.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
