"""posecoach.videos: the videos row as a record, to and from the store, older stores included."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posecoach.failures import RETRYABLE, ErrorKind
from posecoach.schema import VIDEOS
from posecoach.store import Store
from posecoach.videos import (
    VideoRow,
    declared_view,
    read_video_rows,
    record_estimated_view,
    write_video_row,
)

_NOW = pd.Timestamp("2026-03-15 20:00:00", tz="UTC")


def _row(**kw) -> VideoRow:
    values = dict(video_id="ab12", date="2026-03-15", path="ana/squat/a.mp4", file_name="a.mp4",
                  status="ok", fps=30.0, frames=24, n_tracks=1, attempts=1, preset="fast",
                  random_weights=False, pipeline_version="1", processed_at=_NOW)  # fmt: skip
    return VideoRow(**{**values, **kw})


def test_the_record_holds_the_columns_and_the_partition_beside_them() -> None:
    names = [f.name for f in dataclasses.fields(VideoRow)]
    assert sorted(names) == sorted([*VIDEOS.names, "date"])
    row = _row()
    assert list(row.to_frame().columns) == VIDEOS.names  # no date: it is the partition
    assert row.to_dict() == {**row.columns(), "date": "2026-03-15"}


def test_round_trip_through_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    ok = _row()
    failed = _row(video_id="cd34", status="failed", error=f"{RETRYABLE}MemoryError",
                  error_kind=ErrorKind.TRANSIENT, n_tracks=0, fps=None, frames=None,
                  recorded_at=dt.datetime(2026, 3, 15, 9, tzinfo=dt.UTC))  # fmt: skip
    path = write_video_row(store, failed)
    write_video_row(store, ok)
    assert path.endswith("videos/date=2026-03-15/cd34.parquet")
    back = {r.video_id: r for r in read_video_rows(store)}
    assert back == {"ab12": ok, "cd34": failed}
    # Missing values come back as None, never NaN or NaT, and whole numbers as ints.
    assert back["cd34"].frames is None and back["cd34"].fps is None
    assert isinstance(back["ab12"].frames, int) and back["ab12"].error_kind is None
    assert read_video_rows(store, ["cd34"]) == [failed]


def _write_old_file(store: Store, rows: list[dict]) -> None:
    """A videos file as an older PoseCoach wrote it: no error_kind, attempts or view_source."""
    old = pa.schema([f for f in VIDEOS if f.name not in ("error_kind", "attempts", "view_source")])
    for record in rows:
        folder = Path(store.table_dir("videos")) / "date=2025-06-01"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist([record], schema=old)
        pq.write_table(table, folder / f"{record['video_id']}.parquet")


def test_rows_of_an_older_store_get_their_kind_from_the_message_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    _write_old_file(store, [
        {"video_id": "aa", "status": "failed", "error": f"{RETRYABLE}worker died"},
        {"video_id": "bb", "status": "failed", "error": "given up after 3 runs ...; last: x"},
        {"video_id": "cc", "status": "failed", "error": "a.mp4: not a readable video"},
        {"video_id": "dd", "status": "empty", "error": "no person detected in 3 frame(s)"},
    ])  # fmt: skip
    raw = store.read("videos").set_index("video_id")
    assert raw["error_kind"].isna().all() and raw["attempts"].isna().all()
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert {vid: r.error_kind for vid, r in rows.items()} == {
        "aa": ErrorKind.TRANSIENT,
        "bb": ErrorKind.GIVEN_UP,
        "cc": ErrorKind.BAD_FILE,
        "dd": None,
    }
    assert rows["aa"].attempts is None and rows["aa"].date == "2025-06-01"


def test_a_stored_kind_is_not_second_guessed_from_the_message() -> None:
    frame = pd.DataFrame([_row(status="failed", error=f"{RETRYABLE}x", error_kind=ErrorKind.BAD_FILE)
                          .to_dict()])  # fmt: skip
    (row,) = VideoRow.from_frame(frame)
    assert row.error_kind is ErrorKind.BAD_FILE


def test_unreadable_rows_name_the_video_and_the_field() -> None:
    bad_kind = pd.DataFrame([{**_row(status="failed").to_dict(), "error_kind": "flaky"}])
    with pytest.raises(ValueError, match=r"videos row ab12: error_kind 'flaky': expected one of "):
        VideoRow.from_frame(bad_kind)
    no_date = pd.DataFrame([_row().columns()])
    with pytest.raises(ValueError, match=r"videos row ab12: no 'date'"):
        VideoRow.from_frame(no_date)


def test_failed_marks_the_message_of_a_transient_failure_only() -> None:
    row = _row()
    transient = row.failed(ErrorKind.TRANSIENT, "a.mp4: writing keypoints failed")
    assert transient.error == f"{RETRYABLE}a.mp4: writing keypoints failed"
    assert transient.status == "failed" and transient.error_kind is ErrorKind.TRANSIENT
    assert transient.n_tracks == 0
    bad = row.failed(ErrorKind.BAD_FILE, "a.mp4: cannot read")
    assert bad.error == "a.mp4: cannot read" and bad.error_kind is ErrorKind.BAD_FILE


def test_declared_and_estimated_views_are_kept_apart() -> None:
    declared = _row(view="side", view_source="declared")
    estimated = _row(view="front", view_source="estimated")
    assert (declared.declared_view, estimated.declared_view) == ("side", None)
    assert (
        declared_view(declared.to_dict()) == "side" and declared_view(estimated.to_dict()) is None
    )
    moved = estimated.with_view("oblique", "estimated")
    assert (moved.view, moved.view_source) == ("oblique", "estimated")
    assert _row().with_view(None, "estimated").view_source is None  # no view, no source
    with pytest.raises(ValueError, match="view_source 'guessed'"):
        _row().with_view("side", "guessed")


def test_rows_from_before_view_source_read_as_they_were_made(tmp_path: Path) -> None:
    # Before schema 6 an analysed video's view was only ever the declared one, an imported
    # video's the estimate (posecoach import stored it).
    store = Store(tmp_path / "store")
    _write_old_file(store, [
        {"video_id": "an", "status": "ok", "source": "video", "view": "side"},
        {"video_id": "im", "status": "ok", "source": "import", "view": "front"},
        {"video_id": "no", "status": "ok", "source": "video", "view": None},
    ])  # fmt: skip
    raw = store.read("videos").set_index("video_id")
    assert raw["view_source"].isna().all()
    rows = {r.video_id: r for r in read_video_rows(store)}
    assert {v: (r.view, r.view_source) for v, r in rows.items()} == {
        "an": ("side", "declared"),
        "im": ("front", "estimated"),
        "no": (None, None),
    }
    # What scoring reads from the raw records says the same.
    records = raw.reset_index().to_dict("records")
    assert {r["video_id"]: declared_view(r) for r in records} == {
        "an": "side",
        "im": None,
        "no": None,
    }


def test_a_rescore_rewrites_an_estimated_view_only_where_it_moved(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    write_video_row(store, _row(video_id="de", view="side", view_source="declared"))
    write_video_row(store, _row(video_id="es", view="side", view_source="estimated"))
    _write_old_file(store, [{"video_id": "ol", "status": "ok", "source": "import",
                             "view": "front"}])  # fmt: skip
    records = {r["video_id"]: r for r in store.read("videos").to_dict("records")}
    # A declared view stays whatever the poses say; an unchanged estimate is not rewritten.
    assert not record_estimated_view(store, records["de"], "front")
    assert not record_estimated_view(store, records["es"], "side")
    # A moved estimate is, and so is a row from before view_source (to say where it came from).
    assert record_estimated_view(store, records["es"], "oblique")
    assert record_estimated_view(store, records["ol"], "front")
    rows = {r.video_id: (r.view, r.view_source) for r in read_video_rows(store)}
    assert rows == {"de": ("side", "declared"), "es": ("oblique", "estimated"),
                    "ol": ("front", "estimated")}  # fmt: skip
    raw = store.read("videos").set_index("video_id")
    assert raw.loc["ol", "view_source"] == "estimated"
