"""An upload through the API analysed by the real nightly flow, to ``ok`` and its report.

The models are the tests' usual real ones (the trained RTMDet-nano person detector from
../shared, RTMPose-t on random weights): the plumbing is real, the keypoints meaningless.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.web.app import create_app
from flows.web.context import WebConfig
from posecoach.store import Store
from tests.helpers import log_in, real_engine_options, shared_path


@pytest.mark.slow  # the Prefect harness (~8-15 s) and two flow runs on a 5-frame video
def test_an_uploaded_video_reaches_ok_with_its_report(
    prefect_harness, tmp_path: Path, accounts
) -> None:
    video = shared_path("data", "videos", "street_5frames.mp4").read_bytes()
    config = WebConfig(
        store=str(tmp_path / "store"),
        inbox=tmp_path / "inbox",
        reports=tmp_path / "reports",
        engine=real_engine_options(tmp_path / "no-models"),
        workers=0,  # in this process: the models load once for both uploads
    )
    token = accounts.create_token("bob")[1]
    headers = {"Authorization": f"Bearer {token}"}

    def upload(athlete: str) -> str:
        response = client.post(
            "/api/videos",
            headers=headers,
            data={"athlete": athlete, "exercise": "squat", "view": "front"},
            files={"file": ("street.mp4", video, "video/mp4")},
        )
        assert response.status_code == 202, response.text
        return str(response.json()["status_url"])

    def wait(url: str) -> dict:
        deadline = time.monotonic() + 300
        seen, progress = [], []
        while time.monotonic() < deadline:
            status = client.get(url, headers=headers).json()
            seen.append(status["status"])
            if status["progress"] is not None:
                progress.append(status["progress"])
            # ok comes with the videos row; the report follows when the flow has built it
            if status["status"] not in ("queued", "running") and status["report_url"]:
                return {**status, "seen": seen, "progress_seen": progress}
            time.sleep(0.2)
        raise AssertionError(f"still {seen[-1]} (or no report) after 300 s")

    app = create_app(config, accounts=accounts, api=contextlib.nullcontext)
    with TestClient(app) as client:
        status = wait(upload("Ana"))
        assert status["status"] == "ok", status
        assert status["video_id"] == hashlib.sha256(video).hexdigest()[:16]
        assert status["path"] == "Ana/squat/street.mp4" and status["view"] == "front"
        assert status["random_weights"] is True and status["n_tracks"] >= 1
        assert set(status["seen"]) <= {"queued", "running", "ok"}
        # progress only grows (a frame count of 5: 0 while the models load, then 1)
        assert status["progress_seen"] == sorted(status["progress_seen"])
        assert status["progress"] == 1.0 and status["frames_done"] == status["frames"] == 5
        assert status["report_url"] == f"/reports/{status['date']}/{status['video_id']}.html"

        log_in(client, "bob")
        page = client.get(status["report_url"])
        assert page.status_code == 200 and "street.mp4" in page.text
        assert "Ana" in client.get("/").text

        # The same recording again: the flow's de-duplication, no second analysis.
        keypoints = Store(config.store).files("keypoints")
        before = [Path(f).stat().st_mtime_ns for f in keypoints]
        again = wait(upload("Ana"))
        assert again["status"] == "ok" and again["processed_at"] == status["processed_at"]
        assert [
            Path(f).stat().st_mtime_ns for f in Store(config.store).files("keypoints")
        ] == before
    assert app.state.web.runner.batches == 2
