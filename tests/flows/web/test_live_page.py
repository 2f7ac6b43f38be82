"""``GET /live``: the Live page's form, its checks (an upload's), its escaping and its headers.

What the page's script does with the camera is tested in a real browser
(`test_live_browser.py`); here, the server's side of it.
"""

from __future__ import annotations

import contextlib
import html
import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from flows.web.app import create_app
from flows.web.context import SESSION_COOKIE
from flows.web.live_session import LiveSetup
from flows.web.security import LoginThrottle


def no_people(image: np.ndarray) -> list:
    return []


@pytest.fixture
def site(config, accounts):
    def make(live: bool = True) -> TestClient:
        app = create_app(
            config,
            accounts=accounts,
            run_batch=lambda paths: {"outcomes": []},
            api=contextlib.nullcontext,
            throttle=LoginThrottle(),
            live=LiveSetup(no_people) if live else None,
        )
        client = TestClient(app)
        sid, _ = accounts.create_session(accounts.user("bob"))
        client.cookies.set(SESSION_COOKIE, sid)
        return client

    return make


def socket_of(page: str) -> str | None:
    found = re.search(r'data-socket="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def test_the_live_page_is_behind_the_login_and_linked_from_home(site) -> None:
    client = site()
    assert 'href="/live"' in client.get("/").text
    client.cookies.clear()
    response = client.get("/live?athlete=ana", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/live%3Fathlete%3Dana"


def test_the_form_and_then_the_camera_with_the_sessions_socket(site) -> None:
    client = site()
    form = client.get("/live")
    assert form.status_code == 200 and socket_of(form.text) is None
    assert '<option value="squat">' in form.text
    assert '<script src="/static/live.js" defer></script>' in form.text
    name = '<img src=x onerror=alert(1)> Zoë "&"'
    ready = client.get(
        "/live", params={"athlete": f"  {name} ", "exercise": "squat", "view": "front"}
    )
    assert ready.status_code == 200
    assert "<img src=x" not in ready.text
    value = re.search(r'name="athlete"[^>]*value="([^"]*)"', ready.text)
    assert value is not None and html.unescape(value[1]) == name
    socket = socket_of(ready.text)
    assert socket is not None and urlsplit(socket).path == "/api/live"
    assert parse_qs(urlsplit(socket).query) == {
        "athlete": [name],
        "exercise": ["squat"],
        "view": ["front"],
    }
    assert '<option value="squat" selected>' in ready.text
    assert '<option value="front" selected>' in ready.text


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"athlete": "../bob", "exercise": "squat"}, 400, "cannot be a folder name"),
        ({"athlete": " ", "exercise": "squat"}, 400, "athlete is missing"),
        ({"athlete": "bob", "exercise": "juggling"}, 422, "unknown exercise"),
        ({"athlete": "bob", "exercise": "squat", "view": "top"}, 422, "view"),
    ],
)
def test_the_fields_are_checked_as_an_uploads_are(site, params, status, message) -> None:
    response = site().get("/live", params=params)
    assert response.status_code == status
    assert message in html.unescape(response.text)
    assert socket_of(response.text) is None


def test_the_socket_refuses_what_the_page_refuses(site) -> None:
    client = site()
    for query in ("athlete=..%2Fbob&exercise=squat", "athlete=bob&exercise=squat&view=top"):
        with client.websocket_connect(f"/api/live?{query}") as ws:
            assert ws.receive_json()["type"] == "error"
            with pytest.raises(WebSocketDisconnect) as refused:
                ws.receive_json()
        assert refused.value.code == 1008


def test_only_the_live_page_may_use_the_camera(site) -> None:
    client = site()
    live = client.get("/live")
    assert "camera=(self)" in live.headers["permissions-policy"]
    csp = live.headers["content-security-policy"]
    assert "connect-src 'self' ws://testserver;" in csp and "script-src 'self';" in csp
    assert "camera=()" in client.get("/upload").headers["permissions-policy"]
    # The reports name no icon; the app answers a browser's guess without a 404 in its console.
    assert client.get("/favicon.ico").status_code == 204
    # A Host that is no plain host[:port] never reaches the policy.
    odd = client.get("/live", headers={"host": "x; script-src *"})
    assert "connect-src 'self';" in odd.headers["content-security-policy"]


def test_without_models_the_page_says_live_coaching_is_off(site) -> None:
    page = site(live=False).get("/live", params={"athlete": "bob", "exercise": "squat"})
    assert "Live coaching is off on this server" in page.text
    assert socket_of(page.text) is None
