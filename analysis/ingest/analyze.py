"""From a source on disk to the store: keypoints written, the ``videos`` row returned.

:func:`analyze_into_store` is the one call the CLI and the nightly flow make per video. It never
raises for bad input: an unreadable file gives a ``failed`` row with the reason, a readable one
in which nobody was found an ``empty`` row. A failure that was the machine's, not the file's
(out of memory, an I/O error on a share, the store) is recorded with ``error_kind`` transient
(:mod:`posecoach.failures`), so that the nightly flow tries it again. The row is a
`posecoach.videos.VideoRow`, the "done" marker; the caller writes it last
(`posecoach.videos.write_video_row`), after whatever else it writes (reps, findings); a crash
before it leaves the video looking unprocessed, so it is simply re-run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.io.video import VideoError, image_files
from analysis.kinematics.view_segments import video_view
from analysis.pipeline.engine import PoseEngine, PoseResult, ProgressFn
from posecoach import PIPELINE_VERSION, model_label
from posecoach.failures import ErrorKind, failure_kind
from posecoach.schema import SCHEMA_VERSION
from posecoach.store import Store, file_sha256, video_id_for
from posecoach.videos import VideoRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoMeta:
    """What is known about a video besides its pixels (from the inbox path or a sidecar).

    Attributes:
        athlete: who is in it (None if unknown).
        exercise: the exercise's rule-file name, e.g. ``squat`` (None if unknown).
        view: declared camera view (``side``, ``front``, ``oblique``) or None.
        recorded_at: when it was recorded (timezone-aware preferred; naive means UTC).
        path: the path to record in the ``videos`` table (e.g. inbox-relative); defaults to
            the path given to :func:`analyze_into_store`.
    """

    athlete: str | None = None
    exercise: str | None = None
    view: str | None = None
    recorded_at: dt.datetime | None = None
    path: str | None = None


def source_sha256(path: str | os.PathLike[str]) -> str:
    """Content hash of a source: the file's sha256, or for a folder of images the sha256 over
    its image files' names and hashes (so renaming or changing a frame changes the id)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        digest = hashlib.sha256()
        for file in image_files(path):
            digest.update(os.path.basename(file).encode() + b"\0" + file_sha256(file).encode())
        return digest.hexdigest()
    return file_sha256(path)


def session_date(path: str | os.PathLike[str], recorded_at: dt.datetime | None) -> str:
    """The store partition date ``YYYY-MM-DD``: the recording's UTC date if known, else the
    file's modification date (UTC), else today's."""
    if recorded_at is not None:
        when = recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC).date().isoformat()
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return dt.datetime.now(dt.UTC).date().isoformat()
    return dt.datetime.fromtimestamp(mtime, dt.UTC).date().isoformat()


def _backend_label(pose_info: dict[str, Any], configured: str) -> str:
    """``onnxruntime``, ``pytorch``...; ``openvino-bf16`` when the networks ran in bfloat16,
    so that keypoints from reduced precision can be told apart in the videos table."""
    label = str(pose_info.get("backend") or configured)
    precision = pose_info.get("precision") or "fp32"
    return label if precision == "fp32" else f"{label}-{precision}"


def model_columns(engine: PoseEngine) -> dict[str, Any]:
    """The ``videos`` columns that say which models made a video's keypoints (and whether
    their weights were random), for every path that stores keypoints of this engine."""
    det, pose = engine.detector.info, engine.pose.info
    return {
        "preset": model_label(engine.config.preset, engine.config.detector, engine.config.pose),
        "backend": _backend_label(pose, engine.config.backend),
        "detector": det.get("name"),
        "detector_sha256": det.get("sha256"),
        "pose_model": pose.get("name"),
        "pose_sha256": pose.get("sha256"),
        "random_weights": engine.random_weights,
    }


def _base_row(
    path: str, meta: VideoMeta, engine: PoseEngine, sha: str, size: int | None
) -> VideoRow:
    return VideoRow(
        video_id=video_id_for(sha),
        date=session_date(path, meta.recorded_at),
        path=meta.path or path,
        file_name=Path(path).name,
        sha256=sha,
        size_bytes=size,
        athlete=meta.athlete,
        exercise=meta.exercise,
        view=meta.view,
        view_source="declared" if meta.view else None,
        recorded_at=meta.recorded_at,
        **model_columns(engine),
        pipeline_version=PIPELINE_VERSION,
    )


