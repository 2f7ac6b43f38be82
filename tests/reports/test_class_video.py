"""One recording of a class filed under two athletes: analysed once, on both athletes' pages,
each with the person named for them (schema 9, ``videos.same_content_as``).

A generated two-person squat video (track 1: 5 reps, track 2: 3, the first too shallow) filed
under Ana, its copy under Bob, and a session of Ana's alone on the next day (4 reps). Before
naming, both pages list the class with every person and leave it out of the trend; naming
person 1 for Ana and person 2 for Bob puts exactly each one's reps on their page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from posecoach.annotations import ATHLETE_REPS_SQL, filed_under, name_athlete, track_owners
from posecoach.store import Store
from posecoach.videos import VideoRow, copy_video_id, read_video_rows, write_video_row
from reports.build import build_reports
from reports.reading import athlete_tracks
from reports.sample import SampleTrack, SampleVideo, build_sample_store
from reports.site import athlete_page_path, night_page_path, video_page_path

README = Path(__file__).resolve().parents[2] / "README.md"
CLASS_DAY, SOLO_DAY = "2024-05-06", "2024-05-07"


def _class_store(root: Path) -> tuple[Store, str, str]:
    """The class video (Ana's) with Bob's copy, and Ana's own session; their ids."""
    group = SampleVideo(
        "class.mp4", "Ana", "squat", CLASS_DAY, "2024-05-05T19:00:00",
        tracks=[SampleTrack(1, 5, x=0.3), SampleTrack(2, 3, shallow={0}, x=0.7)], width=480,
    )  # fmt: skip
    solo = SampleVideo(
        "ana_alone.mp4", "Ana", "squat", SOLO_DAY, "2024-05-06T18:00:00",
        tracks=[SampleTrack(1, 4)],
    )  # fmt: skip
    store, _ = build_sample_store(root, [group, solo])
    (analysed,) = read_video_rows(store, [group.video_id])
    copy = analysed.as_copy(
        athlete="Bob", path="Bob/squat/class.mp4", file_name="class.mp4",
        processed_at=dt.datetime(2024, 5, 6, 3, tzinfo=dt.UTC),
    )  # fmt: skip
    write_video_row(store, copy)
    return store, group.video_id, copy.video_id


@pytest.fixture
def class_store(tmp_path: Path) -> tuple[Store, str, str]:
    return _class_store(tmp_path / "store")


def _summaries(page: Path) -> list[str]:
    return re.findall(r'class="summary-cell">([^<]*)<', page.read_text())


def _trend_sessions(page: Path) -> int:
    m = re.search(r'<script type="application/json" id="trend-0-data">(.*?)</script>',
                  page.read_text(), re.S)  # fmt: skip
    return len(json.loads(m.group(1))["data"][0]["x"]) if m else 0


def test_a_copy_is_a_row_of_its_own_pointing_at_the_analysed_video(class_store) -> None:
    store, vid, copy = class_store
    assert copy == copy_video_id(vid, "Bob") != vid
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert rows[copy].same_content_as == vid and rows[copy].content_id == vid
    assert rows[vid].same_content_as is None and rows[vid].content_id == vid
    assert (rows[copy].athlete, rows[copy].date, rows[copy].status) == ("Bob", CLASS_DAY, "ok")
    assert not store.files("keypoints", copy) and not store.files("reps", copy)
    assert filed_under(store.read("videos"))[vid] == ["Ana", "Bob"]


def test_whose_each_person_is() -> None:
    assert track_owners(["Ana"], {}, [1, 2]) == {1: ("Ana",), 2: ("Ana",)}
    assert track_owners(["Ana"], {2: "Ben"}, [1, 2]) == {1: ("Ana",), 2: ("Ben",)}
    both = ("Ana", "Bob")
    assert track_owners(["Ana", "Bob"], {}, [1, 2]) == {1: both, 2: both}
    assert track_owners(["Ana", "Bob"], {1: "Ana"}, [1, 2]) == {1: ("Ana",), 2: ("Bob",)}
    assert track_owners(["Ana", "Bob"], {1: "Ana", 2: "Bob"}, [1, 2, 3])[3] == ()


def test_before_naming_both_pages_list_every_person_and_keep_it_out_of_the_trend(
    class_store, tmp_path: Path
) -> None:
    store, vid, _ = class_store
    for athlete in ("Ana", "Bob"):
        theirs = athlete_tracks(store, athlete)
        assert list(theirs.videos["file_name"]).count("class.mp4") == 1
        class_reps = theirs.reps[theirs.reps["video_id"] == vid]
        assert sorted(class_reps.groupby("track_id").size().items()) == [(1, 5), (2, 3)]
        assert theirs.waiting == {(vid, 1), (vid, 2)}
    out = tmp_path / "reports"
    build_reports(store, out)
    ana, bob = athlete_page_path(out, "Ana"), athlete_page_path(out, "Bob")
    for page in (ana, bob):
        html = page.read_text()
        assert "Not named yet: every person is shown (#1, #2)" in html
        assert "one recording, filed under Ana, Bob" in html
        assert f'href="../{CLASS_DAY}/{vid}.html"' in html  # the analysed video's page
    everyone = "2 people. #1: 5 reps, no flags; #2: 3 reps, 1 with depth caution"
    assert _summaries(ana)[0] == _summaries(bob)[0] == everyone
    assert _trend_sessions(ana) == 1  # Ana's own session only; Bob has no trend yet
    assert _trend_sessions(bob) == 0
    video = video_page_path(out, CLASS_DAY, vid).read_text()
    assert '<span id="filed-under">Ana, Bob</span>' in video
    assert video.count('<span class="waiting">not named yet</span>') == 2
    night = night_page_path(out, CLASS_DAY).read_text()
    assert "1 video processed, 1 ok; 1 filed under another athlete too" in night
    assert not video_page_path(out, CLASS_DAY, copy_video_id(vid, "Bob")).exists()


def test_naming_each_athletes_person_puts_exactly_their_reps_on_their_page(
    class_store, tmp_path: Path
) -> None:
    store, vid, _ = class_store
    name_athlete(store, vid, "Ana", 1, "coach")
    half = athlete_tracks(store, "Bob")  # Ana named, Bob not yet: Bob sees who is left
    assert set(half.reps.loc[half.reps["video_id"] == vid, "track_id"]) == {2}
    assert half.waiting == {(vid, 2)}
    name_athlete(store, vid, "Bob", 2, "coach")
    ana, bob = athlete_tracks(store, "Ana"), athlete_tracks(store, "Bob")
    assert sorted(ana.reps.groupby("video_id").size().to_dict().values()) == [4, 5]
    assert set(ana.reps.loc[ana.reps["video_id"] == vid, "track_id"]) == {1}
    assert set(ana.findings.loc[ana.findings["video_id"] == vid, "track_id"]) == {1}
    assert set(bob.reps["track_id"]) == set(bob.findings["track_id"]) == {2}
    assert len(bob.reps) == 3 and (bob.findings["severity"] == "caution").sum() == 1
    assert ana.waiting == bob.waiting == frozenset()

    out = tmp_path / "reports"
    build_reports(store, out)
    ana_page, bob_page = athlete_page_path(out, "Ana"), athlete_page_path(out, "Bob")
    assert _summaries(ana_page)[0].startswith("5 reps") and "3 reps" not in _summaries(ana_page)[0]
    assert _summaries(bob_page) == [_summaries(bob_page)[0]]
    assert _summaries(bob_page)[0].startswith("3 reps")
    assert "Not named yet" not in ana_page.read_text() + bob_page.read_text()
    assert _trend_sessions(ana_page) == 2 and _trend_sessions(bob_page) == 1
    video = video_page_path(out, CLASS_DAY, vid).read_text()
    assert 'Person #1: <span class="named">Ana</span>' in video
    assert 'Person #2: <span class="named">Bob</span>' in video

    # the analyst's query says the same
    got = store.query(ATHLETE_REPS_SQL)
    assert list(got.itertuples(index=False, name=None)) == [
        ("Ana", "ana_alone.mp4", 1, 4), ("Ana", "class.mp4", 1, 5), ("Bob", "class.mp4", 2, 3),
    ]  # fmt: skip
    assert " ".join(ATHLETE_REPS_SQL.split()) in " ".join(README.read_text().split())

    # saying which person is Ana moves her name; none un-names her
    name_athlete(store, vid, "Ana", 2, "coach")
    bob = athlete_tracks(store, "Bob")  # person 2 was Bob: un-named, Bob is offered person 1
    assert set(bob.reps["track_id"]) == {1} and bob.waiting == {(vid, 1)}
    name_athlete(store, vid, "Ana", None, "coach")
    assert athlete_tracks(store, "Ana").waiting == {(vid, 1), (vid, 2)}


def test_before_naming_the_query_gives_each_athlete_every_person(class_store) -> None:
    store, _, _ = class_store
    got = store.query(ATHLETE_REPS_SQL)
    assert [(a, f, t, n) for a, f, t, n in got.itertuples(index=False, name=None)] == [
        ("Ana", "ana_alone.mp4", 1, 4), ("Ana", "class.mp4", 1, 5), ("Ana", "class.mp4", 2, 3),
        ("Bob", "class.mp4", 1, 5), ("Bob", "class.mp4", 2, 3),
    ]  # fmt: skip


def test_a_store_from_before_copies_reads_as_analysed_videos_only(tmp_path: Path) -> None:
    store, vid, copy = _class_store(tmp_path / "store")
    store.delete(copy, tables=["videos"])
    (path,) = store.files("videos", vid)
    table = pq.read_table(path)
    old = table.drop_columns(["same_content_as"]).replace_schema_metadata(
        {**table.schema.metadata, b"posecoach.schema_version": b'"8"'}
    )
    pq.write_table(old, path)
    assert "same_content_as" not in pq.read_schema(path).names
    (row,) = read_video_rows(store, [vid])
    assert row.same_content_as is None and row.content_id == vid
    assert filed_under(store.read("videos"))[vid] == ["Ana"]
    ana = athlete_tracks(store, "Ana")
    assert len(ana.reps) == 12 and ana.waiting == frozenset()  # as schema 8: all Ana's
    assert not len(athlete_tracks(store, "Bob").videos)
    build_reports(store, tmp_path / "reports")
    assert isinstance(VideoRow.from_frame(store.read("videos"))[0], VideoRow)
