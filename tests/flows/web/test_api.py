"""The JSON API with the test client: tokens, uploads and their answers, the status of a video.

The analysis is a stand-in here (it writes the ``videos`` row and a report page the way the
nightly flow does); test_end_to_end.py runs the real flow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from posecoach.store import Store
from posecoach.videos import VideoRow, copy_video_id, read_video_rows, write_video_row
from tests.helpers import MULTIPART_BOUNDARY, log_in, multipart_body, shared_path

NIGHT = "2026-11-30"


@pytest.fixture
def video() -> bytes:
    return shared_path("data", "videos", "street_5frames.mp4").read_bytes()


@pytest.fixture
def token(accounts) -> str:
    return accounts.create_token("bob")[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(
    client: TestClient, token: str | None, content: bytes, name: str = "clip.mp4", **fields: str
):
    return client.post(
        "/api/videos",
        headers=bearer(token) if token else {},
        data={"athlete": "Ana", "exercise": "squat", **fields},
        files={"file": (name, content, "video/mp4")},
    )


def inbox_files(config) -> list[str]:
    return sorted(
        p.relative_to(config.inbox).as_posix() for p in config.inbox.rglob("*") if p.is_file()
    )


def test_no_token_a_wrong_one_or_a_revoked_one_gets_401(make_app, accounts, token, video) -> None:
    client = TestClient(make_app())
    token_id = accounts.tokens("bob")[0]["token_id"]
    for headers in ({}, bearer(token + "x"), {"Authorization": f"Basic {token}"}, bearer("")):
        response = client.get("/api/videos/0123456789abcdef", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert post(client, None, video).status_code == 401
    assert client.get("/api/videos/0123456789abcdef", headers=bearer(token)).status_code == 404
    accounts.revoke_tokens("bob", token_id)
    assert post(client, token, video).status_code == 401
    assert client.get("/api/videos/0123456789abcdef", headers=bearer(token)).status_code == 401


def test_a_session_cookie_is_no_api_token(make_app, video) -> None:
    client = TestClient(make_app(), follow_redirects=False)
    log_in(client)
    assert post(client, None, video).status_code == 401


def test_an_upload_is_queued_in_the_inbox(make_app, config, token, video) -> None:
    client = TestClient(make_app())  # no lifespan: the analysis does not start
    response = post(client, token, video, "street.mp4", view="side")
    assert response.status_code == 202
    video_id = hashlib.sha256(video).hexdigest()[:16]
    assert response.json() == {
        "video_id": video_id,
        "status_url": f"/api/videos/{video_id}",
        "status": "queued",
        "path": "Ana/squat/street.mp4",
    }
    assert inbox_files(config) == ["Ana/squat/street.mp4", "Ana/squat/street.mp4.yaml"]
    status = client.get(f"/api/videos/{video_id}", headers=bearer(token)).json()
    assert status["status"] == "queued" and status["athlete"] == "Ana"
    assert status["report_url"] is None and status["error"] is None
    assert {"fps", "n_tracks", "processed_at", "error_kind"} <= set(status)  # every videos column


@pytest.mark.parametrize(
    ("content", "name", "fields", "status", "reason"),
    [
        (b"", "a.mp4", {}, 400, "empty"),
        (b"<html><script>alert(1)</script></html>" * 10, "a.mp4", {}, 415, "not a video or image"),
        (b"VIDEO", "a.mp4", {"exercise": "bench_press"}, 422, "unknown exercise"),
        (b"VIDEO", "a.mp4", {"athlete": "../../etc"}, 400, "cannot be a folder name"),
        (
            b"VIDEO",
            "a.mp4",
            {"athlete": "<script>alert(1)</script>"},
            400,
            "cannot be a folder name",
        ),
        (b"VIDEO", "a.mp4", {"athlete": ""}, 400, "athlete is missing"),
        (b"VIDEO", "a.mp4", {"view": "above"}, 422, "view"),
    ],
)
def test_bad_uploads_get_a_clear_answer_and_the_queue_goes_on(
    make_app, config, token, video, content, name, fields, status, reason
) -> None:
    client = TestClient(make_app())
    response = post(client, token, video if content == b"VIDEO" else content, name, **fields)
    assert response.status_code == status and reason in response.json()["detail"]
    assert inbox_files(config) == []  # nothing half-written
    assert post(client, token, video, "next.mp4").status_code == 202
    assert inbox_files(config) == ["Ana/squat/next.mp4"]


def test_a_hostile_file_name_stays_inside_the_inbox(make_app, config, token, video) -> None:
    client = TestClient(make_app())
    response = post(client, token, video, "../../../<script>alert(1)</script>.mp4")
    assert response.status_code == 202 and response.json()["path"] == "Ana/squat/script.mp4"
    assert inbox_files(config) == ["Ana/squat/script.mp4"]


def test_above_the_limit_is_413_and_nothing_is_kept(make_app, config, token) -> None:
    client = TestClient(make_app())
    big = b"\x00\x00\x00\x20ftypisom" + b"\x00" * (config.max_upload_bytes + 10)
    response = post(client, token, big)
    assert response.status_code == 413 and "2 MB" in response.json()["detail"]

    body = multipart_body({"athlete": "Ana", "exercise": "squat"}, big)

    def chunked():  # no Content-Length: the stream itself is cut at the limit
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = client.post(
        "/api/videos",
        content=chunked(),
        headers={
            **bearer(token),
            "Content-Type": f"multipart/form-data; boundary={MULTIPART_BOUNDARY}",
        },
    )
    assert response.status_code == 413
    assert inbox_files(config) == []


def _stand_in_flow(config, calls: list[list[str]], fail: bool = False):
    """Writes an ok videos row and the report page for each path, as the nightly flow would."""

    def run(paths: list[str]) -> dict[str, Any]:
        calls.append(paths)
        if fail:
            raise RuntimeError("the Prefect API went away")
        store = Store(config.store)
        for path in paths:
            video_id = hashlib.sha256((config.inbox / path).read_bytes()).hexdigest()[:16]
            athlete, exercise, name = path.split("/")
            analysed = read_video_rows(store, [video_id])
            if analysed and analysed[0].athlete != athlete:  # one recording of a class
                copy = analysed[0].as_copy(
                    athlete=athlete, path=path, file_name=name, processed_at=dt.datetime.now(dt.UTC)
                )
                write_video_row(store, copy)
                continue
            if analysed and analysed[0].path != path:  # the nightly's duplicate: not again
                continue
            row = VideoRow(
                video_id=video_id,
                date=NIGHT,
                path=path,
                file_name=name,
                athlete=athlete,
                exercise=exercise,
                status="ok",
                n_tracks=2,
                processed_at=dt.datetime.now(dt.UTC),
            )
            write_video_row(store, row)
            page = config.reports / NIGHT / f"{video_id}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text("<p>report</p>")
        return {"outcomes": [{"rel_path": p} for p in paths]}

    return run


def _wait_for(client: TestClient, token: str, video_id: str, timeout_s: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get(f"/api/videos/{video_id}", headers=bearer(token)).json()
        if status["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_an_upload_is_analysed_and_its_report_linked(make_app, config, token, video) -> None:
    calls: list[list[str]] = []
    with TestClient(make_app(_stand_in_flow(config, calls))) as client:
        video_id = post(client, token, video, "street.mp4").json()["video_id"]
        status = _wait_for(client, token, video_id)
        assert status["status"] == "ok" and status["n_tracks"] == 2 and status["date"] == NIGHT
        assert status["report_url"] == f"/reports/{NIGHT}/{video_id}.html"
    assert calls == [["Ana/squat/street.mp4"]]  # only the upload, not the whole inbox


def test_when_the_flow_fails_the_upload_says_why(make_app, config, token, video) -> None:
    calls: list[list[str]] = []
    with TestClient(make_app(_stand_in_flow(config, calls, fail=True))) as client:
        video_id = post(client, token, video).json()["video_id"]
        status = _wait_for(client, token, video_id)
    assert status["status"] == "failed"
    assert status["error"] == "RuntimeError: the Prefect API went away"


def test_uploads_left_by_a_stopped_server_are_analysed_at_start(
    make_app, config, accounts, token, video
) -> None:
    client = TestClient(make_app())
    video_id = post(client, token, video).json()["video_id"]  # queued, never run
    calls: list[list[str]] = []
    with TestClient(make_app(_stand_in_flow(config, calls))) as restarted:
        assert _wait_for(restarted, token, video_id)["status"] == "ok"
    assert calls == [["Ana/squat/clip.mp4"]]


def test_a_class_recording_uploaded_for_two_athletes_has_a_status_for_each(
    make_app, config, token, video
) -> None:
    calls: list[list[str]] = []
    with TestClient(make_app(_stand_in_flow(config, calls))) as client:
        ana = post(client, token, video, "class.mp4").json()["video_id"]
        assert _wait_for(client, token, ana)["status"] == "ok"
        answer = post(client, token, video, "class.mp4", athlete="Bob").json()
        bob = answer["video_id"]
        assert bob == copy_video_id(ana, "Bob") and answer["status_url"] == f"/api/videos/{bob}"
        # While Bob's copy waits, Ana's status is still Ana's analysed video.
        status = client.get(f"/api/videos/{ana}", headers=bearer(token)).json()
        assert (status["status"], status["athlete"], status["video_id"]) == ("ok", "Ana", ana)
        status = _wait_for(client, token, bob)
        assert (status["status"], status["athlete"], status["video_id"]) == ("ok", "Bob", bob)
        assert status["same_content_as"] == ana
        assert status["report_url"] == f"/reports/{NIGHT}/{ana}.html"  # the one analysis
        status = client.get(f"/api/videos/{ana}", headers=bearer(token)).json()
        assert (status["status"], status["athlete"], status["video_id"]) == ("ok", "Ana", ana)
    assert calls == [["Ana/squat/class.mp4"], ["Bob/squat/class.mp4"]]


def test_a_file_analysed_before_under_another_exercise_says_so(
    make_app, config, token, video
) -> None:
    calls: list[list[str]] = []
    with TestClient(make_app(_stand_in_flow(config, calls))) as client:
        first = post(client, token, video, "clip.mp4").json()
        assert "note" not in first
        assert _wait_for(client, token, first["video_id"])["status"] == "ok"
        again = post(client, token, video, "clip.mp4", exercise="lunge").json()
        assert again["video_id"] == first["video_id"]
        assert "analysed before as 'squat'" in again["note"] and "'lunge'" in again["note"]
        same = post(client, token, video, "clip.mp4").json()  # the same exercise: no news
        assert "note" not in same
