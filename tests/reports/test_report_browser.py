"""The report pages in a real headless browser (Debian chromium driven by Playwright).

Each page, at a laptop and a phone viewport: loads with no console error and no dialog, every
chart renders (plotly's svg), every link and image resolves to a file, no request leaves
``file://``, nothing overflows the phone's width (wide tables scroll in their own box), and a
screenshot goes to ``test-output/reports/``. Needs ``/usr/bin/chromium``
(``make setup-test`` installs it); never downloads a browser.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import sync_playwright

from reports.build import build_reports, video_page_path
from reports.sample import HOSTILE_NAME, UNCLEAR_REASON, build_sample_store
from tests.helpers import REPO

CHROMIUM = os.environ.get("POSECOACH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"laptop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}
OUTPUT = REPO / "test-output" / "reports"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent: install Debian chromium (make setup-test)",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    store, videos = build_sample_store(root / "store")
    out = root / "out"
    build_reports(store, out)
    return out.resolve(), videos


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, url: str, viewport: dict):
    """Load a page, recording console errors, page errors, dialogs and every request."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    events: dict[str, list[str]] = {"errors": [], "dialogs": [], "requests": []}

    def on_console(msg):
        if msg.type == "error":
            events["errors"].append(msg.text)

    def on_dialog(dialog):
        events["dialogs"].append(dialog.message)
        dialog.dismiss()

    def on_route(route):
        events["requests"].append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: events["errors"].append(str(exc)))
    page.on("dialog", on_dialog)
    page.on("requestfailed", lambda r: events["errors"].append(f"failed: {r.url}"))
    page.route("**/*", on_route)
    page.goto(url, wait_until="load")
    return context, page, events


def _wait(page, expression: str, timeout_s: float = 15.0) -> None:
    """Poll a JS expression from Python: the pages' CSP forbids the eval Playwright's
    wait_for_function uses, and tests should run under the same policy as a coach's browser."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def _pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html"))


def _check_page(browser, out: Path, path: Path) -> None:
    context, page, events = _open(browser, path.as_uri(), VIEWPORTS["laptop"])
    try:
        n_charts = page.locator("[data-chart]").count()
        if n_charts:
            _wait(
                page, f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_charts}"
            )
            plots = page.locator(".js-plotly-plot")
            assert plots.count() == n_charts, path
            for i in range(n_charts):
                assert plots.nth(i).locator("svg.main-svg").count() >= 1, path
                assert plots.nth(i).locator("g.trace").count() >= 1, path  # data drawn
        # every link, image, script and stylesheet points at a file in the report folder
        urls = page.eval_on_selector_all(
            "a[href], img[src], script[src], link[href]",
            "els => els.map(e => e.href || e.src)",
        )
        assert urls, f"no link, image, script or stylesheet in {path}"
        for url in urls:
            parsed = urlparse(url)
            assert parsed.scheme == "file", (path, url)
            target = Path(unquote(parsed.path))
            assert target.exists(), (path, url)
            assert out in target.parents or target == out, (path, url)
            if parsed.fragment:
                assert page.locator(f"[id='{parsed.fragment}']").count() == 1, (path, url)
        # eagerly load lazy images, then check each decoded
        page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
        _wait(page, "[...document.images].every(i => i.complete)")
        broken = page.eval_on_selector_all(
            "img", "els => els.filter(i => !i.naturalWidth).map(i => i.src)"
        )
        assert broken == [], (path, broken)
        # each viewport (resized in place: plotly.js is parsed once per page, not per size)
        for name, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            if n_charts:  # responsive charts follow the window: wait until they fit it
                _wait(
                    page,
                    "[...document.querySelectorAll('.js-plotly-plot .main-svg')]"
                    f".every(s => s.getBoundingClientRect().right <= {viewport['width']})",
                )
                # and no chart spills over what follows it
                spill = page.evaluate(
                    "[...document.querySelectorAll('.js-plotly-plot')].map(p =>"
                    " p.querySelector('.main-svg').getBoundingClientRect().height"
                    " - p.getBoundingClientRect().height)"
                )
                assert max(spill) <= 1, (path, name, spill)
            # fluid layout: the page never scrolls sideways (wide tables scroll in their box)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, name, overflow)
            OUTPUT.mkdir(parents=True, exist_ok=True)
            shot = OUTPUT / f"{path.relative_to(out).as_posix().replace('/', '__')}-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 1000
        assert events["errors"] == [], (path, events["errors"])
        assert events["dialogs"] == [], (path, events["dialogs"])
        leaving = [u for u in events["requests"] if not u.startswith("file://")]
        assert leaving == [], (path, leaving)
    finally:
        context.close()


def test_every_page_loads_renders_and_stays_offline(site, browser):
    out, _ = site
    pages = _pages(out)
    assert len(pages) >= 8
    for path in pages:
        _check_page(browser, out, path)


def test_hostile_file_name_is_text_and_no_script_runs(site, browser):
    out, videos = site
    hostile = next(v for v in videos if v.file_name == HOSTILE_NAME)
    context, page, events = _open(
        browser, video_page_path(out, hostile.date, hostile.video_id).as_uri(), VIEWPORTS["laptop"]
    )
    try:
        _wait(page, "document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
        assert page.locator("h1").inner_text() == HOSTILE_NAME
        # the hover label of the shallow rep's marker shows the hostile message as text
        page.evaluate(
            "() => Plotly.Fx.hover(document.querySelector('.js-plotly-plot'),"
            " [{curveNumber: 1, pointNumber: 0}])"
        )
        hover = page.locator(".hoverlayer").first.text_content()
        assert "</script><script>alert(3)</script>" in hover
        assert page.evaluate("document.querySelectorAll('script').length") == 3
        assert events["dialogs"] == []
        assert events["errors"] == []
    finally:
        context.close()


def test_per_rep_views_and_not_assessable_reasons_are_shown(site, browser):
    # What a coach sees, rendered: each rep's camera view, an unclear rep's reason under its
    # cell, and what the side view cannot show said once as a fact about the camera.
    out, videos = site
    tuesday = next(v for v in videos if v.file_name == "ana_squat_tuesday.mp4")
    monday = next(v for v in videos if v.file_name == "ana_squat_monday.mp4")
    context, page, events = _open(
        browser, video_page_path(out, tuesday.date, tuesday.video_id).as_uri(), VIEWPORTS["phone"]
    )
    try:
        table = page.locator("table.reps")
        headers = table.locator("thead th").all_inner_texts()
        assert "view" in headers
        column = headers.index("view")
        views = [
            row.locator("td").nth(column).inner_text() for row in table.locator("tbody tr").all()
        ]
        assert views == ["side"] * tuesday.tracks[0].n_reps
        cell = table.locator("td.sev-cell-not_assessable")
        assert cell.count() == 1
        assert cell.inner_text().split("\n") == ["not assessable", UNCLEAR_REASON]
        assert cell.locator(".note").is_visible()
        summary = page.locator("#summary").inner_text()
        assert f"depth not assessable on 1 rep ({UNCLEAR_REASON})" in summary
        assert page.locator("#camera-view").inner_text() == "side (declared)"
        page.goto(video_page_path(out, monday.date, monday.video_id).as_uri())
        summary = page.locator("#summary").inner_text()
        assert summary.endswith("; knee valgus needs a front view (filmed side)")
        assert summary.count("knee valgus") == 1
        assert events["errors"] == []
    finally:
        context.close()
