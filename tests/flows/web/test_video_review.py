"""The video page of the web app: reviewing findings and naming the people of a group video.

A generated store with one two-person squat video: track 1 does 5 reps, track 2 does 3 (its
first too shallow). Every post needs the session's CSRF token; what is posted lands in the
store's ``reviews`` and ``track_athletes`` tables and shows, escaped, on the pages.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from flows.web.context import WebConfig
from posecoach.annotations import AGREEMENT_SQL, track_names
from posecoach.store import Store
from posecoach.videos import VideoRow, write_video_row
from reports.build import build_reports
from reports.reading import MAX_BYSTANDERS, athlete_rows, nameable_tracks
from reports.sample import SAMPLE_RULE_ID, SampleTrack, SampleVideo, build_sample_store
from reports.site import APP_LINKS_MARKER, athlete_page_path, video_page_path
from tests.helpers import csrf_of, log_in

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.fixture
def video_id(config: WebConfig) -> str:
    video = SampleVideo(
        "group.mp4",
        "Ana",
        "squat",
        "2024-05-06",
        "2024-05-05T19:00:00",
        tracks=[SampleTrack(1, 5, x=0.3), SampleTrack(2, 3, shallow={0}, x=0.7)],
        width=480,
    )
    store, _ = build_sample_store(config.store, [video])
    build_reports(store, config.reports)
    return video.video_id


@pytest.fixture
def client(make_app, video_id: str) -> TestClient:
    client = TestClient(make_app(), follow_redirects=False)
    log_in(client, "bob")
    return client


def finding(track_id: int, rep_index: int, check_id: str, **extra: str) -> dict[str, str]:
    return {
        "track_id": str(track_id),
        "rep_index": str(rep_index),
        "check_id": check_id,
        "rule_id": SAMPLE_RULE_ID,
        "rule_version": "1",
        **extra,
    }


def summaries_of(page: Path) -> list[str]:
    return re.findall(r'class="summary-cell">([^<]*)<', page.read_text())


# -- reviews ----------------------------------------------------------------------------------------
def test_a_review_needs_the_csrf_token_is_stored_and_shown_escaped(
    client: TestClient, config: WebConfig, video_id: str
) -> None:
    url = f"/videos/{video_id}"
    form = finding(2, 0, "depth", verdict="disagree", note="<b>deep enough</b>")
    assert client.post(f"{url}/reviews", data=form).status_code == 403
    assert client.post(f"{url}/reviews", data={**form, "csrf_token": "x"}).status_code == 403
    assert not len(Store(config.store).read("reviews"))

    token = csrf_of(client.get(url).text)
    response = client.post(f"{url}/reviews", data={**form, "csrf_token": token})
    assert response.status_code == 303
    (row,) = Store(config.store).read("reviews").itertuples()
    assert (row.video_id, row.track_id, row.rep_index, row.check_id) == (video_id, 2, 0, "depth")
    assert (row.reviewer, row.verdict, row.note) == ("bob", "disagree", "<b>deep enough</b>")

    html = client.get(url).text
    assert "&lt;b&gt;deep enough&lt;/b&gt;" in html and "<b>deep enough" not in html
    assert "bob: disagree" in html
    # and on the video's report page, rendered again
    report = video_page_path(config.reports, "2024-05-06", video_id).read_text()
    assert "Rep 1 · depth: bob disagrees: <q>&lt;b&gt;deep enough&lt;/b&gt;</q>" in report

    # the latest review of a finding by the same coach replaces the earlier one
    again = finding(2, 0, "depth", verdict="agree", csrf_token=token)
    assert client.post(f"{url}/reviews", data=again).status_code == 303
    (row,) = Store(config.store).read("reviews").itertuples()
    assert (row.verdict, row.note) == ("agree", "")


def test_a_review_of_a_finding_not_in_the_video_or_a_bad_verdict_is_refused(
    client: TestClient, config: WebConfig, video_id: str
) -> None:
    url = f"/videos/{video_id}"
    token = csrf_of(client.get(url).text)
    for form in (
        finding(2, 7, "depth", verdict="agree"),  # track 2 has 3 reps
        finding(2, 0, "valgus", verdict="agree"),
        finding(2, 0, "depth", verdict="maybe"),
    ):
        response = client.post(f"{url}/reviews", data={**form, "csrf_token": token})
        assert response.status_code == 400
    assert not len(Store(config.store).read("reviews"))


def test_the_agreement_query_counts_each_check_and_rule_version(
    client: TestClient, make_app, config: WebConfig, video_id: str
) -> None:
    url = f"/videos/{video_id}/reviews"
    token = csrf_of(client.get(f"/videos/{video_id}").text)
    for form in (
        finding(1, 0, "depth", verdict="agree"),
        finding(1, 1, "depth", verdict="disagree"),
        finding(2, 0, "depth", verdict="agree"),
        finding(1, 0, "trunk_lean", verdict="agree"),
    ):
        assert client.post(url, data={**form, "csrf_token": token}).status_code == 303
    ana = TestClient(make_app(), follow_redirects=False)
    log_in(ana, "ana")
    token = csrf_of(ana.get(f"/videos/{video_id}").text)
    form = finding(1, 0, "trunk_lean", verdict="disagree", csrf_token=token)
    assert ana.post(url, data=form).status_code == 303

    result = Store(config.store).query(AGREEMENT_SQL)
    assert list(result["check_id"]) == ["depth", "trunk_lean"]
    assert list(result["rule_version"]) == ["1", "1"]
    assert list(result["reviews"]) == [3, 2]
    assert list(result["agreement"]) == pytest.approx([2 / 3, 1 / 2])
    # the README shows the same query
    assert " ".join(AGREEMENT_SQL.split()) in " ".join(README.read_text().split())


# -- naming people --------------------------------------------------------------------------------
def test_naming_a_track_moves_its_reps_to_that_athletes_page(
    client: TestClient, config: WebConfig, video_id: str
) -> None:
    store = Store(config.store)
    ana_page = athlete_page_path(config.reports, "Ana")
    ben_page = athlete_page_path(config.reports, "ben")
    before = summaries_of(ana_page)
    assert len(before) == 1 and "#1: 5 reps" in before[0] and "#2: 3 reps" in before[0]
    assert not ben_page.exists()

    url = f"/videos/{video_id}/tracks/1"
    assert client.post(url, data={"athlete": "ben"}).status_code == 403
    assert not len(store.read("track_athletes"))
    token = csrf_of(client.get(f"/videos/{video_id}").text)
    assert client.post(url, data={"athlete": "ben", "csrf_token": token}).status_code == 303

    (row,) = store.read("track_athletes").itertuples()
    assert (row.video_id, row.track_id, row.athlete, row.named_by) == (video_id, 1, "ben", "bob")
    _, ben_reps, ben_findings = athlete_rows(store, "ben")
    _, ana_reps, ana_findings = athlete_rows(store, "Ana")
    assert set(ben_reps["track_id"]) == set(ben_findings["track_id"]) == {1}
    assert len(ben_reps) == 5
    assert set(ana_reps["track_id"]) == set(ana_findings["track_id"]) == {2}
    assert len(ana_reps) == 3

    # the reports were rebuilt: ben's page has track 1's reps, Ana's no longer does
    (ben_line,) = summaries_of(ben_page)
    (ana_line,) = summaries_of(ana_page)
    assert ben_line.startswith("5 reps") and "3 reps" not in ben_line
    assert ana_line.startswith("3 reps") and "5 reps" not in ana_line
    assert "ben" in (config.reports / "index.html").read_text()
    assert re.search(
        r'<a href="/reports/athletes/ben-[0-9a-f]+\.html">ben</a>', client.get("/").text
    )
    report = video_page_path(config.reports, "2024-05-06", video_id).read_text()
    assert 'Person #1: <span class="named">ben</span>' in report
    assert 'Person #2: <span class="named">' not in report
    night = (config.reports / "2024-05-06" / "index.html").read_text()
    assert re.search(
        r'<div class="named">#1 <a href="../athletes/ben-[0-9a-f]+\.html">ben</a>', night
    )
    page = client.get(f"/videos/{video_id}").text
    assert re.search(r'Person 1: <span class="athlete">ben</span> \(named\)', page)

    # naming it back to the video's athlete gives the reps back
    assert client.post(url, data={"athlete": "Ana", "csrf_token": token}).status_code == 303
    assert not len(store.read("track_athletes"))
    assert "#1: 5 reps" in summaries_of(ana_page)[0]
    assert not summaries_of(ben_page)


def test_a_hostile_athlete_name_is_stored_and_shown_escaped(
    client: TestClient, config: WebConfig, video_id: str
) -> None:
    token = csrf_of(client.get(f"/videos/{video_id}").text)
    name = "<img src=x onerror=alert(1)>"
    response = client.post(
        f"/videos/{video_id}/tracks/2", data={"athlete": name, "csrf_token": token}
    )
    assert response.status_code == 303
    html = client.get(f"/videos/{video_id}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and name not in html
    bad = {"athlete": "../x", "csrf_token": token}
    assert client.post(f"/videos/{video_id}/tracks/2", data=bad).status_code == 400
    assert client.post(f"/videos/{video_id}/tracks/9", data=bad).status_code == 400


def test_the_video_pages_need_a_login(make_app, video_id: str) -> None:
    client = TestClient(make_app(), follow_redirects=False)
    for path in ("/videos", f"/videos/{video_id}"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    log_in(client, "bob")
    listing = client.get("/videos").text
    assert f'href="/videos/{video_id}"' in listing and "group.mp4" in listing
    assert client.get("/videos/nosuchvideo").status_code == 404
    assert client.get("/videos/..%2f..%2fetc").status_code == 404


def test_a_live_session_is_listed_by_its_start_and_random_weights_are_said(
    client: TestClient, config: WebConfig, video_id: str
) -> None:
    live = VideoRow(
        video_id="00000000000000aa",
        date="2026-12-01",
        path="live:00000000000000aa",
        athlete="Eva",
        exercise="squat",
        source="live",
        status="ok",
        recorded_at=dt.datetime(2026, 12, 1, 16, 35, 12, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        processed_at=dt.datetime(2026, 12, 1, 15, 40, tzinfo=dt.UTC),
        random_weights=True,
    )
    write_video_row(Store(config.store), live)
    label = "Live session 2026-12-01 15:35 UTC"
    assert f'<a href="/videos/{live.video_id}">{label}</a>' in client.get("/videos").text
    page = client.get(f"/videos/{live.video_id}").text
    assert f"<h1>{label}</h1>" in page
    # untrained models: said before anyone reviews the findings
    assert page.count("randomly initialised model weights") == 1
    assert "randomly initialised" not in client.get(f"/videos/{video_id}").text


def test_reports_served_by_the_app_link_back_to_it_and_the_folders_do_not(
    client: TestClient, config: WebConfig, video_id: str
) -> None:
    page = video_page_path(config.reports, "2024-05-06", video_id)
    built = page.read_text()
    assert APP_LINKS_MARKER in built and 'class="app"' not in built  # read from a share
    served = client.get(f"/reports/2024-05-06/{video_id}.html").text
    nav = re.search(r"<nav>(.*?)</nav>", served, re.S)
    assert nav is not None and APP_LINKS_MARKER not in served
    assert re.findall(r'<a class="app" href="([^"]*)">', nav.group(1)) == [
        "/",
        f"/videos/{video_id}",
    ]
    night = client.get("/reports/2024-05-06/index.html").text
    assert re.findall(r'<a class="app" href="([^"]*)">', night) == ["/"]
    assert (
        client.get("/reports/assets/report.css").text
        == (config.reports / "assets" / "report.css").read_text()
    )


def test_a_bystander_without_reps_has_a_thumbnail_and_can_be_named(
    make_app, config: WebConfig
) -> None:
    video = SampleVideo(
        "class.mp4",
        "Ana",
        "squat",
        "2024-05-07",
        "2024-05-06T19:00:00",
        tracks=[SampleTrack(1, 2, x=0.3), SampleTrack(4, 0, x=0.75, scored=False)],
        width=480,
    )
    store, _ = build_sample_store(config.store, [video])
    build_reports(store, config.reports)
    seen = int((store.read("keypoints", [video.video_id])["track_id"] == 4).sum())
    assert seen > 0 and not (store.read("reps", [video.video_id])["track_id"] == 4).any()
    client = TestClient(make_app(), follow_redirects=False)
    log_in(client, "bob")
    url = f"/videos/{video.video_id}"

    html = client.get(url).text
    section = re.search(r'<section class="track" id="track-4">.*?</section>', html, re.S)
    assert section is not None
    assert f"Not scored: seen in {seen} frame(s)." in section.group(0)
    (src,) = re.findall(r'<img class="thumb" src="([^"]+)"', section.group(0))
    image = client.get(src)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"  # a JPEG
    assert f'action="{url}/tracks/4"' in section.group(0)

    token = csrf_of(html)
    response = client.post(f"{url}/tracks/4", data={"athlete": "Cleo", "csrf_token": token})
    assert response.status_code == 303
    assert track_names(store, [video.video_id]) == {(video.video_id, 4): "Cleo"}
    assert re.search(r'Person 4: <span class="athlete">Cleo</span> \(named\)', client.get(url).text)


def test_the_longest_bystanders_are_offered_beside_every_scored_track() -> None:
    # tracks 10..21 unscored, track t seen in 100 + t frames (one tie: 30 and 31 as long as 21)
    frames = pd.Series({t: 100 + t for t in range(10, 22)} | {30: 121, 31: 121, 1: 5, 2: 3})
    offered = nameable_tracks(frames, scored=[1, 2, 99])
    assert MAX_BYSTANDERS == 8
    # the scored ones (99 has no keypoints: named only if scored) and the 8 longest others:
    # 121 x3 (21, 30, 31), then 20, 19, 18, 17, 16
    assert offered == [1, 2, 16, 17, 18, 19, 20, 21, 30, 31, 99]
