"""The Live page in a real headless Chromium with a fake camera, against ``posecoach web``.

The camera is Chromium's fake capture device playing a clip of ``two_people_1080p.mp4``
(2 s at 480x270, converted to y4m with ffmpeg; it loops). The server runs the trained
RTMDet-nano from ../shared and RTMPose-t on random weights (``--allow-random-weights``): the
keypoints are meaningless, the boxes, ids and the whole path are real. On a phone's width: log
in, Start, replies arrive (the page counts them and shows latency and frame rate), the overlay
is drawn (people counted, canvas pixels set), Stop saves the session, the page links the
stored video and its report, and the store holds it as ``source = 'live'`` with
``random_weights``. No console error (a CSP violation is one), nothing wider than the phone.
Needs ``/usr/bin/chromium`` and ``/usr/bin/ffmpeg``; never downloads anything.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import sync_playwright

from flows.web.users import Accounts, db_path
from posecoach.store import Store
from tests.helpers import DET_CKPT, REPO, shared_path

CHROMIUM = os.environ.get("POSECOACH_CHROMIUM", "/usr/bin/chromium")
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
PHONE = {"width": 390, "height": 844}
OUTPUT = REPO / "test-output" / "web"
PASSWORD = "correct horse"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) or not os.path.exists(FFMPEG),
        reason=f"{CHROMIUM} or {FFMPEG} is absent: install Debian chromium and ffmpeg",
    ),
]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake_camera(out: Path) -> Path:
    """Two seconds of the two-person clip as the y4m file Chromium's fake camera plays."""
    clip = shared_path("data", "videos", "two_people_1080p.mp4")
    y4m = out / "camera.y4m"
    subprocess.run(
        [FFMPEG, "-v", "error", "-t", "2", "-i", str(clip), "-vf", "scale=480:270,fps=15",
         "-pix_fmt", "yuv420p", str(y4m)],
        check=True,
    )  # fmt: skip
    return y4m


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """``posecoach web`` with live models; (base URL, store folder, fake camera file)."""
    root = tmp_path_factory.mktemp("live-browser")
    camera = fake_camera(root)
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    Accounts(db_path(root / "store"), hasher=fast).add_user("ana", PASSWORD, "coach")
    port = _free_port()
    models = ["--preset", "fast", "--detector", str(shared_path(*DET_CKPT)), "--device", "cpu"]
    models += ["--allow-random-weights", "--models-dir", str(root / "models")]
    args = ["--store", "store", "--inbox", "inbox", "--reports", "reports", "--port", str(port)]
    log = open(root / "server.log", "w")  # noqa: SIM115 - the server writes to it until the end
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli.main", "web", *args, *models],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/login", timeout=5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(
                    f"posecoach web did not start:\n{(root / 'server.log').read_text()}"
                ) from None
            time.sleep(0.3)
    yield base, root / "store", camera
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    log.close()
    assert "RANDOM" in (root / "server.log").read_text()  # said at start


def test_coach_live_with_a_fake_camera_and_save_the_session(site) -> None:
    base, store_dir, camera = site
    errors: list[str] = []
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_context(viewport=PHONE).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/live?athlete=Ana&exercise=squat&view=front")
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url("**/live?athlete=Ana&exercise=squat&view=front")

            page.click("#live-start")
            live = page.locator("#live")
            # Replies arrive and someone is drawn (the tracker confirms people on their
            # second detection, a few frames in).
            page.wait_for_function(
                "() => { const d = document.getElementById('live').dataset;"
                " return Number(d.replies) >= 8 && Number(d.people) >= 1; }",
                timeout=60_000,
            )
            stats = page.locator("#live-stats").inner_text()
            assert " ms · " in stats and "frames/s" in stats, stats
            assert float(live.get_attribute("data-latency") or "nan") > 0
            drawn = page.evaluate(
                "() => { const c = document.querySelector('canvas.live-overlay');"
                " const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) n++; return n; }"
            )
            assert drawn > 100, f"{drawn} overlay pixels drawn"
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{overflow} px wider than the phone"
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / "live-phone.png"), full_page=True)

            page.click("#live-stop")
            page.wait_for_function(
                "() => document.getElementById('live').dataset.saved", timeout=60_000
            )
            video_id = live.get_attribute("data-saved")
            answered = int(live.get_attribute("data-replies") or 0)
            links = page.locator("#live-result a")
            assert links.nth(0).get_attribute("href") == f"/videos/{video_id}"
            report = links.nth(1).get_attribute("href") or ""
            assert report.startswith("/reports/") and report.endswith(f"{video_id}.html")
            links.nth(1).click()
            page.wait_for_load_state("load")
            assert "Ana" in page.content()
        finally:
            browser.close()
    assert not errors, errors
    videos = Store(str(store_dir)).read("videos", video_ids=[video_id])
    row = videos.iloc[0]
    assert (row["source"], row["athlete"], row["exercise"], row["view"]) == (
        "live",
        "Ana",
        "squat",
        "front",
    )
    assert bool(row["random_weights"]) and row["n_tracks"] >= 1
    assert row["frames"] >= answered  # every frame sent was received, answered or dropped
