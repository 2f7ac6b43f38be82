"""The video page in a real headless browser against ``posecoach web``: log in, review a finding
with a note, name a person of a two-person video; at a laptop's and a phone's width.

No console error (a CSP violation is one), nothing wider than the phone, the review and the
name shown after the post, a screenshot of each width in ``test-output/web/``. Needs
``/usr/bin/chromium`` (``make setup-test``); never downloads a browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import sync_playwright

from flows.web.users import Accounts, db_path
from reports.build import build_reports
from reports.sample import SampleTrack, SampleVideo, build_sample_store
from tests.flows.web.server import web_server
from tests.helpers import REPO

CHROMIUM = os.environ.get("POSECOACH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWPORTS = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
OUTPUT = REPO / "test-output" / "web"
PASSWORD = "correct horse"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent: install Debian chromium (make setup-test)",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``posecoach web`` over a store with one two-person video; (base URL, video id)."""
    root = tmp_path_factory.mktemp("web-browser")
    video = SampleVideo(
        "group.mp4",
        "Ana",
        "squat",
        "2024-05-06",
        "2024-05-05T19:00:00",
        tracks=[SampleTrack(1, 5, x=0.3), SampleTrack(2, 3, shallow={0}, x=0.7)],
        width=480,
    )
    store, _ = build_sample_store(root / "store", [video])
    build_reports(store, root / "reports")
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    Accounts(db_path(root / "store"), hasher=fast).add_user("ana", PASSWORD, "admin")
    with web_server(root) as base:
        yield base, video.video_id


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_review_a_finding_and_name_a_person_in_the_browser(site, width: str) -> None:
    base, video_id = site
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport=VIEWPORTS[width]).new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/videos/{video_id}")
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url(f"**/videos/{video_id}")

            finding = page.locator("#f-2-0-depth")
            note = f"<b>deep enough</b> ({width})"
            finding.locator("input[name=note]").fill(note)
            finding.locator("button[value=disagree]").click()
            page.wait_for_load_state("load")
            shown = page.locator("#f-2-0-depth .review").inner_text()
            assert shown == f"ana: disagree: {note}"  # the note as text, not markup

            person = page.locator("#track-1")
            person.locator("input[name=athlete]").fill("ben")
            person.locator("button", has_text="Save the name").click()
            page.wait_for_load_state("load")
            assert page.locator("#track-1 h2").inner_text() == "Person 1: ben (named)"
            assert page.locator("#track-1 img.thumb").evaluate("i => i.naturalWidth") > 0

            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{overflow} px wider than the {width} viewport"
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / f"video-{width}.png"), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
