"""The web app's pages and security rules, with FastAPI's test client (no analysis runs here).

Each rule of issue 15's security list has a test: argon2 (test_users.py), the session cookie's
flags, CSRF on every form post, the failed-login throttle, nothing served outside the reports
folder, names escaped, the security headers, the admin-only user page, revocable tokens
(test_api.py).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.web.context import SESSION_COOKIE
from flows.web.security import PAGE_CSP, REPORT_CSP
from tests.helpers import WEB_PASSWORDS as PASSWORDS
from tests.helpers import csrf_of, log_in

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "web" / "templates"


@pytest.fixture
def client(make_app) -> TestClient:
    return TestClient(make_app(), follow_redirects=False)


def set_cookie_header(response, name: str) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    return header.lower()


# -- login, session cookie ------------------------------------------------------------------------
def test_everything_but_the_login_needs_a_session(client: TestClient) -> None:
    for path in ("/", "/upload", "/users", "/reports/index.html"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert client.get("/login").status_code == 200


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(make_app) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(make_app(), base_url=base, follow_redirects=False)
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login", data={"username": "ana", "password": PASSWORDS["ana"], "csrf_token": token}
        )
        assert response.status_code == 303 and response.headers["location"] == "/"
        cookie = set_cookie_header(response, SESSION_COOKIE)
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert ("secure" in cookie.split("; ")) is secure
        assert ("strict-transport-security" in response.headers) is secure
        assert client.get("/").status_code == 200


def test_wrong_passwords_and_unknown_users_are_refused_alike(client: TestClient) -> None:
    for name, password in (("ana", "wrong password"), ("nobody", "correct horse")):
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login", data={"username": name, "password": password, "csrf_token": token}
        )
        assert response.status_code == 401 and "Wrong user name or password" in response.text
        assert SESSION_COOKIE not in response.cookies


def test_login_goes_back_only_to_a_page_of_this_site(client: TestClient) -> None:
    for target, expected in (
        ("/upload", "/upload"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
    ):
        client.cookies.clear()
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={
                "username": "ana",
                "password": PASSWORDS["ana"],
                "csrf_token": token,
                "next": target,
            },
        )
        assert response.headers["location"] == expected


def attempt(client: TestClient, name: str, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token}
    ).status_code


def test_failed_logins_are_rate_limited_per_user_and_address(make_app, clock) -> None:
    app = make_app()
    client = TestClient(app, follow_redirects=False, client=("10.0.0.1", 5000))
    assert [attempt(client, "ana", "guess") for _ in range(5)] == [401] * 5
    assert attempt(client, "ana", PASSWORDS["ana"]) == 429  # even the right password, for now
    response = client.post(
        "/login",
        data={"username": "ana", "password": "x", "csrf_token": csrf_of(client.get("/login").text)},
    )
    assert response.status_code == 429 and int(response.headers["retry-after"]) == 15 * 60
    # nobody can lock ana out from elsewhere, nor bob from here, with those five
    elsewhere = TestClient(app, follow_redirects=False, client=("10.0.0.2", 5000))
    assert attempt(elsewhere, "ana", PASSWORDS["ana"]) == 303
    assert attempt(client, "bob", PASSWORDS["bob"]) == 303
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    clock.now += 15 * 60 + 1
    assert attempt(client, "ana", PASSWORDS["ana"]) == 303


def test_guessing_many_names_from_one_address_is_limited_too(make_app) -> None:
    app = make_app()
    client = TestClient(app, follow_redirects=False, client=("10.0.0.1", 5000))
    statuses = [attempt(client, f"user{i}", "guess") for i in range(21)]
    assert statuses == [401] * 20 + [429]
    other = TestClient(app, follow_redirects=False, client=("10.0.0.2", 5000))
    assert attempt(other, "user0", "guess") == 401


def test_a_browser_that_logged_in_before_is_not_locked_out_by_others(make_app) -> None:
    app = make_app()
    phone = TestClient(app, follow_redirects=False, client=("10.0.0.1", 5000))
    token = csrf_of(phone.get("/login").text)
    response = phone.post(
        "/login", data={"username": "ana", "password": PASSWORDS["ana"], "csrf_token": token}
    )
    cookie = set_cookie_header(response, "posecoach_device")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/login" in cookie
    phone.post("/logout", data={"csrf_token": csrf_of(phone.get("/").text)})
    # someone guesses ana's password from a hundred addresses (one try each: no other limit)
    for i in range(100):
        guesser = TestClient(app, follow_redirects=False, client=(f"192.0.2.{i}", 5000))
        assert attempt(guesser, "ana", "guess") == 401
    stranger = TestClient(app, follow_redirects=False, client=("10.0.0.1", 5001))
    assert attempt(stranger, "ana", PASSWORDS["ana"]) == 429  # a new browser: ana is locked
    assert attempt(phone, "ana", PASSWORDS["ana"]) == 303  # her own phone is not
    phone.post("/logout", data={"csrf_token": csrf_of(phone.get("/").text)})
    # a device cookie is ana's only: it does not let a stranger past bob's lock
    for i in range(100):
        guesser = TestClient(app, follow_redirects=False, client=(f"198.51.100.{i}", 5000))
        attempt(guesser, "bob", "guess")
    assert attempt(phone, "bob", PASSWORDS["bob"]) == 429
    forged = TestClient(app, follow_redirects=False, client=("10.0.0.3", 5000))
    forged.cookies.set("posecoach_device", "made-up", path="/login")
    assert attempt(forged, "ana", PASSWORDS["ana"]) == 429


# -- CSRF -------------------------------------------------------------------------------------------
def test_login_without_or_with_a_wrong_csrf_token_is_refused(client: TestClient) -> None:
    good = csrf_of(client.get("/login").text)
    form = {"username": "ana", "password": PASSWORDS["ana"]}
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/login", data={**form, "csrf_token": good + "x"}).status_code == 403
    client.cookies.clear()  # a token without its cookie: a form posted from another site
    assert client.post("/login", data={**form, "csrf_token": good}).status_code == 403


def test_every_form_post_needs_the_sessions_csrf_token(
    client: TestClient, config, accounts
) -> None:
    log_in(client, "ana")
    token = csrf_of(client.get("/").text)
    posts = {
        "/logout": {},
        "/users": {"name": "cy", "password": "long enough", "role": "coach"},
        "/users/bob/remove": {},
    }
    for path, form in posts.items():
        assert client.post(path, data=form).status_code == 403, path
        assert client.post(path, data={**form, "csrf_token": "forged"}).status_code == 403, path
    response = client.post(
        "/upload",
        data={"athlete": "Ana", "exercise": "squat"},
        files={"file": ("a.mp4", b"\x00\x00\x00\x20ftypisom" + b"\x00" * 300)},
    )
    assert response.status_code == 403
    assert [u.name for u in accounts.users()] == ["ana", "bob"]  # nothing was done
    assert [p for p in config.inbox.rglob("*") if p.is_file()] == []
    assert client.get("/").status_code == 200  # still logged in
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303  # the session is gone


# -- admin-only user page ---------------------------------------------------------------------------
def test_only_admins_manage_users(client: TestClient, accounts) -> None:
    log_in(client, "bob")
    assert client.get("/users").status_code == 403
    token = csrf_of(client.get("/").text)
    assert (
        client.post(
            "/users", data={"name": "cy", "password": "long enough", "csrf_token": token}
        ).status_code
        == 403
    )
    assert client.post("/users/ana/remove", data={"csrf_token": token}).status_code == 403
    assert "/users" not in client.get("/").text  # no link to it either

    client.cookies.clear()
    log_in(client, "ana")
    page = client.get("/users")
    assert page.status_code == 200 and "bob" in page.text
    token = csrf_of(page.text)
    form = {"name": "cy", "password": "long enough", "role": "coach", "csrf_token": token}
    assert client.post("/users", data=form).status_code == 303
    assert client.post("/users", data=form).status_code == 400  # exists already
    assert client.post("/users/bob/remove", data={"csrf_token": token}).status_code == 303
    assert client.post("/users/ana/remove", data={"csrf_token": token}).status_code == 400
    assert [u.name for u in accounts.users()] == ["ana", "cy"]


# -- the reports folder -----------------------------------------------------------------------------
@pytest.fixture
def reports(config, tmp_path: Path) -> Path:
    night = config.reports / "2026-11-30"
    night.mkdir(parents=True)
    (night / "index.html").write_text("<p>the night</p>")
    (night / "abc.html").write_text("<p>a video</p>")
    (config.reports / "index.html").write_text("<p>all nights</p>")
    (config.reports / ".hidden").write_text("hidden")
    (tmp_path / "secret.txt").write_text("SECRET")
    os.symlink(tmp_path / "secret.txt", config.reports / "link.html")
    os.symlink(tmp_path, config.reports / "outside")
    return config.reports


def test_reports_are_served_behind_the_login(client: TestClient, reports: Path) -> None:
    assert client.get("/reports/2026-11-30/abc.html").status_code == 303
    log_in(client)
    response = client.get("/reports/2026-11-30/abc.html")
    assert response.status_code == 200 and response.text == "<p>a video</p>"
    assert response.headers["content-security-policy"] == REPORT_CSP
    assert client.get("/reports/2026-11-30/").text == "<p>the night</p>"


@pytest.mark.parametrize(
    "path",
    [
        "/reports/%2e%2e/secret.txt",
        "/reports/2026-11-30/%2e%2e/%2e%2e/secret.txt",
        "/reports/..%2fsecret.txt",
        "/reports/2026-11-30%2f..%2f..%2fsecret.txt",
        "/reports/..%5csecret.txt",
        "/reports/%2e%2e%5csecret.txt",
        "/reports/link.html",
        "/reports/outside/secret.txt",
        "/reports/.hidden",
        "/reports/2026-11-30/abc.html%00.txt",
        "/reports/nothing.html",
    ],
)
def test_nothing_outside_the_reports_folder_is_served(
    client: TestClient, reports: Path, path: str
) -> None:
    log_in(client)
    response = client.get(path)
    assert response.status_code == 404 and "SECRET" not in response.text


# -- headers, escaping --------------------------------------------------------------------------------
def test_every_page_carries_the_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert "'unsafe-inline'" not in PAGE_CSP and "script-src 'self'" in PAGE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in PAGE_CSP
    assert client.get("/nowhere").headers["content-security-policy"] == PAGE_CSP


def test_templates_have_no_inline_scripts_styles_or_handlers() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), template.name
        assert "<script" not in text and "style=" not in text and "javascript:" not in text


def test_names_are_escaped_in_the_pages(client: TestClient, accounts) -> None:
    hostile = '"><img src=x onerror=alert(1)>'
    accounts.add_upload("0123456789abcdef", f"{hostile}/squat/a.mp4", hostile, "squat", "ana")
    log_in(client)
    page = client.get("/").text
    assert hostile not in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_stylesheet_is_served_and_nothing_beside_it(client: TestClient) -> None:
    response = client.get("/static/web.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    for path in (
        "/static/..%2fapp.py",
        "/static/%2e%2e",
        "/static/.%2e%2fapp.py",
        "/static/app.py",
    ):
        assert client.get(path).status_code == 404, path


def test_uploads_cut_off_by_a_stopped_server_are_removed_at_start(make_app, config) -> None:
    partial = config.inbox / ".partial"
    partial.mkdir(parents=True)
    (partial / "0123.part").write_bytes(b"half a video")
    make_app()
    assert list(partial.iterdir()) == []


def test_the_upload_form_queues_a_video_and_explains_a_refusal(client: TestClient, config) -> None:
    from tests.helpers import shared_path

    video = shared_path("data", "videos", "street_5frames.mp4").read_bytes()
    log_in(client, "bob")
    form = client.get("/upload").text
    assert 'accept="video/*,image/*"' in form and '<option value="squat">' in form
    assert "capture" not in form  # the camera roll too, not only the camera
    token = csrf_of(form)
    fields = {"csrf_token": token, "athlete": "Zoë", "exercise": "squat", "view": ""}
    response = client.post("/upload", data=fields, files={"file": ("set 1.mp4", video)})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert (config.inbox / "Zoë" / "squat" / "set_1.mp4").read_bytes() == video
    home = client.get("/").text
    assert "set_1.mp4" in home and "queued" in home
    assert '<meta http-equiv="refresh"' in home  # it follows the analysis by itself

    refused = client.post(
        "/upload",
        data={**fields, "exercise": "<b>curl"},
        files={"file": ("set 2.mp4", video)},
    )
    assert refused.status_code == 422
    assert "unknown exercise &#39;&lt;b&gt;curl&#39;" in refused.text
    assert not (config.inbox / "Zoë" / "squat" / "set_2.mp4").exists()


def test_the_start_page_shows_a_running_uploads_progress(
    client: TestClient, accounts, config
) -> None:
    from flows.claims import claim_path
    from flows.progress import write_progress
    from posecoach.store import Store

    vid = "0123456789abcdef"
    upload = accounts.add_upload(vid, "Ana/squat/a.mp4", "Ana", "squat", "bob")
    accounts.set_upload_status([upload.upload_id], "running")
    store = Store(config.store)
    claim = Path(claim_path(store, vid))
    claim.parent.mkdir(parents=True)
    claim.write_text("{}")
    write_progress(store, vid, 30, 120)
    log_in(client, "bob")
    row = re.search(rf'<tr id="upload-{upload.upload_id}">.*?</tr>', client.get("/").text, re.S)
    assert row is not None
    cell = " ".join(row.group(0).split())
    assert '<progress max="1" value="0.25">' in cell
    assert '<span class="percent">25 %</span>' in cell and "(30 of 120 frames)" in cell


def test_the_start_page_keeps_reloading_until_a_fresh_videos_report_is_built() -> None:
    from flows.web.pages import REPORT_WAIT, _in_progress

    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    just = (now - dt.timedelta(seconds=3)).isoformat()
    old = (now - REPORT_WAIT - dt.timedelta(seconds=1)).isoformat()
    assert _in_progress({"status": "running"}, now) and _in_progress({"status": "queued"}, now)
    # ok comes with the row; the flow builds the report after it: keep following
    assert _in_progress({"status": "ok", "report_url": None, "processed_at": just}, now)
    assert not _in_progress(
        {"status": "ok", "report_url": "/reports/x.html", "processed_at": just}, now
    )
    # a report that never came (its build failed) does not reload the page for ever
    assert not _in_progress({"status": "ok", "report_url": None, "processed_at": old}, now)
    assert not _in_progress({"status": "failed", "report_url": None, "processed_at": just}, now)
    assert not _in_progress(None, now)
