"""The ``videos`` row as a typed record: one builder for every place that records a video.

A `VideoRow` holds the columns of `posecoach.schema.VIDEOS` and, beside them, the partition
``date`` it is stored under (``<store>/videos/date=YYYY-MM-DD/<video_id>.parquet``), which is not
a column of the files. DataFrames appear only at the store boundary: `VideoRow.to_frame` for
writing, `VideoRow.from_frame` for what `Store.read` returns. Reading is where rows of older
stores are brought up to date: a failed row from before ``error_kind`` existed gets its kind
from its message there, once (`posecoach.failures.legacy_error_kind`), so that every decision
afterwards reads ``error_kind`` alone; likewise a row from before ``view_source`` gets it from
how such rows were made (`legacy_view_source`).

``view`` is what the video is filmed from: declared (a sidecar's ``view:``, ``--view``) or,
otherwise, estimated from the poses (the view seen longest). ``view_source`` says which, and
only a declared view binds later scoring (`declared_view`): re-scoring estimates anew.

A file filed under a second athlete (the same recording of a class in two athletes' folders)
is a row of its own, a copy (`VideoRow.as_copy`): its id is `copy_video_id` of the analysed
video and its athlete, ``same_content_as`` names the analysed video, whose keypoints, reps and
findings it shares (`VideoRow.content_id`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from posecoach.failures import ErrorKind, error_message, legacy_error_kind
from posecoach.schema import VIDEOS
from posecoach.store import Store, video_id_for

_INT_COLUMNS = ("size_bytes", "frames", "width", "height", "rotation", "n_tracks", "attempts")
_FLOAT_COLUMNS = ("fps", "duration_s")


@dataclass(frozen=True, kw_only=True)
class VideoRow:
    """One video's row of the ``videos`` table (see `posecoach.schema.VIDEOS` for the columns).

    Missing values are None (never NaN or NaT). ``date`` is the store partition, ``YYYY-MM-DD``.
    """

    video_id: str
    date: str
    path: str | None = None
    file_name: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    athlete: str | None = None
    exercise: str | None = None
    view: str | None = None
    view_source: str | None = None  # declared | estimated (VIEW_SOURCES); None without a view
    recorded_at: dt.datetime | None = None
    source: str | None = None
    codec: str | None = None
    fps: float | None = None
    frames: int | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    rotation: int | None = None
    n_tracks: int | None = None
    status: str = "failed"
    error: str | None = None
    error_kind: ErrorKind | None = None
    attempts: int | None = None
    preset: str | None = None
    backend: str | None = None
    detector: str | None = None
    detector_sha256: str | None = None
    pose_model: str | None = None
    pose_sha256: str | None = None
    random_weights: bool | None = None
    pipeline_version: str | None = None
    processed_at: dt.datetime | None = None
    same_content_as: str | None = None  # a copy: the analysed video with this content (schema 9)

    @property
    def content_id(self) -> str:
        """The video whose analysis this row shows: its own, or the analysed one of a copy."""
        return self.same_content_as or self.video_id

    def as_copy(
        self, *, athlete: str, path: str, file_name: str, processed_at: dt.datetime
    ) -> VideoRow:
        """This analysed row as the copy filed under ``athlete`` (at ``path``): the analysis's
        columns are this row's, in its date partition (the same session), so that the copy
        follows a re-analysis when it is recorded again."""
        return dataclasses.replace(
            self,
            video_id=copy_video_id(self.video_id, athlete),
            athlete=athlete,
            path=path,
            file_name=file_name,
            processed_at=processed_at,
            same_content_as=self.video_id,
        )

    def failed(self, kind: ErrorKind, reason: str) -> VideoRow:
        """This row as a ``failed`` one of ``kind`` (its message marked when transient)."""
        return dataclasses.replace(
            self, status="failed", error=error_message(kind, reason), error_kind=kind, n_tracks=0
        )

    def columns(self) -> dict[str, Any]:
        """The row's values by column name, in the table's order (no ``date``)."""
        values = {name: getattr(self, name) for name in VIDEOS.names}
        if self.error_kind is not None:
            values["error_kind"] = ErrorKind(self.error_kind).value
        return values

    def to_dict(self) -> dict[str, Any]:
        """The row as `Store.read` gives it back: every column, and its partition ``date``."""
        return {**self.columns(), "date": self.date}

    def to_frame(self) -> pd.DataFrame:
        """A one-row DataFrame of the table's columns, for `Store.write`."""
        return pd.DataFrame([self.columns()], columns=list(VIDEOS.names))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> VideoRow:
        """A row from one record of the videos table (with its ``date``), as pandas reads it.

        NaN and NaT become None, whole-number columns ints; columns missing from older files
        are None; ``error_kind`` of an older failed row is derived from its ``error`` (see the
        module docstring).
        """
        values = {name: _plain(record.get(name)) for name in (*VIDEOS.names, "date")}
        video_id = values["video_id"]
        if not values["date"]:
            raise ValueError(f"videos row {video_id}: no 'date' (the store partition)")
        for name in _INT_COLUMNS:
            if values[name] is not None:
                values[name] = int(values[name])
        for name in _FLOAT_COLUMNS:
            if values[name] is not None:
                values[name] = float(values[name])
        if values["random_weights"] is not None:
            values["random_weights"] = bool(values["random_weights"])
        values["error_kind"] = _error_kind(video_id, values)
        if values["view_source"] is None:
            values["view_source"] = legacy_view_source(values["source"], values["view"])
        return cls(**values)

    @property
    def declared_view(self) -> str | None:
        """The view a person declared (sidecar, ``--view``); None when estimated or unknown."""
        return self.view if self.view_source == "declared" else None

    def with_view(self, view: str | None, source: str) -> VideoRow:
        """This row with its ``view`` and where it came from (``declared`` | ``estimated``)."""
        if source not in VIEW_SOURCES:
            raise ValueError(f"view_source {source!r}: expected one of {', '.join(VIEW_SOURCES)}")
        return dataclasses.replace(self, view=view, view_source=source if view else None)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> list[VideoRow]:
        """The rows of a videos DataFrame (as `Store.read` returns it, with ``date``)."""
        if frame.empty:
            return []
        return [cls.from_record(record) for record in frame.to_dict("records")]


