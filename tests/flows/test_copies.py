"""One recording filed under several athletes: discovery, the plan and the copy rows.

The same bytes in ``ana/squat/``, ``bob/squat/`` (and more) folders: analysed once, each other
athlete's file a copy row; a second file for the same athlete is a duplicate. Re-runs write
nothing; deleting or moving one file does what docs/flows.md says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from flows.copies import copy_id, copy_row, record_copy
from flows.inbox import InboxItem, discover
from flows.plan import make_plan
from posecoach import PIPELINE_VERSION
from posecoach.store import Store
from posecoach.videos import VideoRow, copy_video_id, read_video_rows, write_video_row

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 100
CLASS = MP4 + b"the class"


def _inbox(root: Path, files: dict[str, bytes]) -> list[InboxItem]:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return discover([root])


def _plan(items: list[InboxItem], rows: dict[str, VideoRow], preset: str = "fast"):
    return make_plan(items, rows, preset=preset, rules_digest=None, scored_digest=lambda v: None)


def _analysed(item: InboxItem, **kw) -> VideoRow:
    values = dict(video_id=item.video_id, date="2024-05-06", path=item.rel_path,
                  athlete=item.athlete, exercise=item.exercise, status="ok", preset="fast",
                  pipeline_version=PIPELINE_VERSION, n_tracks=2)  # fmt: skip
    return VideoRow(**{**values, **kw})


def _rels(items: list[InboxItem]) -> list[str]:
    return [i.rel_path for i in items]


def test_other_athletes_files_are_copies_the_same_athletes_a_duplicate(tmp_path: Path) -> None:
    items = _inbox(tmp_path / "in", {
        "ana/squat/class.mp4": CLASS, "ana/squat/class_2.mp4": CLASS,
        "bob/squat/class.mp4": CLASS, "bob/squat/IMG_1.mp4": CLASS, "cleo/squat/c.mp4": CLASS,
    })  # fmt: skip
    by = {i.rel_path: i for i in items}
    assert len({i.video_id for i in items}) == 1
    assert by["ana/squat/class_2.mp4"].duplicate_of.endswith("ana/squat/class.mp4")
    assert by["bob/squat/class.mp4"].duplicate_of.endswith("bob/squat/IMG_1.mp4")
    assert by["ana/squat/class.mp4"].duplicate_of is None
    assert by["bob/squat/IMG_1.mp4"].duplicate_of is None

    plan = _plan(items, {})  # a new recording: analysed as the first file's, by path
    assert _rels(plan.analyze) == ["ana/squat/class.mp4"]
    assert _rels(plan.copies) == ["bob/squat/IMG_1.mp4", "cleo/squat/c.mp4"]
    assert _rels(plan.duplicates) == ["ana/squat/class_2.mp4", "bob/squat/class.mp4"]


def test_a_copy_is_recorded_once_and_follows_its_analysed_video(tmp_path: Path) -> None:
    ana, bob = _inbox(tmp_path / "in", {"ana/squat/c.mp4": CLASS, "bob/squat/c.mp4": CLASS})
    store = Store(tmp_path / "store")
    assert record_copy(store, bob) == ("waiting", None)  # nothing to copy yet
    write_video_row(store, _analysed(ana))
    action, row = record_copy(store, bob)
    assert action == "copied" and row is not None
    assert (row.video_id, row.athlete, row.path) == (copy_id(bob), "bob", "bob/squat/c.mp4")
    assert row.video_id == copy_video_id(ana.video_id, "bob")
    assert (row.same_content_as, row.date, row.n_tracks) == (ana.video_id, "2024-05-06", 2)
    assert row.exercise == "squat" and row.status == "ok" and row.preset == "fast"
    files = store.files("videos")
    assert record_copy(store, bob)[0] == "skipped" and store.files("videos") == files
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert _plan([ana, bob], rows).summary() == {**_empty(), "done": 2}  # a second night: nothing

    # re-analysed with other models, on another day: the copy is written again to match
    write_video_row(store, _analysed(ana, preset="accurate", date="2024-05-07"))
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert _rels(_plan([ana, bob], rows, preset="accurate").copies) == ["bob/squat/c.mp4"]
    action, row = record_copy(store, bob)
    assert action == "copied" and (row.preset, row.date) == ("accurate", "2024-05-07")
    assert len(store.files("videos", copy_id(bob))) == 1  # replaced, not added


def test_an_analysis_this_night_rewrites_its_copies_after_it(tmp_path: Path) -> None:
    ana, bob = _inbox(tmp_path / "in", {"ana/squat/c.mp4": CLASS, "bob/squat/c.mp4": CLASS})
    analysed = _analysed(ana, preset="fast")
    copy = copy_row(bob, analysed, dt.datetime(2024, 5, 6, tzinfo=dt.UTC))
    rows = {analysed.video_id: analysed, copy.video_id: copy}
    plan = _plan([ana, bob], rows, preset="balanced")
    assert _rels(plan.analyze) == ["ana/squat/c.mp4"] and _rels(plan.copies) == ["bob/squat/c.mp4"]


def test_deleting_or_moving_one_copy(tmp_path: Path) -> None:
    ana, bob = _inbox(tmp_path / "in", {"ana/squat/c.mp4": CLASS, "bob/squat/c.mp4": CLASS})
    analysed = _analysed(ana)
    copy = copy_row(bob, analysed, dt.datetime(2024, 5, 6, tzinfo=dt.UTC))
    rows = {analysed.video_id: analysed, copy.video_id: copy}

    # Ana's file deleted: nothing to do, Bob's file is still Bob's copy
    assert _plan([bob], rows).summary() == {**_empty(), "done": 1}
    # ... until the recording must be analysed again: Bob's file stands in, under Ana
    plan = _plan([bob], rows, preset="accurate")
    (stand_in,) = plan.analyze
    assert (stand_in.rel_path, stand_in.athlete, stand_in.exercise) == ("bob/squat/c.mp4", "ana",
                                                                         "squat")  # fmt: skip
    assert plan.copies == [bob]

    # Bob's file deleted: nothing changes
    assert _plan([ana], rows).summary() == {**_empty(), "done": 1}
    # Bob's file renamed in his folder: the same copy (its path is brought up to date)
    renamed = dataclasses.replace(bob, rel_path="bob/squat/renamed.mp4")
    assert copy_id(renamed) == copy.video_id
    assert _plan([ana, renamed], rows).copies == [renamed]
    # moved to Cleo's folder: Cleo gets a copy too, Bob's stays in the store
    cleo = dataclasses.replace(bob, rel_path="cleo/squat/c.mp4", athlete="cleo")
    plan = _plan([ana, cleo], rows)
    assert plan.copies == [cleo] and copy_id(cleo) != copy.video_id


def _empty() -> dict[str, int]:
    return {k: 0 for k in ("analyze", "rescore", "record_failed", "done", "duplicates", "copies")}
