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

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import sync_playwright

from analysis.testing.synthetic import generate_clip
from flows.web.app import create_app
from flows.web.live_session import LiveSetup
from flows.web.security import LoginThrottle
from flows.web.users import Accounts, db_path
from posecoach.store import Store
from tests.flows.web.server import free_port, web_server
from tests.helpers import DET_CKPT, REPO, WEB_PASSWORDS, shared_path

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
    models = ["--preset", "fast", "--detector", str(shared_path(*DET_CKPT)), "--device", "cpu"]
    models += ["--allow-random-weights", "--models-dir", str(root / "models")]
    with web_server(root, *models) as base:
        yield base, root / "store", camera
    assert "RANDOM" in (root / "server.log").read_text()  # said at start


def browser_args(camera: Path) -> list[str]:
    """Headless Chromium whose camera plays ``camera`` (y4m), allowed without asking."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]


def open_live(browser: Any, url: str, user: str, password: str, errors: list[str]) -> Any:
    """A phone-sized page on ``url`` (a Live page), logged in on the way; console errors kept."""
    page = browser.new_context(viewport=PHONE).new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(url)
    return page


def test_coach_live_with_a_fake_camera_and_save_the_session(site) -> None:
    base, store_dir, camera = site
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=browser_args(camera))
        try:
            url = f"{base}/live?athlete=Ana&exercise=squat&view=front"
            page = open_live(browser, url, "ana", PASSWORD, errors)

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


# -- known motion: a camera whose frames say which frame of a generated set they are -------------
CODE_BITS = 9  # frame numbers up to 511: the set has 271 frames
CODE_SIZE = (320, 180)  # the fake camera's frames; a bit is a 32 px black or white square


def coded_camera(out: Path, frames: int, fps: float) -> Path:
    """A y4m clip whose frame n shows n in binary (white square: 1) along its top edge."""
    w, h = CODE_SIZE
    video = np.full((frames, h, w), 90, np.uint8)
    for n in range(frames):
        for bit in range(CODE_BITS):
            video[n, 8:40, 32 * bit : 32 * bit + 32] = 255 if n >> bit & 1 else 0
    y4m = out / "coded.y4m"
    subprocess.run(
        [FFMPEG, "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{w}x{h}",
         "-r", str(fps), "-i", "-", "-pix_fmt", "yuv420p", str(y4m)],
        input=video.tobytes(),
        check=True,
    )  # fmt: skip
    return y4m


def frame_number(image: np.ndarray) -> int:
    """The number a coded frame shows (read at the squares' centres, whatever the scale)."""
    h, w = image.shape[:2]
    y = round(24 / CODE_SIZE[1] * h)
    bits = [image[y, round((32 * b + 16) / CODE_SIZE[0] * w)].mean() > 128 for b in range(9)]
    return sum(1 << b for b, bit in enumerate(bits) if bit)


def known_motion(points: Any) -> Any:
    """A pose estimator that answers each coded frame with the set's keypoints of that frame."""

    def pose(image: np.ndarray) -> list[tuple[int, Any, np.ndarray]]:
        i = min(frame_number(image), len(points) - 1)
        kp = np.concatenate([points.xy[i], points.scores[i][:, None]], axis=1)
        return [(1, points.box[i].tolist(), kp)]

    return pose


@pytest.fixture
def coded_site(config, accounts, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app in this process (uvicorn in a thread) with the known-motion estimator: a
    3-squat set whose second squat is shallow; (base URL, fake camera file)."""
    clip = generate_clip("squat", view="side", reps=3, depth=[90, 125, 90], fps=30.0)
    camera = coded_camera(tmp_path, len(clip.points), 30.0)
    app = create_app(
        config,
        accounts=accounts,
        run_batch=lambda paths: {"outcomes": []},
        api=contextlib.nullcontext,
        throttle=LoginThrottle(),
        live=LiveSetup(known_motion(clip.points)),
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", camera
    server.should_exit = True
    thread.join(timeout=30)


def test_the_page_shows_the_live_count_and_the_cue_of_known_motion(coded_site, config) -> None:
    """The camera plays the set (looping); the page counts 0, 1, 2, 3 and shows the shallow
    second squat's cue, and only that cue, from a moment after the second squat's count on."""
    base, camera = coded_site
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=browser_args(camera))
        try:
            url = f"{base}/live?athlete=eve&exercise=squat&view=side"
            page = open_live(browser, url, "ana", WEB_PASSWORDS["ana"], errors)
            # Every change of the count or the cue, in order, as the coach saw them.
            page.evaluate(
                "() => { window.seen = [];"
                " const note = () => window.seen.push([document.getElementById('live-reps')"
                ".textContent, document.getElementById('live-cue').textContent]);"
                " const o = new MutationObserver(note);"
                " for (const id of ['live-reps', 'live-cue'])"
                "   o.observe(document.getElementById(id), {childList: true, characterData: true,"
                " subtree: true}); }"
            )
            page.click("#live-start")
            page.wait_for_function(
                "() => document.getElementById('live-reps').textContent === '3'", timeout=60_000
            )
            seen = [tuple(x) for x in page.evaluate("window.seen")]
            page.click("#live-stop")
            page.wait_for_function(
                "() => document.getElementById('live').dataset.saved", timeout=60_000
            )
            video_id = page.locator("#live").get_attribute("data-saved")
        finally:
            browser.close()
    assert not errors, errors
    counts = [int(reps) for reps, _ in seen]
    assert counts == sorted(counts) and sorted(set(counts)) == [0, 1, 2, 3], seen
    cues = {cue for _, cue in seen if cue}
    assert len(cues) == 1 and "Shallow squat" in cues.pop(), seen
    # It comes once the second squat has settled, and stands until the third is judged.
    assert next(reps for reps, cue in seen if cue) == "2", seen
    reps = Store(config.store).read("reps", video_ids=[video_id])
    assert len(reps) >= 3
