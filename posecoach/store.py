"""The Parquet store: one dataset per table, one file per video, atomic replace, DuckDB views.

Layout: ``<root>/<table>/date=YYYY-MM-DD/<video_id>.parquet``. ``root`` is a local folder or any
fsspec URL (``s3://bucket/store``, ``memory://store``, ...), so several machines can share one.

Guarantees:

* A file is written under a hidden temporary name (``.<video_id>.parquet.tmp-<uuid>``) and renamed
  into place; readers ignore names starting with ``.``, so a crash never exposes half a file.
* Writing a video's file removes that video's files in other date partitions first: a re-run
  replaces rows, never duplicates them.
* The ``videos`` row is the "done" marker: writers put it last, after the video's other tables.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from posecoach import __version__
from posecoach.schema import (
    COACH_TABLES,
    METRIC_NAME,
    OPEN_COLUMNS,
    SCHEMA_VERSION,
    SCHEMAS,
    TABLES,
)

META_PREFIX = "posecoach."
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTITIONING = pads.partitioning(pa.schema([("date", pa.string())]), flavor="hive")


class StoreError(Exception):
    """A store operation failed; the message names the table, video and file."""


def _check_table(table: str) -> None:
    if table not in SCHEMAS:
        raise StoreError(f"unknown table {table!r}; tables are {', '.join(SCHEMAS)}")


def _check_id(video_id: str) -> None:
    # video ids become file names: refuse anything that could escape the store.
    if not _SAFE_ID.match(video_id or ""):
        raise StoreError(f"invalid video_id {video_id!r}: expected 1-64 characters [A-Za-z0-9_-]")


def conform(table: str, df: pd.DataFrame) -> pa.Table:
    """Cast a DataFrame to the table's schema: missing columns become nulls, extra ones are refused.

    A table of :data:`posecoach.schema.OPEN_COLUMNS` (``features``) keeps extra columns named
    like a metric, after the schema's, cast to that table's type.
    """
    _check_table(table)
    schema = SCHEMAS[table]
    extra = [c for c in df.columns if c not in schema.names and c != "date"]
    if extra and table in OPEN_COLUMNS:
        bad = [c for c in extra if not (isinstance(c, str) and METRIC_NAME.match(c))]
        if bad:
            raise StoreError(
                f"table {table!r}: column(s) {bad} are not metric names "
                f"(expected {METRIC_NAME.pattern}); see posecoach.schema"
            )
        schema = pa.schema([*schema, *(pa.field(c, OPEN_COLUMNS[table]) for c in extra)])
    elif extra:
        raise StoreError(f"table {table!r} has no column(s) {extra}; see posecoach.schema")
    arrays = []
    for field in schema:
        if field.name in df.columns:
            col = df[field.name]
            if pa.types.is_timestamp(field.type):
                col = pd.to_datetime(col, utc=True)
            try:
                arrays.append(pa.array(col, type=field.type, from_pandas=True))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise StoreError(f"table {table!r}, column {field.name!r}: {exc}") from exc
        else:
            arrays.append(pa.nulls(len(df), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class Store:
    """A PoseCoach store at a local path or fsspec URL."""

    def __init__(
        self, url: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
    ):
        url = os.fspath(url)
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.local = "file" in _protocols(self.fs)
        self.root = os.path.abspath(root) if self.local else root.rstrip("/")
        self.url = self.root if self.local else url.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    # -- paths ---------------------------------------------------------------------------------
    def table_dir(self, table: str) -> str:
        _check_table(table)
        return posixpath.join(self.root, table)

    def file_path(self, table: str, video_id: str, date: str) -> str:
        _check_id(video_id)
        if not _DATE.match(date or ""):
            raise StoreError(f"invalid partition date {date!r}: expected YYYY-MM-DD")
        return posixpath.join(self.table_dir(table), f"date={date}", f"{video_id}.parquet")

    def files(self, table: str, video_id: str | None = None) -> list[str]:
        """Visible files of a table (optionally of one video), sorted."""
        name = f"{video_id}.parquet" if video_id else "*.parquet"
        if video_id:
            _check_id(video_id)
        pattern = posixpath.join(self.table_dir(table), "date=*", name)
        self.refresh_listings()
        return sorted(p for p in self.fs.glob(pattern) if not posixpath.basename(p).startswith("."))

    def refresh_listings(self) -> None:
        """Forget cached directory listings of an object store.

        Other processes and machines write into a shared store; s3fs and gcsfs keep each
        listing for the life of the process, which would hide their files (a video already done
        elsewhere would look new). Local folders are listed afresh anyway.
        """
        if not self.local:
            self.fs.invalidate_cache()

    # -- write -----------------------------------------------------------------------------------
    def write(
        self,
        table: str,
        df: pd.DataFrame | pa.Table,
        *,
        video_id: str,
        date: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Write (or replace) one video's rows of a table, atomically. Returns the file path.

        ``metadata`` values are stored JSON-encoded under ``posecoach.<key>`` in the Parquet
        key-value metadata, beside the schema version and the table name.
        """
        data = conform(table, df.to_pandas() if isinstance(df, pa.Table) else df)
        final = self.file_path(table, video_id, date)
        values = {
            **(metadata or {}),
            "schema_version": SCHEMA_VERSION,
            "table": table,
            "posecoach_version": __version__,
        }
        meta = {f"{META_PREFIX}{k}": json.dumps(v, default=str) for k, v in values.items()}
        data = data.replace_schema_metadata({**(data.schema.metadata or {}), **meta})

        directory = posixpath.dirname(final)
        self.fs.makedirs(directory, exist_ok=True)
        tmp = posixpath.join(directory, f".{video_id}.parquet.tmp-{uuid.uuid4().hex}")
        try:
            with self.fs.open(tmp, "wb") as fh:
                pq.write_table(data, fh, compression="zstd")
            # Old partitions go before the rename: a crash in between loses the video's rows
            # (the flow then re-processes it) rather than showing them twice.
            for old in self.files(table, video_id):
                if old != final:
                    self.fs.rm(old)
            self._rename(tmp, final)
        except BaseException:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
            raise
        return final

    def _rename(self, src: str, dst: str) -> None:
        if self.local:
            os.replace(src, dst)  # atomic on POSIX
        else:
            self.fs.mv(src, dst)

    def delete(self, video_id: str, tables: Iterable[str] = TABLES) -> None:
        """Remove a video's files from the given tables."""
        for table in tables:
            for path in self.files(table, video_id):
                self.fs.rm(path)

    # -- read ------------------------------------------------------------------------------------
    def dataset(self, table: str) -> pads.Dataset:
        """A pyarrow dataset over a table (with its ``date`` partition column); may be empty.

        For a table with open columns (``features``) the schema also has every extra column
        any of its files holds (null in the files without it), read from the files' footers.
        """
        files = self.files(table)
        schema = SCHEMAS[table]
        if table in OPEN_COLUMNS and files:
            schema = self._open_schema(table, files)
        schema = schema.append(pa.field("date", pa.string()))
        if not files:
            return pads.dataset(schema.empty_table())
        return pads.dataset(
            files,
            schema=schema,
            format="parquet",
            filesystem=self.fs,
            partitioning=_PARTITIONING,
            partition_base_dir=self.table_dir(table),
        )

    def _open_schema(self, table: str, files: list[str]) -> pa.Schema:
        schema = SCHEMAS[table]
        extra: dict[str, None] = {}  # insertion-ordered set: first seen, first
        for path in files:
            with self.fs.open(path, "rb") as fh:
                names = pq.read_schema(fh).names
            extra.update((n, None) for n in names if n not in schema.names and n != "date")
        return pa.schema([*schema, *(pa.field(n, OPEN_COLUMNS[table]) for n in extra)])

    def read(self, table: str, video_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Read a table (or some videos' rows of it) into pandas."""
        dataset = self.dataset(table)
        flt = None
        if video_ids is not None:
            # typed, so that no ids (an empty list, of type null) selects no rows
            flt = pads.field("video_id").isin(pa.array(list(video_ids), pa.string()))
        return dataset.to_table(filter=flt).to_pandas()

    def metadata(self, table: str, video_id: str) -> dict[str, Any]:
        """The ``posecoach.*`` key-value metadata of a video's file (decoded), or {} if absent."""
        files = self.files(table, video_id)
        if not files:
            return {}
        with self.fs.open(files[0], "rb") as fh:
            raw = pq.read_schema(fh).metadata or {}
        out: dict[str, Any] = {}
        for k, v in raw.items():
            key = k.decode()
            if not key.startswith(META_PREFIX):
                continue
            text = v.decode()
            try:
                out[key[len(META_PREFIX) :]] = json.loads(text)
            except json.JSONDecodeError:
                out[key[len(META_PREFIX) :]] = text
        return out

    # -- query -----------------------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per table (``videos``, ``keypoints``...,
        ``reviews``, ``track_athletes``)."""
        con = duckdb.connect()
        for table in (*TABLES, *COACH_TABLES):
            con.register(f"_{table}_ds", self.dataset(table))
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM _{table}_ds")
        return con

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL over the store's tables and return a DataFrame."""
        con = self.connect()
        try:
            return con.execute(sql).df()
        finally:
            con.close()


def query(sql: str, store: str | os.PathLike[str]) -> pd.DataFrame:
    """Run DuckDB SQL over a store's tables (``videos``, ``keypoints``, ``features``, ``reps``,
    ``findings``, ``reviews``, ``track_athletes``)."""
    return Store(store).query(sql)


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's content (streamed)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def video_id_for(sha256: str) -> str:
    """A video's id: the first 16 hex digits of its content hash (same content, same id)."""
    return sha256[:16]
