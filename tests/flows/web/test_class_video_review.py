"""The web app's page of a video filed under two athletes: which person is each of them.

A generated two-person squat class (track 1: 5 reps, track 2: 3) filed under Ana, with Bob's
copy. The copy's page redirects to the analysed video's; that page asks, for Ana and for Bob,
which person they are; each answer lands in ``track_athletes`` and rebuilds both pages.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.web.context import WebConfig
from posecoach.store import Store
from posecoach.videos import read_video_rows, write_video_row
from reports.build import build_reports
from reports.sample import SampleTrack, SampleVideo, build_sample_store
from reports.site import athlete_page_path
from tests.helpers import csrf_of, log_in


@pytest.fixture
def ids(config: WebConfig) -> tuple[str, str]:
    video = SampleVideo(
        "class.mp4", "Ana", "squat", "2024-05-06", "2024-05-05T19:00:00",
        tracks=[SampleTrack(1, 5, x=0.3), SampleTrack(2, 3, shallow={0}, x=0.7)], width=480,
    )  # fmt: skip
    store, _ = build_sample_store(config.store, [video])
    (analysed,) = read_video_rows(store, [video.video_id])
    copy = analysed.as_copy(
        athlete="Bob", path="Bob/squat/class.mp4", file_name="class.mp4",
        processed_at=dt.datetime(2024, 5, 6, 3, tzinfo=dt.UTC),
    )  # fmt: skip
    write_video_row(store, copy)
    build_reports(store, config.reports)
    return video.video_id, copy.video_id


@pytest.fixture
def client(make_app, ids) -> TestClient:
    client = TestClient(make_app(), follow_redirects=False)
    log_in(client, "bob")
    return client


def _summary(page: Path) -> str:
    (line,) = re.findall(r'class="summary-cell">([^<]*)<', page.read_text())
    return line


def test_each_athlete_the_video_is_filed_under_names_their_person(
    client: TestClient, config: WebConfig, ids: tuple[str, str]
) -> None:
    vid, copy = ids
    response = client.get(f"/videos/{copy}")
    assert response.status_code == 303 and response.headers["location"] == f"/videos/{vid}"
    html = client.get(f"/videos/{vid}").text
    assert "Filed under Ana, Bob" in html
    assert "Which person is Ana?" in html and "Which person is Bob?" in html
    assert html.count('<span class="waiting">not named yet</span>') == 2
    ana_page, bob_page = (athlete_page_path(config.reports, a) for a in ("Ana", "Bob"))
    everyone = "2 people. #1: 5 reps, no flags; #2: 3 reps, 1 with depth caution"
    assert _summary(ana_page) == _summary(bob_page) == everyone

    url = f"/videos/{vid}/athletes"
    assert client.post(url, data={"athlete": "Ana", "track_id": "1"}).status_code == 403
    token = csrf_of(html)
    for athlete, track in (("Ana", "1"), ("Bob", "2")):
        form = {"athlete": athlete, "track_id": track, "csrf_token": token}
        assert client.post(url, data=form).status_code == 303
    rows = Store(config.store).read("track_athletes").sort_values("track_id")
    assert list(zip(rows["video_id"], rows["track_id"], rows["athlete"], strict=True)) == [
        (vid, 1, "Ana"), (vid, 2, "Bob"),
    ]  # fmt: skip
    # both pages rebuilt: exactly each athlete's person
    assert _summary(ana_page).startswith("5 reps") and "3 reps" not in _summary(ana_page)
    assert _summary(bob_page).startswith("3 reps") and "5 reps" not in _summary(bob_page)
    html = client.get(f"/videos/{vid}").text
    assert re.search(r'<option value="1" selected>Person 1</option>', html)
    assert re.search(r'Person 2: <span class="athlete">Bob</span> \(named\)', html)

    # "not named yet" takes Bob's name back: he is offered everyone not named again
    form = {"athlete": "Bob", "track_id": "", "csrf_token": token}
    assert client.post(url, data=form).status_code == 303
    assert _summary(bob_page).startswith("3 reps")  # the only person nobody named
    assert "Not named yet" in bob_page.read_text()

    # only the athletes it is filed under, only its people
    for bad in ({"athlete": "Cleo", "track_id": "1"}, {"athlete": "Ana", "track_id": "9"}):
        assert client.post(url, data={**bad, "csrf_token": token}).status_code == 400


def test_naming_the_analysed_athlete_on_a_track_is_kept_in_a_class_video(
    client: TestClient, config: WebConfig, ids: tuple[str, str]
) -> None:
    vid, _ = ids
    token = csrf_of(client.get(f"/videos/{vid}").text)
    form = {"athlete": "Ana", "csrf_token": token}
    assert client.post(f"/videos/{vid}/tracks/1", data=form).status_code == 303
    rows = Store(config.store).read("track_athletes")
    assert list(zip(rows["track_id"], rows["athlete"], strict=True)) == [(1, "Ana")]
    bob_page = athlete_page_path(config.reports, "Bob")
    assert _summary(bob_page).startswith("3 reps")
