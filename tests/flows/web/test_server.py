"""``posecoach web`` as a real uvicorn server in its own process, spoken to over raw HTTP.

http.client sends paths exactly as written (no client-side clean-up of ``..``), so the
traversal checks meet the server as an attacker's would.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher

from flows.web.users import Accounts, db_path
from tests.flows.web.server import web_server
from tests.helpers import multipart_body


class Server:
    def __init__(self, port: int):
        self.port = port

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, str]]:
    root = tmp_path_factory.mktemp("web")
    accounts = Accounts(
        db_path(root / "store"), hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    accounts.add_user("ana", "correct horse", "admin")
    token = accounts.create_token("ana")[1]
    (root / "reports" / "2026-11-30").mkdir(parents=True)
    (root / "reports" / "2026-11-30" / "index.html").write_text("<p>the night</p>")
    (root / "secret.txt").write_text("SECRET")
    os.symlink(root / "secret.txt", root / "reports" / "link.html")
    with web_server(root, "--max-upload-mb", "1", start_s=90) as base:
        yield Server(urlsplit(base).port or 80), root, token


def _login(server: Server, headers: dict | None = None) -> tuple[int, str]:
    status, head, body = server.request("GET", "/login")
    csrf = re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()  # type: ignore[union-attr]
    cookie = head["set-cookie"].split(";", 1)[0]
    form = urllib.parse.urlencode(
        {"username": "ana", "password": "correct horse", "csrf_token": csrf}
    )
    status, head, _ = server.request(
        "POST",
        "/login",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, **(headers or {})},
    )
    sessions = [
        v
        for k, v in head.items()
        if k.lower() == "set-cookie" and v.startswith("posecoach_session=")
    ]
    return status, sessions[0] if sessions else ""


def test_the_login_sets_a_safe_cookie_and_https_through_a_proxy_makes_it_secure(server) -> None:
    srv, _, _ = server
    status, _, body = srv.request(
        "POST",
        "/login",
        "username=ana&password=correct+horse",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403  # no csrf token
    status, cookie = _login(srv)
    assert status == 303
    flags = cookie.lower().split("; ")
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    status, cookie = _login(srv, {"X-Forwarded-Proto": "https"})  # a reverse proxy on this host
    assert status == 303 and "secure" in cookie.lower().split("; ")


def test_headers_and_no_way_out_of_the_reports(server) -> None:
    srv, _, _ = server
    status, head, _ = srv.request("GET", "/login")
    assert status == 200 and "script-src 'self'" in head["content-security-policy"]
    assert head["x-frame-options"] == "DENY" and "server" not in {k.lower() for k in head}
    _, cookie = _login(srv)
    session = {"Cookie": cookie.split(";", 1)[0]}
    status, _, body = srv.request("GET", "/reports/2026-11-30/index.html", headers=session)
    assert status == 200 and body == b"<p>the night</p>"
    for path in (
        "/reports/../secret.txt",
        "/reports/2026-11-30/../../secret.txt",
        "/reports/..%2fsecret.txt",
        "/reports/%2e%2e/secret.txt",
        "/reports/..%5csecret.txt",
        "/reports/link.html",
    ):
        status, _, body = srv.request("GET", path, headers=session)
        assert status in (400, 404) and b"SECRET" not in body, path
    status, head, _ = srv.request("GET", "/reports/2026-11-30/index.html")
    assert status == 303 and head["location"].startswith("/login")


def test_the_api_over_the_wire(server) -> None:
    srv, root, token = server
    status, head, _ = srv.request("GET", "/api/videos/0123456789abcdef")
    assert status == 401 and head["www-authenticate"] == "Bearer"
    auth = {"Authorization": f"Bearer {token}"}
    content_type = "multipart/form-data; boundary=----posecoach-test-boundary"
    empty = multipart_body({"athlete": "Ana", "exercise": "squat"}, b"")
    status, _, body = srv.request(
        "POST", "/api/videos", empty, {**auth, "Content-Type": content_type}
    )
    assert status == 400 and b"empty" in body
    big = multipart_body({"athlete": "Ana", "exercise": "squat"}, b"\x00" * (2 * 2**20))
    status, _, body = srv.request(
        "POST", "/api/videos", big, {**auth, "Content-Type": content_type}
    )
    assert status == 413 and b"1 MB" in body
    assert [p for p in (root / "inbox").rglob("*") if p.is_file()] == []
