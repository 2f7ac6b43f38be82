"""flows.inbox, flows.plan and flows.claims: discovery, sniffing, sidecars, hostile names, claims."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flows.claims import claim_path, held_claims, release, try_claim
from flows.inbox import (
    InboxItem,
    SidecarError,
    discover,
    load_sidecar,
    scan_inbox,
    sniff,
    verify_inside,
)
from flows.plan import (
    attempt_number,
    is_done,
    latest_rows,
    make_plan,
    refused_row,
    retryable_row,
    unfeatured_ids,
)
from posecoach import PIPELINE_VERSION
from posecoach.failures import MAX_ATTEMPTS, RETRYABLE, ErrorKind
from posecoach.schema import VIDEOS
from posecoach.store import Store, file_sha256, video_id_for
from posecoach.videos import VideoRow, read_video_rows, write_video_row

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 100
MOV = b"\x00\x00\x00\x14ftypqt  \x20\x05\x03\x00qt  " + b"\x00" * 100
AVI = b"RIFF\x10\x00\x00\x00AVI LIST" + b"\x00" * 100
MKV = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska" + b"\x00" * 100
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 100
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (MP4, "mp4"),
        (MOV, "mov"),
        (AVI, "avi"),
        (MKV, "mkv"),
        (WEBM, "webm"),
        (JPEG, "jpeg"),
        (PNG, "png"),
        (b"PK\x03\x04" + b"\x00" * 100, None),  # a zip
        (b"#!/bin/sh\nrm -rf /\n", None),
        (b"", None),
    ],
)
def test_sniff_reads_magic_bytes(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


def test_sniff_on_shared_videos(shared: Path) -> None:
    videos = shared / "data" / "videos"
    assert sniff((videos / "street_5frames.mp4").read_bytes()[:256]) == "mp4"
    assert sniff((videos / "vtest.avi").read_bytes()[:256]) == "avi"


def test_extension_is_not_trusted(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _write(inbox / "ana" / "squat" / "real_video.txt", MP4)  # a video with a wrong name
    _write(inbox / "ana" / "squat" / "fake.mp4", b"this is not a video at all" * 4)
    items = {i.rel_path: i for i in scan_inbox(inbox)}
    assert items["ana/squat/real_video.txt"].ok
    assert items["ana/squat/real_video.txt"].format == "mp4"
    fake = items["ana/squat/fake.mp4"]
    assert not fake.ok and "not a video or image" in fake.error
    # the refused file still has its content id, so its failure is recorded once
    assert fake.video_id == video_id_for(file_sha256(inbox / "ana" / "squat" / "fake.mp4"))


def test_layout_gives_athlete_and_exercise(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _write(inbox / "Zoë Ñúñez" / "back squat" / "set 1.mp4", MP4)
    _write(inbox / "loose.mp4", MOV)
    _write(inbox / ".hidden" / "x" / "y.mp4", MP4)
    _write(inbox / "ana" / "squat" / ".partial.mp4", MP4)
    items = {i.rel_path: i for i in scan_inbox(inbox)}
    assert set(items) == {"Zoë Ñúñez/back squat/set 1.mp4", "loose.mp4"}
    good = items["Zoë Ñúñez/back squat/set 1.mp4"]
    assert (good.athlete, good.exercise, good.kind) == ("Zoë Ñúñez", "back squat", "video")
    assert Path(good.path).is_absolute() and good.ok
    assert "no athlete and exercise" in items["loose.mp4"].error


def test_sidecar_overrides_and_validates(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    clip = _write(inbox / "ana" / "squat" / "a.mp4", MP4)
    (clip.parent / "a.mp4.yaml").write_text(
        "athlete: Ana B\nexercise: lunge\nview: side\nrecorded_at: 2024-05-01T18:30:00+02:00\n"
    )
    stem = _write(inbox / "ana" / "squat" / "b.mov", MOV)
    (stem.parent / "b.yaml").write_text("view: front\nrecorded_at: 2024-05-02\n")
    _write(inbox / "ana" / "squat" / "c.mp4", MP4 + b"c")
    (inbox / "ana" / "squat" / "c.mp4.yaml").write_text("view: upside-down\n")
    _write(inbox / "ana" / "squat" / "d.mp4", MP4 + b"d")
    (inbox / "ana" / "squat" / "d.mp4.yaml").write_text("athlete: [1, 2\n")
    _write(inbox / "ana" / "squat" / "e.mp4", MP4 + b"e")
    (inbox / "ana" / "squat" / "e.mp4.yaml").write_text("excercise: squat\n")
    _write(inbox / "ana" / "squat" / "f.mp4", MP4 + b"f")
    (inbox / "ana" / "squat" / "f.mp4.yaml").write_text(
        "!!python/object/apply:os.system ['echo hi']\n"
    )

    items = {i.rel_path.rsplit("/", 1)[1]: i for i in scan_inbox(inbox)}
    a = items["a.mp4"]
    assert (a.athlete, a.exercise, a.view) == ("Ana B", "lunge", "side")
    assert a.recorded_at == "2024-05-01T18:30:00+02:00" and a.sidecar == "ana/squat/a.mp4.yaml"
    b = items["b.mov"]
    assert (b.athlete, b.exercise, b.view, b.recorded_at) == (
        "ana",
        "squat",
        "front",
        "2024-05-02T00:00:00+00:00",
    )
    assert "field 'view'" in items["c.mp4"].error and "c.mp4.yaml" in items["c.mp4"].error
    assert "not valid YAML" in items["d.mp4"].error
    assert "unknown field(s) ['excercise']" in items["e.mp4"].error
    assert "bad sidecar" in items["f.mp4"].error  # safe_load refuses python tags
    assert all(i.video_id for i in items.values())


def test_load_sidecar_errors_name_file_and_field(tmp_path: Path) -> None:
    side = tmp_path / "x.yaml"
    side.write_text("recorded_at: yesterday\n")
    with pytest.raises(SidecarError, match=r"x\.yaml: field 'recorded_at'"):
        load_sidecar(side)
    side.write_text("athlete: ''\n")
    with pytest.raises(SidecarError, match="field 'athlete' is empty"):
        load_sidecar(side)
    side.write_text("- a\n- b\n")
    with pytest.raises(SidecarError, match="expected a mapping"):
        load_sidecar(side)


def test_load_sidecar_reports_every_problem_unknown_fields_first(tmp_path: Path) -> None:
    side = tmp_path / "x.yaml"
    side.write_text("view:\nexcercise: squat\n1: x\nathlete: 7\n")
    with pytest.raises(SidecarError) as info:
        load_sidecar(side)
    assert str(info.value) == (
        f"{side}: unknown field(s) ['1', 'excercise']; allowed: athlete, exercise, view, "
        "recorded_at; field 'view' is None; expected one of ('side', 'front', 'oblique', "
        "'unknown')"
    )
    side.write_text("athlete: 7\nrecorded_at: 2024-05-01T18:30:00\n")
    assert load_sidecar(side) == {"athlete": "7", "recorded_at": "2024-05-01T18:30:00+00:00"}


def test_hostile_names_and_symlinks(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    outside = _write(tmp_path / "secret" / "passwd.mp4", MP4 + b"secret")
    folder = inbox / "<img src=x onerror=alert(1)>" / "-rf --no-preserve-root"
    _write(folder / "-v; rm -rf ~.mp4", MP4)
    _write(folder / "inside.mp4", MP4 + b"inside")
    os.symlink(outside, folder / "escape.mp4")
    os.symlink(tmp_path / "secret", inbox / "linked_dir")
    os.symlink(folder / "inside.mp4", folder / "alias.mp4")
    os.symlink(tmp_path / "nowhere.mp4", folder / "dangling.mp4")

    items = {i.rel_path.rsplit("/", 1)[-1]: i for i in discover([inbox])}
    assert items["-v; rm -rf ~.mp4"].ok
    assert items["-v; rm -rf ~.mp4"].athlete == "<img src=x onerror=alert(1)>"
    assert items["-v; rm -rf ~.mp4"].exercise == "-rf --no-preserve-root"
    escape = items["escape.mp4"]
    assert escape.error == "refused: symlink points outside the inbox"
    assert escape.sha256 is None and escape.path == str(folder.resolve() / "escape.mp4")
    assert items["linked_dir"].error == "refused: symlink points outside the inbox"
    assert not items["dangling.mp4"].ok
    # a symlink inside the inbox is followed; the same content twice is processed once
    assert items["alias.mp4"].duplicate_of is not None or items["inside.mp4"].duplicate_of
    # what will be read lies inside the inbox; refused links keep their own (inside) path
    for item in items.values():
        path = Path(item.path).resolve() if item.ok else Path(item.path).parent.resolve()
        assert path.is_relative_to(inbox.resolve())


def test_verify_inside_catches_a_swap(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    clip = _write(inbox / "ana" / "squat" / "a.mp4", MP4)
    (item,) = scan_inbox(inbox)
    assert verify_inside(item) == clip.resolve()
    outside = _write(tmp_path / "other.mp4", MP4)
    clip.unlink()
    os.symlink(outside, clip)
    with pytest.raises(PermissionError, match="no longer a file inside the inbox"):
        verify_inside(item)


def test_store_inside_inbox_is_skipped(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _write(inbox / "ana" / "squat" / "a.mp4", MP4)
    _write(inbox / "store" / "videos" / "date=2024-01-01" / "x.parquet", b"PAR1xxxx")
    assert [i.rel_path for i in scan_inbox(inbox, exclude=[inbox / "store"])] == ["ana/squat/a.mp4"]


def test_only_the_named_files_are_discovered_and_hashed(tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path / "ana" / "squat" / "a.mp4", MP4)
    _write(tmp_path / "ana" / "squat" / "b.mp4", MP4 + b"b")
    _write(tmp_path / "bob" / "lunge" / "c.mp4", MP4 + b"c")
    hashed: list[str] = []
    monkeypatch.setattr(
        "flows.inbox.file_sha256", lambda p: hashed.append(Path(p).name) or "0" * 64
    )
    only = {"ana/squat/b.mp4", "bob/lunge/c.mp4", "nobody/here.mp4"}
    assert [i.rel_path for i in discover([tmp_path], only=only)] == sorted(
        only - {"nobody/here.mp4"}
    )
    assert sorted(hashed) == ["b.mp4", "c.mp4"]


def test_item_round_trips_as_dict(tmp_path: Path) -> None:
    _write(tmp_path / "ana" / "squat" / "a.mp4", MP4)
    (item,) = scan_inbox(tmp_path)
    assert InboxItem.from_dict(json.loads(json.dumps(item.to_dict()))) == item


# -- plan ------------------------------------------------------------------------------------------
def _items(tmp_path: Path, n: int) -> list[InboxItem]:
    for k in range(n):
        _write(tmp_path / "in" / "ana" / "squat" / f"{k}.mp4", MP4 + bytes([k]))
    _write(tmp_path / "in" / "ana" / "squat" / "bad.mp4", b"garbage" * 20)
    return scan_inbox(tmp_path / "in")


def _row(item: InboxItem, **kw) -> VideoRow:
    values = dict(video_id=item.video_id, date="2024-01-01", status="ok", preset="fast",
                  pipeline_version=PIPELINE_VERSION)  # fmt: skip
    return VideoRow(**{**values, **kw})


def _failed(item: InboxItem, error: str, kind: ErrorKind, **kw) -> VideoRow:
    return _row(item, status="failed", error=error, error_kind=kind, **kw)


def test_plan_decides_by_hash_preset_version_and_rules(tmp_path: Path) -> None:
    v0, v1, v2, v3, v4, v5, bad = _items(tmp_path, 6)
    rows = {
        v1.video_id: _row(v1),  # done, scored with the current rules
        v2.video_id: _row(v2),  # done, scored with older rules -> rescore only
        v3.video_id: _row(v3, preset="balanced"),  # other preset -> analyse
        v4.video_id: _row(v4, pipeline_version="0"),  # older pipeline -> analyse
        v5.video_id: _failed(v5, f"{RETRYABLE}worker died", ErrorKind.TRANSIENT),
    }
    digests = {v1.video_id: "R2", v2.video_id: "R1"}
    plan = make_plan(
        [v0, v1, v2, v3, v4, v5, bad], rows, preset="fast", rules_digest="R2",
        scored_digest=digests.get,
    )  # fmt: skip
    assert [i.video_id for i in plan.analyze] == [v.video_id for v in (v0, v3, v4, v5)]
    assert plan.rescore == [v2] and plan.done == [v1] and plan.record_failed == [bad]
    # once recorded, a refused file is done
    rows[bad.video_id] = refused_row(bad)
    again = make_plan([bad], rows, preset="fast", rules_digest="R2", scored_digest=digests.get)
    assert again.done == [bad] and not again.record_failed


def test_is_done_permanent_failure_and_latest_rows(tmp_path: Path) -> None:
    (v0, *_rest) = _items(tmp_path, 1)
    assert is_done(_failed(v0, "cannot decode", ErrorKind.BAD_FILE), "fast")
    assert not is_done(_failed(v0, "cannot decode", ErrorKind.BAD_FILE), "accurate")
    assert is_done(_row(v0, status="empty"), "fast")
    assert not is_done(None, "fast")
    df = _row(v0).to_frame().assign(date="2024-01-01")
    assert latest_rows(df)[v0.video_id].status == "ok"
    assert latest_rows(df)[v0.video_id] == _row(v0)
    # The decision reads error_kind, not the message: a bad file whose message happens to start
    # like a transient one is still done, and a transient one without the prefix is not.
    assert is_done(_failed(v0, f"{RETRYABLE}not really", ErrorKind.BAD_FILE), "fast")
    assert not is_done(_failed(v0, "worker died", ErrorKind.TRANSIENT), "fast")


def test_retryable_failures_are_counted_and_given_up_after_max_attempts(tmp_path: Path) -> None:
    (v0, *_rest) = _items(tmp_path, 1)
    rows = [None]
    for night in range(1, MAX_ATTEMPTS + 1):
        row = retryable_row(v0, "MemoryError", "fast", previous=rows[-1])
        assert row.attempts == night and row.preset == "fast"
        rows.append(row)
        if night < MAX_ATTEMPTS:
            assert row.error == f"{RETRYABLE}MemoryError" and not is_done(row, "fast")
            assert row.error_kind is ErrorKind.TRANSIENT
    given_up = rows[-1]
    assert given_up.error_kind is ErrorKind.GIVEN_UP and given_up.status == "failed"
    assert given_up.error is not None
    assert given_up.error.startswith(f"given up after {MAX_ATTEMPTS} runs")
    assert given_up.error.endswith("last: MemoryError") and "--retry-failed" in given_up.error
    assert is_done(given_up, "fast")  # like a bad file: not analysed again every night
    assert not is_done(given_up, "balanced")  # ...but other models are a fresh start
    # The count starts again after a success, a permanent failure, or other models.
    assert attempt_number(given_up, "fast") == 1
    assert attempt_number(_row(v0), "fast") == 1
    assert attempt_number(rows[1], "balanced") == 1
    assert attempt_number(rows[1], "fast", pipeline_version="0") == 1
    # A row written before the column existed counts as one attempt.
    first = rows[1]
    assert first is not None
    older = latest_rows(first.to_frame().drop(columns="attempts").assign(date=first.date))
    assert older[v0.video_id].attempts is None
    assert attempt_number(older[v0.video_id], "fast") == 2


def test_error_kind_is_written_for_refused_transient_and_given_up(tmp_path: Path) -> None:
    v0, v1, bad = _items(tmp_path, 2)
    store = Store(tmp_path / "store")
    write_video_row(store, refused_row(bad))
    write_video_row(store, retryable_row(v0, "MemoryError", "fast"))
    previous = _failed(v1, f"{RETRYABLE}x", ErrorKind.TRANSIENT, attempts=MAX_ATTEMPTS - 1)
    write_video_row(store, retryable_row(v1, "MemoryError", "fast", previous=previous))
    stored = store.read("videos").set_index("video_id")["error_kind"].to_dict()
    assert stored == {bad.video_id: "bad_file", v0.video_id: "transient", v1.video_id: "given_up"}
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert rows[v1.video_id].attempts == MAX_ATTEMPTS


def test_an_older_store_without_error_kind_is_planned_as_before(tmp_path: Path) -> None:
    """Rows from before videos.error_kind (and videos.attempts): decided from the message."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    v0, v1, v2, v3, bad = _items(tmp_path, 4)
    store = Store(tmp_path / "store")
    old = pa.schema([f for f in VIDEOS if f.name not in ("error_kind", "attempts")])
    records = [
        _failed(v0, f"{RETRYABLE}the worker process died while processing it", ErrorKind.TRANSIENT),
        _failed(v1, "a.mp4: the video stream holds no decodable frame", ErrorKind.BAD_FILE),
        _failed(v2, f"given up after {MAX_ATTEMPTS} runs ...; last: x", ErrorKind.GIVEN_UP),
        _row(v3),
    ]
    folder = Path(store.table_dir("videos")) / "date=2024-01-01"
    folder.mkdir(parents=True)
    for row in records:
        columns = {k: v for k, v in row.columns().items() if k in old.names}
        pq.write_table(
            pa.Table.from_pylist([columns], schema=old), folder / f"{row.video_id}.parquet"
        )
    assert store.read("videos")["error_kind"].isna().all()
    rows = latest_rows(store.read("videos"))
    assert rows == {row.video_id: row for row in records}  # the kinds, from the messages
    kw = dict(preset="fast", rules_digest=None, scored_digest=lambda vid: None)
    plan = make_plan([v0, v1, v2, v3, bad], rows, **kw)
    assert plan.analyze == [v0] and plan.done == [v1, v2, v3] and plan.record_failed == [bad]
    assert attempt_number(rows[v0.video_id], "fast") == 2  # no attempts column: one run so far


