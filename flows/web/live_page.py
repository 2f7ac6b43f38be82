"""``GET /live``: the Live page, a phone's or laptop's camera coached through ``/api/live``.

Behind the login like every page. Without query parameters it is the form (athlete, exercise,
view); submitted (a GET: it changes nothing), the fields are checked as an upload's are
(`flows.web.live.live_fields`, 400/422 with the reason on the form) and the page gets the
session's WebSocket path, which ``static/live.js`` opens when the coach presses Start. The page
alone may use the camera and names its WebSocket in its CSP (`security.live_page_headers`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flows.inbox import VIEWS
from flows.web import security
from flows.web.context import current_session, is_https, login_redirect, state_of
from flows.web.live import live_fields
from flows.web.pages import page
from flows.web.uploads import UploadError

router = APIRouter()


@router.get("/live")
def live_page(request: Request, athlete: str = "", exercise: str = "", view: str = "") -> Response:
    if current_session(request) is None:
        return login_redirect(request)
    state = state_of(request)
    setup = state.live
    socket, error, status = "", "", 200
    if request.query_params:
        try:
            fields = live_fields(athlete, exercise, view, state.exercises)
        except UploadError as exc:
            error, status = exc.message, exc.status
        else:
            athlete, exercise = fields[0], fields[1]
            query = {"athlete": athlete, "exercise": exercise, "view": fields[2] or ""}
            socket = "/api/live?" + urlencode({k: v for k, v in query.items() if v})
    response = page(
        request,
        "live.html",
        status,
        exercises=state.exercises,
        views=[v for v in VIEWS if v != "unknown"],
        athlete=athlete,
        exercise=exercise,
        view=view,
        socket=socket,
        error=error,
        live_on=setup.pose is not None or setup.new_pose is not None,
    )
    host = request.headers.get("host", "")
    response.headers.update(security.live_page_headers(host, https=is_https(request)))
    return response
