"""posecoach.store: atomic replace, no duplicates, metadata, DuckDB views, fsspec URLs."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from posecoach.schema import KEYPOINTS, SCHEMA_VERSION, keypoint_columns
from posecoach.store import Store, StoreError, conform, video_id_for


def _keypoints(video_id: str, frames: int, tracks: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for f in range(frames):
        for t in range(tracks):
            row = {"video_id": video_id, "frame": f, "t_s": f / 10, "track_id": t}
            row.update({c: rng.uniform(0, 100) for c in keypoint_columns()})
            rows.append(row)
    return pd.DataFrame(rows)


def _video(video_id: str, status: str = "ok", athlete: str = "ana") -> pd.DataFrame:
    return pd.DataFrame(
        [{"video_id": video_id, "path": f"{athlete}/squat/{video_id}.mp4", "athlete": athlete,
          "status": status, "fps": 10.0, "frames": 3}]
    )  # fmt: skip


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return Store(tmp_path / "store")
    return Store(f"memory://store-{uuid.uuid4().hex}")


def test_write_read_roundtrip_with_schema(store: Store) -> None:
    store.write("keypoints", _keypoints("v1", 3), video_id="v1", date="2026-11-25")
    df = store.read("keypoints")
    assert len(df) == 6
    assert set(KEYPOINTS.names) <= set(df.columns)
    assert (df["date"] == "2026-11-25").all()
    # columns not given (the _raw ones here) come back as nulls, typed
    assert df["nose_x_raw"].isna().all()


def test_rewrite_replaces_rows_even_across_dates(store: Store) -> None:
    store.write("keypoints", _keypoints("v1", 3), video_id="v1", date="2026-11-24")
    store.write("keypoints", _keypoints("v2", 2), video_id="v2", date="2026-11-24")
    store.write("keypoints", _keypoints("v1", 5), video_id="v1", date="2026-11-25")
    df = store.read("keypoints")
    assert len(df[df.video_id == "v1"]) == 10
    assert set(df[df.video_id == "v1"].date) == {"2026-11-25"}
    assert len(df[df.video_id == "v2"]) == 4
    assert len(store.files("keypoints", "v1")) == 1


def test_metadata_records_schema_version_and_models(store: Store) -> None:
    store.write(
        "keypoints", _keypoints("v1", 1), video_id="v1", date="2026-11-25",
        metadata={"detector": {"name": "rtmdet-nano", "sha256": "abc"}, "smoothing": {"cutoff_hz": 6}},
    )  # fmt: skip
    meta = store.metadata("keypoints", "v1")
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["table"] == "keypoints"
    assert meta["detector"] == {"name": "rtmdet-nano", "sha256": "abc"}
    assert meta["smoothing"]["cutoff_hz"] == 6
    assert store.metadata("keypoints", "absent") == {}


def test_a_version_1_store_reads_beside_version_2_files(store: Store) -> None:
    """Schema version 2 added the features table and videos.error_kind; a store written by
    version 1 (no features files, videos files without the column) reads and queries as it
    is, beside files of version 2."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from posecoach.schema import VIDEOS

    assert int(SCHEMA_VERSION) >= 2
    old = pa.schema([f for f in VIDEOS if f.name != "error_kind"])
    table = conform("videos", _video("v1", "failed")).select(old.names)
    table = table.replace_schema_metadata({"posecoach.schema_version": '"1"'})
    path = store.file_path("videos", "v1", "2026-11-24")
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with store.fs.open(path, "wb") as fh:
        pq.write_table(table, fh)
    store.write("videos", _video("v2"), video_id="v2", date="2026-11-25")
    assert store.metadata("videos", "v1")["schema_version"] == "1"
    assert store.metadata("videos", "v2")["schema_version"] == SCHEMA_VERSION
    videos = store.read("videos").set_index("video_id")
    assert list(videos.index.sort_values()) == ["v1", "v2"]
    assert videos["error_kind"].isna().all() and videos.loc["v1", "status"] == "failed"
    assert store.read("features").empty  # no file yet: the table, with its columns
    got = store.query(
        "SELECT v.video_id, count(f.frame) AS n FROM videos v "
        "LEFT JOIN features f USING (video_id) GROUP BY 1 ORDER BY 1"
    )
    assert got.to_dict("list") == {"video_id": ["v1", "v2"], "n": [0, 0]}