def test_retry_failed_plans_every_failed_video_again(tmp_path: Path) -> None:
    v0, v1, v2, bad = _items(tmp_path, 3)
    rows = {
        v0.video_id: _row(v0),
        v1.video_id: _failed(v1, "cannot decode the first frame", ErrorKind.BAD_FILE),
        v2.video_id: _failed(v2, f"given up after {MAX_ATTEMPTS} runs", ErrorKind.GIVEN_UP),
        bad.video_id: refused_row(bad),
    }
    kw = dict(preset="fast", rules_digest=None, scored_digest=lambda vid: None)
    assert make_plan([v0, v1, v2, bad], rows, **kw).analyze == []
    plan = make_plan([v0, v1, v2, bad], rows, **kw, retry_failed=True)
    # A file refused before any model ran (not a video, outside the inbox) stays refused.
    assert plan.analyze == [v1, v2] and plan.done == [v0, bad]


def test_ok_videos_without_a_features_file_are_rescored(tmp_path: Path) -> None:
    """A store from before the features table: its ok videos are re-scored, nothing analysed."""
    import pandas as pd

    v0, v1, v2, v3, bad = _items(tmp_path, 4)
    store = Store(tmp_path / "store")
    for item in (v0, v1, v2, v3):
        rows = pd.DataFrame({"video_id": [item.video_id], "frame": [0], "track_id": [0]})
        for table in ("keypoints", "features"):
            store.write(table, rows, video_id=item.video_id, date="2024-01-01")
    for item in (v0, v2):
        store.delete(item.video_id, tables=["features"])
    unfeatured = unfeatured_ids(store.files("keypoints"), store.files("features"))
    assert unfeatured == {v0.video_id, v2.video_id}
    rows = {
        v0.video_id: _row(v0),  # ok, no features -> rescore
        v1.video_id: _row(v1),  # ok, features -> done
        v2.video_id: _row(v2, status="empty"),  # not ok: nothing to score
        v3.video_id: _row(v3, preset="balanced"),  # other models: analysed (and scored) anyway
    }
    asked: list[str] = []
    digests = {v0.video_id: "R1", v1.video_id: "R1"}

    def scored(video_id: str) -> str | None:
        asked.append(video_id)
        return digests.get(video_id)

    kw = dict(preset="fast", scored_digest=scored, unfeatured=unfeatured)
    plan = make_plan([v0, v1, v2, v3, bad], rows, rules_digest="R1", **kw)
    assert plan.rescore == [v0] and plan.done == [v1, v2] and plan.analyze == [v3]
    assert asked == [v1.video_id]  # a missing features file needs no metadata read
    # the same without a rules digest to compare, and with rules changed: v0 once, v1 too
    assert make_plan([v0, v1], rows, rules_digest=None, **kw).rescore == [v0]
    assert make_plan([v0, v1], rows, rules_digest="R2", **kw).rescore == [v0, v1]
    # by default (no listing given) nothing is rescored for a missing file
    default = make_plan([v0], rows, preset="fast", rules_digest="R1", scored_digest=scored)
    assert default.done == [v0]
    # a video without keypoints is never counted: re-scoring would have nothing to read
    assert unfeatured_ids([], store.files("features")) == set()


