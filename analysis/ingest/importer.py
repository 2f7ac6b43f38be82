"""Keypoints made by another tool (CSV or Parquet), read, checked and made ready for the store.

The import format: one row per frame and person with the columns ``frame``, ``t_s`` (optional
when ``--fps`` is given), ``track_id`` and, for each COCO-17 keypoint, ``<name>_x``, ``<name>_y``
(pixels) and ``<name>_score``. A bad file (a missing column, a non-numeric value, a frame or a
time that goes backwards within a track, a duplicated frame) is rejected with a message naming
the column.

The imported values become the ``_raw`` columns; the smoothed columns are made with the same
smoothing as the pose engine (`analysis.tracking.smoothing.smooth_track`). Writing, scoring and
the ``videos`` row last are `flows.importing`'s (the analysis layer does not call the rules).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from posecoach import PIPELINE_VERSION
from posecoach.keypoints import KeyPoints
from posecoach.schema import COCO17
from posecoach.store import file_sha256, video_id_for
from posecoach.videos import VideoRow

KEYPOINT_FIELDS = [f"{n}_{c}" for n in COCO17 for c in ("x", "y", "score")]


class ImportFileError(ValueError):
    """The import file is unusable; the message names the file and the column."""


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet file (chosen by suffix; ``.parquet``/``.pq`` else CSV)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except Exception as exc:  # pandas / pyarrow raise many types for a broken file
        raise ImportFileError(f"{path}: cannot read as {path.suffix or 'CSV'}: {exc}") from None


def validate_import(df: pd.DataFrame, path: str, fps: float | None = None) -> pd.DataFrame:
    """Check an import table and return it typed and sorted by (track_id, frame).

    Raises ImportFileError naming the column for a missing column, a non-numeric value, a
    non-integer frame or track id, a duplicated (track_id, frame), or a frame / time that does
    not increase within a track. ``t_s`` is filled as ``frame / fps`` when absent.
    """
    required = ["frame", "track_id", *KEYPOINT_FIELDS]
    if "t_s" not in df.columns and not fps:
        raise ImportFileError(f"{path}: column 't_s' is missing (or give --fps to derive it)")
    missing = [c for c in required if c not in df.columns]
    if missing:
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise ImportFileError(f"{path}: missing column(s) {', '.join(missing[:5])}{more}")
    out = pd.DataFrame(index=df.index)
    numeric = ["frame", "track_id", *(["t_s"] if "t_s" in df.columns else []), *KEYPOINT_FIELDS]
    for col in numeric:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImportFileError(
                f"{path}: column {col!r}: non-numeric value {df[col].iloc[row]!r} "
                f"(data row {row + 1})"
            )
        out[col] = values.astype(np.float64)
    for col in ("frame", "track_id"):
        v = out[col].to_numpy()
        if np.isnan(v).any():
            raise ImportFileError(f"{path}: column {col!r}: empty value(s)")
        if not np.all(v == np.round(v)):
            raise ImportFileError(f"{path}: column {col!r}: expected whole numbers")
        out[col] = v.astype(np.int64)
    if (out["frame"] < 0).any():
        raise ImportFileError(f"{path}: column 'frame': negative frame numbers")
    if "t_s" not in out.columns:
        assert fps  # a file without t_s and no fps was refused above
        out["t_s"] = out["frame"] / float(fps)
    elif out["t_s"].isna().any():
        if not fps:
            raise ImportFileError(f"{path}: column 't_s': empty value(s) (give --fps to fill them)")
        out["t_s"] = out["t_s"].fillna(out["frame"] / float(fps))
    for tid, track in out.groupby("track_id", sort=False):
        frames = track["frame"].to_numpy()
        if np.any(np.diff(frames) == 0) or track["frame"].duplicated().any():
            raise ImportFileError(f"{path}: column 'frame': frame repeated in track {tid}")
        if np.any(np.diff(frames) < 0):
            raise ImportFileError(f"{path}: column 'frame': not increasing within track {tid}")
        if np.any(np.diff(track["t_s"].to_numpy()) <= 0):
            raise ImportFileError(
                f"{path}: column 't_s': time is not increasing with the frame in track {tid}"
            )
    return out.sort_values(["track_id", "frame"], kind="stable").reset_index(drop=True)


def estimate_fps(table: pd.DataFrame) -> float | None:
    """Frames per second from frame numbers and times (median over consecutive rows)."""
    rates = []
    for _, track in table.groupby("track_id"):
        df = np.diff(track["frame"].to_numpy())
        dt_ = np.diff(track["t_s"].to_numpy())
        ok = (df > 0) & (dt_ > 0)
        rates.extend(df[ok] / dt_[ok])
    return float(np.median(rates)) if rates else None


def to_keypoints(table: pd.DataFrame, fps: float | None) -> KeyPoints:
    """The imported rows as `KeyPoints`: raw = imported, smoothed per track, a box around the
    points scored 0.3 or more (its score their mean), sorted by track then frame."""
    from analysis.tracking.smoothing import smooth_track

    parts = []
    for tid, track in table.groupby("track_id", sort=True):
        n = len(track)
        xy = np.stack(
            [track[[f"{k}_x", f"{k}_y"]].to_numpy(np.float64) for k in COCO17], axis=1
        )  # (n, 17, 2)
        scores = track[[f"{k}_score" for k in COCO17]].to_numpy(np.float64)
        scores = np.nan_to_num(scores, nan=0.0)
        smoothed = smooth_track(track["frame"].to_numpy(), xy, scores, fps)
        valid = np.where((scores >= 0.3)[..., None], xy, np.nan)
        with np.errstate(invalid="ignore"), _quiet():
            lo, hi = np.nanmin(valid, axis=1), np.nanmax(valid, axis=1)
            mean_score = np.nanmean(np.where(scores >= 0.3, scores, np.nan), axis=1)
        parts.append(
            KeyPoints(
                frame=track["frame"].to_numpy(),
                t_s=track["t_s"].to_numpy(np.float64),
                track_id=np.full(n, int(tid)),
                box=np.column_stack([lo, hi, mean_score]),
                xy=smoothed,
                scores=scores,
                xy_raw=xy,
            )
        )
    return KeyPoints.concat(parts)


class _quiet:
    """Silence numpy's all-NaN slice warnings (an all-missing frame gives NaN, as intended)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@dataclass(frozen=True)