def test_duckdb_views_over_all_tables(store: Store) -> None:
    store.write("videos", _video("v1"), video_id="v1", date="2026-11-25")
    store.write("videos", _video("v2", "failed", "ben"), video_id="v2", date="2026-11-25")
    store.write("keypoints", _keypoints("v1", 4), video_id="v1", date="2026-11-25")
    out = store.query(
        "SELECT v.athlete, count(*) AS n FROM keypoints k JOIN videos v USING (video_id) "
        "GROUP BY 1 ORDER BY 1"
    )
    assert out.to_dict("records") == [{"athlete": "ana", "n": 8}]
    # empty tables are still queryable, with their columns
    assert store.query("SELECT count(*) AS n FROM findings")["n"].item() == 0
    assert "severity" in store.query("SELECT * FROM findings").columns


def test_half_written_files_are_invisible(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.write("videos", _video("v1"), video_id="v1", date="2026-11-25")
    part = tmp_path / "store" / "videos" / "date=2026-11-25"
    (part / ".v2.parquet.tmp-dead").write_bytes(b"PAR1 half a file")
    assert store.files("videos") == [str(part / "v1.parquet")]
    assert store.query("SELECT count(*) AS n FROM videos")["n"].item() == 1


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "store")
    store.write("videos", _video("v1"), video_id="v1", date="2026-11-25")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("pyarrow.parquet.write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write("videos", _video("v1", athlete="zed"), video_id="v1", date="2026-11-25")
    leftovers = [p.name for p in (tmp_path / "store").rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    assert store.read("videos")["athlete"].tolist() == ["ana"]


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", "x" * 65, "..", "v 1"])
def test_hostile_video_ids_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(StoreError, match="invalid video_id"):
        Store(tmp_path).write("videos", _video("v1"), video_id=bad, date="2026-11-25")


def test_bad_table_column_and_date_named() -> None:
    with pytest.raises(StoreError, match="unknown table 'poses'"):
        conform("poses", pd.DataFrame())
    with pytest.raises(StoreError, match=r"no column\(s\) \['elbow'\]"):
        conform("videos", pd.DataFrame({"video_id": ["a"], "elbow": [1]}))
    with pytest.raises(StoreError, match="column 'frames'"):
        conform("videos", pd.DataFrame({"video_id": ["a"], "frames": ["many"]}))
    with pytest.raises(StoreError, match="invalid partition date"):
        Store("memory://x").file_path("videos", "v1", "25/11/2026")


def test_video_id_is_content_hash_prefix() -> None:
    assert video_id_for("ab" * 32) == "ab" * 8


def test_query_cli_formats(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.write("videos", _video("v1"), video_id="v1", date="2026-11-25")
    sql = "SELECT video_id, athlete, status FROM videos"
    run = [sys.executable, "-m", "flows.cli.main", "query", sql, "--store", str(tmp_path / "store")]
    js = subprocess.run([*run, "--format", "json"], capture_output=True, text=True, check=True)
    assert [json.loads(line) for line in js.stdout.splitlines()] == [
        {"video_id": "v1", "athlete": "ana", "status": "ok"}
    ]
    csv = subprocess.run([*run, "--format", "csv"], capture_output=True, text=True, check=True)
    assert csv.stdout.splitlines() == ["video_id,athlete,status", "v1,ana,ok"]
    bad = subprocess.run(
        [*run[:-3], "SELECT nope FROM videos", *run[-2:]], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "nope" in bad.stderr
