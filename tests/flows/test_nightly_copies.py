"""The nightly flow over one recording of a class filed under two athletes (and twice under
one): analysed once, a copy row for the other athlete, both athletes' pages list it, a second
night writes nothing. Stand-in models (tests/helpers.py), in-process (``workers=0``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.nightly import nightly
from posecoach.annotations import name_athlete
from posecoach.store import Store
from posecoach.videos import copy_video_id
from reports.reading import athlete_tracks
from reports.site import athlete_page_path
from tests.helpers import REPO, Person, store_files, write_video


@pytest.mark.slow  # shares the Prefect harness; two short flow runs
def test_a_class_in_two_athletes_folders_is_analysed_once_and_filed_under_both(
    prefect_harness, fake_engine, tmp_path: Path
) -> None:
    inbox, store, reports = tmp_path / "inbox", tmp_path / "store", tmp_path / "reports"
    rules = shutil.copytree(REPO / "rules" / "library", tmp_path / "rules")
    (inbox / "ana" / "squat").mkdir(parents=True)
    two = [Person((60, 40), (0.5, 0.0)), Person((200, 50), (-0.5, 0.1), size=(50, 110))]
    clip = write_video(inbox / "ana" / "squat" / "class.mp4", two, 30)
    for rel in ("bob/squat/class.mp4", "ana/squat/class (1).mp4"):
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, inbox / rel)

    def run() -> dict:
        return nightly(inboxes=[str(inbox)], store=str(store), reports=str(reports),
                       rules_dir=str(rules), workers=0)  # fmt: skip

    first = run()
    actions = {o["rel_path"]: o["action"] for o in first["outcomes"]}
    assert actions == {"ana/squat/class (1).mp4": "analyzed", "ana/squat/class.mp4": "duplicate",
                       "bob/squat/class.mp4": "copied"}  # fmt: skip
    assert len(fake_engine.analyses) == 1  # one inference for the three files
    s = Store(store)
    videos = s.read("videos").set_index("athlete")
    vid = videos.loc["ana", "video_id"]
    assert videos.loc["bob", "video_id"] == copy_video_id(vid, "bob")
    assert videos.loc["bob", "same_content_as"] == vid and videos.loc["bob", "status"] == "ok"
    assert len(s.files("keypoints")) == 1 and len(s.files("videos")) == 2
    tracks = sorted(int(t) for t in s.read("keypoints")["track_id"].unique())
    assert len(tracks) == 2
    for athlete in ("ana", "bob"):
        page = athlete_page_path(reports, athlete).read_text()
        assert f"{vid}.html" in page and "one recording, filed under ana, bob" in page

    before = store_files(store)
    second = run()
    assert {o["action"] for o in second["outcomes"]} == {"skipped", "duplicate"}
    assert len(fake_engine.analyses) == 1 and store_files(store) == before

    # before naming, both athletes are shown both people; then each only their own
    for athlete in ("ana", "bob"):
        assert athlete_tracks(s, athlete).waiting == {(vid, t) for t in tracks}
    name_athlete(s, vid, "ana", tracks[0], "coach")
    name_athlete(s, vid, "bob", tracks[1], "coach")
    for athlete, track in (("ana", tracks[0]), ("bob", tracks[1])):
        theirs = athlete_tracks(s, athlete)
        assert set(theirs.findings["track_id"]) | set(theirs.reps["track_id"]) == {track}
        assert not theirs.waiting