def analyze_into_store(
    engine: PoseEngine,
    path: str | os.PathLike[str],
    store: Store,
    meta: VideoMeta | None = None,
    progress: ProgressFn | None = None,
) -> VideoRow:
    """Analyse one source and write its keypoints; return its ``videos`` row (not written).

    The row's ``date`` is the partition :func:`session_date` gives. Status: ``ok`` (keypoints
    written), ``empty`` (a readable source in which nobody was found: an empty keypoints file is
    written so that a re-run replaces older rows) or ``failed`` (with ``error`` and
    ``error_kind``; the video's keypoints are removed, nothing half-written is left).
    """
    meta = meta or VideoMeta()
    path = os.fspath(path)
    try:
        sha = source_sha256(path)
        size = (
            sum(os.path.getsize(f) for f in image_files(path))
            if os.path.isdir(path)
            else os.path.getsize(path)
        )
    except OSError as exc:
        # No content to hash: an id from the path keeps the failure queryable.
        sha = hashlib.sha256(f"unreadable:{path}".encode()).hexdigest()
        row = _base_row(path, meta, engine, sha, None)
        row = row.failed(failure_kind(exc), f"{path}: cannot read: {exc.strerror or exc}")
        _drop_keypoints(store, row.video_id)
        return _finish(row)
    row = _base_row(path, meta, engine, sha, size)

    try:
        result = engine.analyze(path, progress=progress)
    except VideoError as exc:
        log.warning("%s", exc)
        row = row.failed(failure_kind(exc), str(exc))
    except Exception as exc:  # a model or pipeline fault on this input: record it, go on
        log.exception("analysis of %s failed", path)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = (
            f"{path}: analysis failed: {type(exc).__name__}: {exc} "
            f"(at {Path(where.filename).name}:{where.lineno})"
        )
        row = row.failed(failure_kind(exc), reason)
    else:
        row = _with_info(row, result)
        try:
            write_keypoints(store, row.video_id, row.date, result)
        except Exception as exc:
            log.exception("writing keypoints of %s failed", path)
            # Whatever the error, the video was fine: it is the store's failure, so retry.
            reason = f"{path}: writing keypoints failed: {type(exc).__name__}: {exc}"
            row = row.failed(ErrorKind.TRANSIENT, reason)
    if row.status == "failed":
        _drop_keypoints(store, row.video_id)
    return _finish(row)


def _with_info(row: VideoRow, result: PoseResult) -> VideoRow:
    info = result.info
    n_tracks = result.n_tracks
    if n_tracks and row.view_source != "declared":
        # The view seen longest over all tracks; each rep's own view is the scorer's (reps.view).
        row = row.with_view(video_view(result.keypoints), "estimated")
    return dataclasses.replace(
        row,
        source=info.kind,
        codec=info.codec,
        fps=info.fps,
        frames=info.frames,
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        rotation=info.rotation,
        n_tracks=n_tracks,
        status="ok" if n_tracks else "empty",
        error=None if n_tracks else f"no person detected in {info.frames} frame(s)",
    )


def write_keypoints(store: Store, video_id: str, date: str, result: PoseResult) -> str:
    """Write a result's keypoints (with ``video_id``) and its metadata; returns the file path."""
    df = result.keypoints.to_frame(video_id)
    metadata = {
        "schema_version": SCHEMA_VERSION,
        "video_id": video_id,
        **result.metadata,
    }
    return store.write("keypoints", df, video_id=video_id, date=date, metadata=metadata)


def _drop_keypoints(store: Store, video_id: str) -> None:
    try:
        store.delete(video_id, tables=("keypoints",))
    except Exception:  # the row still says failed; a stale file is reported, not fatal
        log.exception("could not remove keypoints of %s", video_id)


def _finish(row: VideoRow) -> VideoRow:
    return dataclasses.replace(row, processed_at=pd.Timestamp.now(tz="UTC"))


def row_summary(row: VideoRow) -> str:
    """A one-line human summary of a ``videos`` row."""
    parts = [row.video_id, row.status]
    if row.status == "ok":
        parts.append(f"{row.n_tracks} track(s), {row.frames} frames")
    if row.error:
        parts.append(row.error)
    return "  ".join(parts)
