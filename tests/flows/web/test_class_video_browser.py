"""A class video filed under two athletes, in a real headless browser at a phone's width:
say which person is Ana and which is Bob, and read it back on the page and on Bob's trends.

Same server set-up as test_video_review_browser.py (``posecoach web`` in a subprocess, Debian's
chromium); no console error, nothing wider than 390 px, a screenshot in ``test-output/web/``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import sync_playwright

from flows.web.users import Accounts, db_path
from posecoach.videos import read_video_rows, write_video_row
from reports.build import build_reports
from reports.sample import SampleTrack, SampleVideo, build_sample_store
from tests.flows.web.server import web_server
from tests.flows.web.test_video_review_browser import (
    ARGS,
    CHROMIUM,
    OUTPUT,
    PASSWORD,
    VIEWPORTS,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """``posecoach web`` over a class filed under Ana with Bob's copy; (URL, video, copy)."""
    root = tmp_path_factory.mktemp("web-class")
    video = SampleVideo(
        "class.mp4", "Ana", "squat", "2024-05-06", "2024-05-05T19:00:00",
        tracks=[SampleTrack(1, 5, x=0.3), SampleTrack(2, 3, shallow={0}, x=0.7)], width=480,
    )  # fmt: skip
    store, _ = build_sample_store(root / "store", [video])
    (analysed,) = read_video_rows(store, [video.video_id])
    copy = analysed.as_copy(athlete="Bob", path="Bob/squat/class.mp4", file_name="class.mp4",
                            processed_at=dt.datetime(2024, 5, 6, 3, tzinfo=dt.UTC))  # fmt: skip
    write_video_row(store, copy)
    build_reports(store, root / "reports")
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    Accounts(db_path(root / "store"), hasher=fast).add_user("ana", PASSWORD, "admin")
    with web_server(root) as base:
        yield base, video.video_id, copy.video_id


def test_name_each_athletes_person_of_a_class_video_on_a_phone(site) -> None:
    base, video_id, copy_id = site
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORTS["phone"]).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/videos/{copy_id}")  # Bob's copy: the analysed video's page
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url(f"**/videos/{video_id}")
            assert page.locator("#filed-under h2").inner_text() == "Filed under Ana, Bob"
            assert page.locator("#track-2 h2").inner_text() == "Person 2: not named yet"

            for athlete, track in (("Ana", "1"), ("Bob", "2")):
                form = page.locator("#filed-under form", has_text=f"Which person is {athlete}?")
                form.locator("select[name=track_id]").select_option(track)
                form.locator("button", has_text="Save").click()
                page.wait_for_load_state("load")
            assert page.locator("#track-1 h2").inner_text() == "Person 1: Ana (named)"
            assert page.locator("#track-2 h2").inner_text() == "Person 2: Bob (named)"
            bob = page.locator("#filed-under form", has_text="Which person is Bob?")
            assert bob.locator("select[name=track_id]").input_value() == "2"

            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{overflow} px wider than the phone"
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / "class-video-phone.png"), full_page=True)

            page.goto(f"{base}/reports/index.html")
            page.click("text=Bob")
            summary = page.locator(".summary-cell").first.inner_text()
            assert summary.startswith("3 reps") and "5 reps" not in summary
        finally:
            browser.close()
    assert not errors, errors