class ImportedVideo:
    """One import file made ready for the store: its keypoints and its ``videos`` row.

    Writing is the caller's (``flows.importing``): keypoints first, then scoring, then the row.
    """

    row: VideoRow  # its ``date`` is the partition the keypoints go to as well
    keypoints: KeyPoints
    keypoints_metadata: dict[str, Any]


def prepare_import(
    path: str | os.PathLike[str],
    *,
    athlete: str,
    exercise: str,
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
    date: str | None = None,
    view: str | None = None,
) -> ImportedVideo:
    """Read and check one import file; the keypoints smoothed and the ``videos`` row built."""
    from analysis.kinematics.view_segments import video_view
    from analysis.tracking.smoothing import SmoothingParams

    path = Path(path)
    table = validate_import(read_table(path), str(path), fps)
    fps = fps or estimate_fps(table)
    keypoints = to_keypoints(table, fps)
    sha = file_sha256(path)
    video_id = video_id_for(sha)
    if date is not None:
        try:
            recorded = dt.datetime.fromisoformat(date)
        except ValueError:
            raise ImportFileError(f"--date {date!r}: expected YYYY-MM-DD") from None
        recorded = recorded if recorded.tzinfo else recorded.replace(tzinfo=dt.UTC)
    else:
        recorded = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    partition = recorded.astimezone(dt.UTC).date().isoformat()

    # The view seen longest over all tracks (a set filmed front then side: the longer one);
    # each rep's own view is the scorer's (reps.view).
    view_col = view if view is not None else video_view(keypoints) if len(keypoints) else "unknown"
    frames = int(table["frame"].max()) + 1 if len(table) else 0
    row = VideoRow(
        video_id=video_id,
        date=partition,
        path=str(path),
        file_name=path.name,
        sha256=sha,
        size_bytes=path.stat().st_size,
        athlete=athlete,
        exercise=exercise,
        view=view_col,
        view_source="declared" if view is not None else "estimated",
        recorded_at=pd.Timestamp(recorded),
        source="import",
        codec=None,
        fps=fps,
        frames=frames,
        duration_s=float(table["t_s"].max()) if len(table) else 0.0,
        width=width,
        height=height,
        rotation=0,
        n_tracks=int(table["track_id"].nunique()),
        status="ok" if len(table) else "empty",
        error=None,
        backend="import",
        random_weights=False,
        pipeline_version=PIPELINE_VERSION,
    )
    metadata = {
        "video_id": video_id,
        "source": "import",
        "source_file": path.name,
        "smoothing": SmoothingParams().as_dict(),
    }
    return ImportedVideo(row=row, keypoints=keypoints, keypoints_metadata=metadata)
