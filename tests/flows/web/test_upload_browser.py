"""An upload through the browser against ``posecoach web``, analysed for real, to its report.

At a laptop's and a phone's width: log in, pick the file in the upload form's file chooser
(a video on the laptop, a photo from the phone's camera roll), watch the start page (it reloads
itself) until the upload's status is ok, open its report and go back to the app by the
report's link. The server runs the nightly flow with the trained RTMDet-nano person detector
from ../shared and RTMPose-t on random weights, in its own process (``--workers 0``), on the
five-frame street clip: the plumbing is real, the keypoints meaningless. No console error (a
CSP violation is one), nothing wider than the phone, screenshots in ``test-output/web/``.
Needs ``/usr/bin/chromium``; never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Page, sync_playwright

from flows.web.users import Accounts, db_path
from posecoach.store import Store
from tests.flows.web.server import web_server
from tests.helpers import REPO, model_args, real_engine_options, shared_path

CHROMIUM = os.environ.get("POSECOACH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWPORTS = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
OUTPUT = REPO / "test-output" / "web"
PASSWORD = "correct horse"
# The first upload starts a temporary Prefect server and loads the models (on 2 busy cores).
ANALYSIS_TIMEOUT_MS = 300_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent: install Debian chromium (make setup-test)",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, Path]]]:
    """``posecoach web`` with real models; (base URL, store folder, file to upload by width)."""
    root = tmp_path_factory.mktemp("upload-browser")
    street = shared_path("data", "videos", "street_5frames.mp4")
    files = {"laptop": root / "street.mp4", "phone": root / "street-photo.jpg"}
    shutil.copyfile(street, files["laptop"])
    capture = cv2.VideoCapture(str(street))
    ok, frame = capture.read()
    capture.release()
    assert ok, f"{street}: no first frame"
    cv2.imwrite(str(files["phone"]), frame)  # what a phone's camera roll holds: a photo

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    Accounts(db_path(root / "store"), hasher=fast).add_user("ana", PASSWORD, "coach")
    models = model_args(real_engine_options(root / "models"))
    with web_server(root, "--workers", "0", *models) as base:
        yield base, root / "store", files


def _overflow(page: Page) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_upload_through_the_file_chooser_follow_it_to_ok_and_open_the_report(
    site, width: str
) -> None:
    base, store_dir, files = site
    upload = files[width]
    athlete = f"Ana {width}"
    errors: list[str] = []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORTS[width]).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/upload")
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url("**/upload")

            chooser = page.locator("input[type=file][name=file]")
            # the camera roll as well as the camera: both types, and no `capture` forcing one
            assert chooser.get_attribute("accept") == "video/*,image/*"
            assert chooser.get_attribute("capture") is None
            page.fill("input[name=athlete]", athlete)
            page.select_option("select[name=exercise]", "squat")
            chooser.set_input_files(str(upload))
            assert _overflow(page) <= 0, f"the upload form is wider than the {width} viewport"
            page.screenshot(path=str(OUTPUT / f"upload-{width}.png"), full_page=True)
            page.click("form.stack button[type=submit]")
            page.wait_for_url(f"{base}/")

            row = page.locator("tr", has=page.locator(f"td:text-is('{athlete}')"))
            assert row.locator("td.status").count() == 1
            # The page reloads itself every 5 s while the upload is queued or running.
            row.locator("td.status-ok").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
            row.locator("td.status-ok a", has_text="report").wait_for(timeout=ANALYSIS_TIMEOUT_MS)
            assert _overflow(page) <= 0, f"the start page is wider than the {width} viewport"
            page.screenshot(path=str(OUTPUT / f"home-{width}.png"), full_page=True)

            row.locator("td.status-ok a", has_text="report").click()
            page.wait_for_url("**/reports/**.html")
            report_url = page.url
            assert upload.name in page.locator("body").inner_text()
            assert _overflow(page) <= 0, f"the report is wider than the {width} viewport"
            page.screenshot(path=str(OUTPUT / f"report-{width}.png"), full_page=True)
            page.click("a.app[href='/']")  # back to the app from the report
            page.wait_for_url(f"{base}/")
        finally:
            browser.close()
    assert not errors, errors

    (video,) = [
        v for v in Store(str(store_dir)).read("videos").itertuples() if v.athlete == athlete
    ]
    assert video.status == "ok" and video.random_weights and video.n_tracks >= 1
    assert video.source == ("image" if width == "phone" else "video")
    assert report_url == f"{base}/reports/{video.date}/{video.video_id}.html"