# -- claims ----------------------------------------------------------------------------------------
def test_claim_is_exclusive_and_released(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    results: list[object] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        results.append(try_claim(store, "abc123"))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert held_claims(store)[0]["pid"] == os.getpid()
    release(store, winners[0])
    assert held_claims(store) == []
    assert try_claim(store, "abc123") is not None


def test_claim_of_a_dead_process_or_too_old_is_broken(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    path = Path(claim_path(store, "vid1"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "token": "x"})
    )
    claim = try_claim(store, "vid1")
    assert claim is not None and held_claims(store)[0]["token"] == claim.token

    # alive elsewhere: respected until it is older than the timeout
    path2 = Path(claim_path(store, "vid2"))
    path2.write_text(json.dumps({"host": "another-host", "pid": 1, "token": "y"}))
    assert try_claim(store, "vid2") is None
    os.utime(path2, (0, 0))
    assert try_claim(store, "vid2", stale_after_s=3600) is not None
    # a broken claim's old owner must not remove the new owner's claim
    from flows.claims import Claim

    release(store, Claim(store.url, "vid2", str(path2), "y"))
    assert any(c["video_id"] == "vid2" for c in held_claims(store))


def test_claim_ids_cannot_escape_the_store(tmp_path: Path) -> None:
    from posecoach.store import StoreError

    with pytest.raises(StoreError):
        try_claim(Store(tmp_path / "store"), "../../etc/passwd")


def test_overriding_a_model_is_not_the_same_preset(tmp_path: Path) -> None:
    from flows.workers import preset_of

    (v0, *_rest) = _items(tmp_path, 1)
    assert preset_of({"preset": "fast"}) == "fast"
    label = preset_of({"preset": "fast", "detector": "/models/rtmdet-nano-person/"})
    assert label == "fast+detector=rtmdet-nano-person"
    assert preset_of({"detector": "d.pth", "pose": "p.pth"}) == "fast+detector=d.pth+pose=p.pth"
    # a video analysed with the plain preset is analysed again with another detector
    assert is_done(_row(v0), "fast")
    assert not is_done(_row(v0), label)
    assert is_done(_row(v0, preset=label), label)