VIEW_SOURCES = ("declared", "estimated")


def copy_video_id(video_id: str, athlete: str) -> str:
    """The id of the copy of video ``video_id`` filed under ``athlete``: one per pair, so a
    file filed twice for one athlete is one copy, and renaming it keeps its id."""
    return video_id_for(hashlib.sha256(f"copy\n{video_id}\n{athlete}".encode()).hexdigest())


def content_id(video: Mapping[str, Any]) -> str:
    """`VideoRow.content_id` of a videos record as the store reads it (any schema version)."""
    return str(_plain(video.get("same_content_as")) or video["video_id"])


def legacy_view_source(source: str | None, view: str | None) -> str | None:
    """``view_source`` of a row written before the column (schema version 6): an imported
    video's view was the estimate (``posecoach import`` stored it unless ``--view`` was given,
    which the row cannot tell, so it is taken as estimated: re-scoring then estimates anew), an
    analysed video's view was only ever the declared one."""
    if view is None:
        return None
    return "estimated" if source == "import" else "declared"


def declared_view(video: Mapping[str, Any]) -> str | None:
    """The declared view of a videos record (a `VideoRow.to_dict` or a row as the store reads
    it, of any schema version), None when its view was estimated or is not known."""
    view, source = _plain(video.get("view")), _plain(video.get("view_source"))
    if source is None:
        source = legacy_view_source(_plain(video.get("source")), view)
    return view if source == "declared" else None


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):  # numpy scalars
        return _plain(value.item())
    return value


def _error_kind(video_id: str, values: Mapping[str, Any]) -> ErrorKind | None:
    value = values["error_kind"]
    if value is None:
        return legacy_error_kind(values["status"], values["error"])
    try:
        return ErrorKind(value)
    except ValueError:
        expected = ", ".join(kind.value for kind in ErrorKind)
        raise ValueError(
            f"videos row {video_id}: error_kind {value!r}: expected one of {expected}"
        ) from None


def write_video_row(store: Store, row: VideoRow) -> str:
    """Write a video's ``videos`` row (the "done" marker; write it last). Returns the path."""
    return store.write("videos", row.to_frame(), video_id=row.video_id, date=row.date)


def record_estimated_view(store: Store, record: Mapping[str, Any], view: str) -> bool:
    """After a video is scored again: rewrite its videos row (``record``, as the store read it)
    with the estimated ``view`` where its view is not declared and the stored one differs or
    predates ``view_source``. Returns whether it was written."""
    row = VideoRow.from_record(record)
    stored = (_plain(record.get("view")), _plain(record.get("view_source")))
    if row.declared_view is not None or stored == (view, "estimated"):
        return False
    write_video_row(store, row.with_view(view, "estimated"))
    return True


def read_video_rows(store: Store, video_ids: Iterable[str] | None = None) -> list[VideoRow]:
    """The store's ``videos`` rows (or those of some videos)."""
    return VideoRow.from_frame(store.read("videos", video_ids=video_ids))
