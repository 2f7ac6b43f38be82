"""``/api/live`` with the test client's WebSocket and a fake pose estimator.

The fake knows a generated squat set (3 reps, the second shallow): frame n of the set is sent
as a 16x8 JPEG whose two 8x8 blocks are greys coding n (a session keeps one frame size), and
the fake answers that frame's keypoints. Frame times come
from a clock that moves 1/30 s per frame, the set's own rate.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from analysis.testing.synthetic import generate_clip
from flows.web.app import create_app
from flows.web.context import SESSION_COOKIE
from flows.web.live_session import LiveSetup
from flows.web.security import LoginThrottle
from posecoach.store import Store

FPS = 30.0
URL = "/api/live?athlete=eve&exercise=squat&view=side"


@pytest.fixture(scope="module")
def squats() -> Any:
    clip = generate_clip("squat", view="side", reps=3, depth=[90, 125, 90], fps=FPS)
    return clip.points


def jpeg(n: int, width: int = 16) -> bytes:
    """Frame ``n`` as a JPEG: two 8x8 grey blocks, n % 64 and n // 64 in steps of 4 (which
    JPEG keeps to within 1 in a flat block)."""
    image = np.zeros((8, width, 3), dtype=np.uint8)
    image[:, :8], image[:, 8:16] = (n % 64) * 4, (n // 64) * 4
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def frame_of(image: np.ndarray) -> int:
    low, high = (int(round(float(image[:, k : k + 8].mean()) / 4)) for k in (0, 8))
    return low + 64 * high


def fake_pose(points: Any, delay_s: float = 0.0) -> Any:
    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        i = frame_of(image)
        time.sleep(delay_s)
        kp = np.concatenate([points.xy[i], points.scores[i][:, None]], axis=1)
        return [(7, points.box[i].tolist(), kp)]

    return pose


def frame_clock() -> Any:
    ticks = itertools.count()
    return lambda: next(ticks) / FPS


@pytest.fixture
def live_app(config, accounts, squats):
    def make(delay_s: float = 0.0, queue_frames: int = 2, **models: Any) -> TestClient:
        setup = LiveSetup(fake_pose(squats, delay_s), frame_clock(), queue_frames, models=models)
        app = create_app(
            config,
            accounts=accounts,
            run_batch=lambda paths: {"outcomes": []},
            api=contextlib.nullcontext,
            throttle=LoginThrottle(),
            live=setup,
        )
        return TestClient(app)

    return make


def bearer(accounts) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token('bob')[1]}"}


def until_saved(ws) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    replies = []
    while (message := ws.receive_json()).get("type") != "saved":
        replies.append(message)
    return replies, message


def refused_code(client: TestClient, url: str = URL, **headers: str) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(url, headers=headers),
    ):
        pass
    return refused.value.code


def test_without_a_session_or_token_the_socket_is_refused(live_app, accounts) -> None:
    client = live_app()
    token = accounts.create_token("bob")[1]
    assert refused_code(client) == 1008
    assert refused_code(client, Authorization=f"Bearer {token}x") == 1008
    assert refused_code(client, Authorization=token) == 1008
    client.cookies.set(SESSION_COOKIE, "made-up")
    assert refused_code(client) == 1008
    # A real session's cookie, but sent by another site's page.
    sid, _ = accounts.create_session(accounts.user("ana"))
    client.cookies.set(SESSION_COOKIE, sid)
    assert refused_code(client, origin="https://evil.example") == 1008
    with client.websocket_connect(URL, headers={"origin": "http://testserver"}) as ws:
        ws.send_json({"type": "end"})
        assert ws.receive_json()["type"] == "saved"


def test_an_authorised_client_is_told_what_is_wrong_with_its_fields(live_app, accounts) -> None:
    client = live_app()
    for query, why in [
        ("athlete=eve&exercise=juggling", "unknown exercise"),
        ("athlete=..%2Feve&exercise=squat", "athlete"),
        ("athlete=eve&exercise=squat&view=top", "view"),
    ]:
        with client.websocket_connect(f"/api/live?{query}", headers=bearer(accounts)) as ws:
            message = ws.receive_json()
            assert message["type"] == "error" and why in message["error"], message
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008


def test_sessions_with_nothing_processed_store_nothing_and_equal_bytes_are_two_sessions(
    live_app, accounts, config
) -> None:
    client = live_app()
    for athlete in ("wes", "xan"):
        url = f"/api/live?athlete={athlete}&exercise=squat&view=side"
        with client.websocket_connect(url, headers=bearer(accounts)) as ws:
            ws.send_json({"type": "end"})
            saved = ws.receive_json()
        assert saved["type"] == "saved" and saved["video_id"] is None
        assert "nothing stored" in saved["error"]
    store = Store(config.store)
    assert len(store.read("videos")) == 0
    ids = []
    for athlete in ("wes", "xan"):  # the same frame sent by two sessions
        url = f"/api/live?athlete={athlete}&exercise=squat&view=side"
        with client.websocket_connect(url, headers=bearer(accounts)) as ws:
            ws.send_bytes(jpeg(0))
            ws.receive_json()
            ws.send_json({"type": "end"})
            ids.append(until_saved(ws)[1]["video_id"])
    videos = store.read("videos").set_index("video_id")
    assert len(set(ids)) == 2 and sorted(videos.loc[ids, "athlete"]) == ["wes", "xan"]
    assert videos.loc[ids[0], "sha256"] == videos.loc[ids[1], "sha256"]  # the same bytes


def test_a_streamed_set_is_counted_cued_stored_and_reported(
    live_app, accounts, config, squats
) -> None:
    client = live_app(pose_model="fake-pose", random_weights=True)
    sid, _ = accounts.create_session(accounts.user("ana"))
    client.cookies.set(SESSION_COOKIE, sid)
    replies = []
    with client.websocket_connect(URL) as ws:
        for n in range(len(squats)):
            ws.send_bytes(jpeg(n))
            replies.append(ws.receive_json())
        ws.send_json({"type": "end"})
        rest, saved = until_saved(ws)
    assert rest == []
    assert [r["frame"] for r in replies] == list(range(len(squats)))
    assert all(r["dropped"] == [] and r["latency_ms"] >= 0 for r in replies)
    assert [r["t_s"] for r in replies] == [round(n / FPS, 3) for n in range(len(squats))]
    people = [r["people"][0] for r in replies]
    assert {p["track_id"] for p in people} == {7}
    assert people[50]["keypoints"][0][:2] == [round(float(v), 1) for v in squats.xy[50, 0]]
    # The count rises one by one to 3; each rep's cue comes once it has settled at rest (at
    # most 0.75 s after it is counted) and stands until the next rep's: the shallow second
    # rep's, then none for the third.
    counts = [p["reps"] for p in people]
    assert counts == sorted(counts) and counts[-1] == 3
    cues = [p["cue"] for p in people]
    cued = next(i for i, cue in enumerate(cues) if cue)
    assert counts.index(2) < cued <= counts.index(2) + 0.75 * FPS
    assert "Shallow squat" in cues[cued]
    assert set(cues) == {"", cues[cued]} and cues[-1] == ""

    store = Store(config.store)
    video_id = saved["video_id"]
    video = store.read("videos", video_ids=[video_id]).iloc[0]
    assert (video["source"], video["athlete"], video["exercise"]) == ("live", "eve", "squat")
    assert video["frames"] == len(squats)
    # Keypoints of a model on random weights are marked, as an analysed video's are.
    assert (video["pose_model"], bool(video["random_weights"])) == ("fake-pose", True)
    assert len(store.read("keypoints", video_ids=[video_id])) == len(squats)
    assert len(store.read("reps", video_ids=[video_id])) == 3
    # Its video: the JPEGs kept as sent, transcoded to H.264 in the save step, every frame.
    path = Path(video["path"])
    assert video["codec"] == "h264" and path.is_file() and path.suffix == ".mp4"
    with av.open(str(path)) as file:
        assert sum(1 for _ in file.decode(video=0)) == len(squats)
    assert not list(path.parents[1].rglob(".live-*"))  # no temporary left
    # Reported like any video: its page, linked from the reply, lists its 3 reps.
    assert saved["video_url"] == f"/videos/{video_id}"
    page = client.get(saved["report_url"])
    assert page.status_code == 200 and video_id in saved["report_url"]
    assert "3 reps" in page.text
    assert client.get(f"/reports/{video['date']}/index.html").status_code == 200


def test_a_message_that_is_no_jpeg_is_answered_and_the_session_goes_on(live_app, accounts) -> None:
    client = live_app()
    with client.websocket_connect(URL, headers=bearer(accounts)) as ws:
        ws.send_bytes(jpeg(0))
        assert ws.receive_json()["frame"] == 0
        ws.send_bytes(b"GIF89a not a jpeg")
        assert ws.receive_json()["type"] == "error"
        ws.send_text("hello")
        assert ws.receive_json()["type"] == "error"
        ws.send_bytes(b"\xff\xd8\xff but cut off")
        assert ws.receive_json() == {
            "type": "error",
            "frame": 1,
            "error": "not a decodable JPEG frame",
        }
        ws.send_bytes(jpeg(2))
        reply = ws.receive_json()
        assert (reply["frame"], len(reply["people"])) == (2, 1)


def test_a_flood_of_frames_drops_the_older_and_says_which(live_app, accounts, squats) -> None:
    client = live_app(delay_s=0.02, queue_frames=1)
    frames = [jpeg(n) for n in range(60)]
    with client.websocket_connect(URL, headers=bearer(accounts)) as ws:
        for data in frames:  # no reply read meanwhile
            ws.send_bytes(data)
        ws.send_json({"type": "end"})
        replies, saved = until_saved(ws)
    answered = [r["frame"] for r in replies]
    dropped = [n for r in replies for n in r["dropped"]] + saved["dropped"]
    assert dropped and len(answered) < 60
    assert answered == sorted(answered)
    assert sorted(answered + dropped) == list(range(60))
    # The newest frame is never dropped, and a reply lists the frames dropped while it was
    # made: each older than the frame answered next.
    assert answered[-1] == 59
    assert all(max(r["dropped"], default=-1) < answered[i + 1] for i, r in enumerate(replies[:-1]))


def test_a_client_that_goes_away_has_what_was_received_stored(
    live_app, accounts, config, squats
) -> None:
    client = live_app()
    with client.websocket_connect(URL, headers=bearer(accounts)) as ws:
        for n in range(100):
            ws.send_bytes(jpeg(n))
            ws.receive_json()
    videos = Store(config.store).read("videos")
    assert list(videos["source"]) == ["live"] and list(videos["frames"]) == [100]
    assert len(Store(config.store).read("keypoints")) == 100


def test_a_frame_of_another_size_is_refused_and_the_session_goes_on(
    live_app, accounts, config
) -> None:
    client = live_app()
    with client.websocket_connect(URL, headers=bearer(accounts)) as ws:
        ws.send_bytes(jpeg(0))
        assert ws.receive_json()["frame"] == 0
        ws.send_bytes(jpeg(1, width=24))  # the phone turned: another frame size
        refused = ws.receive_json()
        assert refused["type"] == "error" and refused["frame"] == 1
        assert "frame is 24x8, the session's frames are 16x8" in refused["error"]
        ws.send_bytes(jpeg(2))
        assert ws.receive_json()["frame"] == 2
        ws.send_json({"type": "end"})
        saved = until_saved(ws)[1]
    video = Store(config.store).read("videos", video_ids=[saved["video_id"]]).iloc[0]
    assert (video["frames"], video["width"], video["height"]) == (2, 16, 8)


def test_without_a_view_the_cues_and_the_record_use_the_view_the_poses_show(
    live_app, accounts, config, squats
) -> None:
    """``/api/live`` without ``view=``: the person is ``starting`` (0 reps, view null) for the
    first 1.5 s, then counted in the side view the generated set shows, with the cues of the
    declared session; stored with that view as estimated, its reps judged in it."""
    client = live_app()
    answers = {}
    for url in (URL, URL.replace("&view=side", "")):
        with client.websocket_connect(url, headers=bearer(accounts)) as ws:
            replies = []
            for n in range(len(squats)):
                ws.send_bytes(jpeg(n))
                replies.append(ws.receive_json())
            ws.send_json({"type": "end"})
            _, saved = until_saved(ws)
        answers[url] = ([r["people"][0] for r in replies], saved["video_id"])
    (declared, _), (estimated, video_id) = answers.values()
    k = int(1.5 * FPS)
    assert {(p["phase"], p["reps"], p["view"]) for p in estimated[:k]} == {("starting", 0, None)}
    assert {p["view"] for p in estimated[k:]} == {"side"}
    strip = ("reps", "phase", "cue")
    assert [[p[s] for s in strip] for p in estimated[k:]] == [
        [p[s] for s in strip] for p in declared[k:]
    ]
    store = Store(config.store)
    video = store.read("videos", video_ids=[video_id]).iloc[0]
    assert (video["view"], video["view_source"]) == ("side", "estimated")
    assert list(store.read("reps", video_ids=[video_id])["view"]) == ["side"] * 3
