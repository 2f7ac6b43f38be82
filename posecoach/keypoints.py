"""`KeyPoints`: the pose stage's output as a structure of arrays, one row per (frame, track).

The engine produces it, the overlay and the thumbnails draw from it, and the store boundary
turns it into the ``keypoints`` table (:meth:`KeyPoints.to_frame`) and back
(:meth:`KeyPoints.from_frame`). Between those, code indexes arrays by COCO-17 position
(:data:`posecoach.schema.KEYPOINT_INDEX`) instead of building column names from strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from posecoach.schema import COCO17, KEYPOINT_INDEX, KEYPOINTS, wide_keypoints

K = len(COCO17)

#: The box columns of the keypoints table, in the order of ``KeyPoints.box``'s last axis.
BOX_COLUMNS: tuple[str, ...] = ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "bbox_score")

#: The keypoints table's columns without ``video_id``, in schema order.
FRAME_COLUMNS: tuple[str, ...] = tuple(n for n in KEYPOINTS.names if n != "video_id")

# field name -> (dtype, shape after the row axis)
_LAYOUT: dict[str, tuple[type[np.generic], tuple[int, ...]]] = {
    "frame": (np.int64, ()),
    "t_s": (np.float64, ()),
    "track_id": (np.int64, ()),
    "box": (np.float32, (5,)),
    "xy": (np.float32, (K, 2)),
    "scores": (np.float32, (K,)),
    "xy_raw": (np.float32, (K, 2)),
}


@dataclass(frozen=True, eq=False)
class KeyPoints:
    """Keypoints of T rows, each row one person (track) in one frame.

    Arrays are converted to the dtypes below on construction (no copy when they already are).

    Attributes:
        frame: int64[T] 0-based frame index in the source.
        t_s: float64[T] the frame's time in seconds (NaN for unrelated stills).
        track_id: int64[T] the person's track id (1, 2, 3... within a video).
        box: float32[T, 5] the person's box ``x1, y1, x2, y2, score`` in pixels.
        xy: float32[T, 17, 2] smoothed pixel coordinates in the upright frame, COCO-17 order;
            NaN where the point was dropped and not interpolated.
        scores: float32[T, 17] the model's score per point (after left/right repair).
        xy_raw: float32[T, 17, 2] the model's coordinates before repair and smoothing.
    """

    frame: np.ndarray
    t_s: np.ndarray
    track_id: np.ndarray
    box: np.ndarray
    xy: np.ndarray
    scores: np.ndarray
    xy_raw: np.ndarray

    def __post_init__(self) -> None:
        n: int | None = None
        for name, (dtype, tail) in _LAYOUT.items():
            value = np.asarray(getattr(self, name), dtype=dtype)
            if value.ndim != 1 + len(tail) or value.shape[1:] != tail:
                expected = "[T" + "".join(f", {d}" for d in tail) + "]"
                raise ValueError(
                    f"KeyPoints.{name}: expected shape {expected}, got {list(value.shape)}"
                )
            if n is None:
                n = len(value)
            elif len(value) != n:
                raise ValueError(
                    f"KeyPoints.{name}: expected {n} rows (as frame has), got {len(value)}"
                )
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"KeyPoints({len(self)} rows, tracks {self.track_ids().tolist()})"

    @classmethod
    def empty(cls) -> KeyPoints:
        """No rows."""
        return cls(**{name: np.zeros((0, *tail), dtype) for name, (dtype, tail) in _LAYOUT.items()})

    @classmethod
    def concat(cls, parts: Iterable[KeyPoints]) -> KeyPoints:
        """The rows of ``parts``, one after the other."""
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def take(self, rows: np.ndarray | Sequence[int] | slice) -> KeyPoints:
        """The rows selected by an index array, a boolean mask or a slice."""
        if not isinstance(rows, slice):
            rows = np.asarray(rows)
            if rows.dtype != bool:
                rows = rows.astype(np.intp)
        return KeyPoints(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    def track_ids(self) -> np.ndarray:
        """The distinct track ids, ascending."""
        return np.unique(self.track_id)

    def for_track(self, track_id: int) -> KeyPoints:
        """The rows of one track, in their current order."""
        return self.take(self.track_id == track_id)

    def at_frames(self, frames: np.ndarray | Sequence[int]) -> KeyPoints:
        """One track's rows at ``frames``, in that order: a frame the track has gets its row, any
        other frame a row with NaN box, points, scores and ``t_s`` (the track's id all along).

        Raises:
            ValueError: the rows are empty, of more than one track, or have a frame twice.
        """
        frames = np.asarray(frames, dtype=np.int64)
        ids = self.track_ids()
        if len(ids) != 1:
            raise ValueError(f"KeyPoints.at_frames: expected the rows of one track, got {ids}")
        present, where = np.unique(self.frame, return_index=True)
        if len(present) != len(self):
            raise ValueError("KeyPoints.at_frames: expected each frame once, got some twice")
        pos = np.searchsorted(present, frames).clip(max=len(present) - 1)
        hit = present[pos] == frames
        rows = where[pos[hit]]
        out: dict[str, np.ndarray] = {"frame": frames, "track_id": np.full(len(frames), ids[0])}
        for name in ("t_s", "box", "xy", "scores", "xy_raw"):
            dtype, tail = _LAYOUT[name]
            values = np.full((len(frames), *tail), np.nan, dtype)
            values[hit] = getattr(self, name)[rows]
            out[name] = values
        return KeyPoints(**out)

    def point(self, name: str) -> np.ndarray:
        """float32[T, 2] smoothed coordinates of the COCO-17 keypoint ``name`` (e.g. ``left_knee``)."""
        try:
            k = KEYPOINT_INDEX[name]
        except KeyError:
            raise KeyError(
                f"KeyPoints.point: no keypoint {name!r}; expected one of {COCO17}"
            ) from None
        return self.xy[:, k]

    # -- the store boundary ------------------------------------------------------------------
    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> KeyPoints:
        """Rows of a keypoints table (as :meth:`posecoach.store.Store.read` returns it), in order.

        Other columns (``video_id``, ``date``) are ignored. ``frame``, ``track_id`` and the
        smoothed ``<name>_x/_y/_score`` columns are required; ``t_s``, the box and the raw
        columns, when absent, read as NaN.

        Raises:
            ValueError: a required column is missing (all missing ones are named).
        """
        required = ["frame", "track_id", *(f"{n}_{c}" for n in COCO17 for c in ("x", "y", "score"))]
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise ValueError(f"keypoints table: missing column(s) {missing}; see posecoach.schema")
        n = len(df)

        def floats(columns: Sequence[str], dtype: type[np.generic]) -> np.ndarray:
            out = np.full((n, len(columns)), np.nan, dtype)
            for j, c in enumerate(columns):
                if c in df.columns:
                    out[:, j] = df[c].to_numpy(dtype, na_value=np.nan)
            return out

        def coords(suffix: str) -> np.ndarray:
            names = [f"{name}_{a}{suffix}" for name in COCO17 for a in ("x", "y")]
            return floats(names, np.float32).reshape(n, K, 2)

        return cls(
            frame=df["frame"].to_numpy(np.int64),
            t_s=floats(["t_s"], np.float64)[:, 0],
            track_id=df["track_id"].to_numpy(np.int64),
            box=floats(BOX_COLUMNS, np.float32),
            xy=coords(""),
            scores=floats([f"{name}_score" for name in COCO17], np.float32),
            xy_raw=coords("_raw"),
        )

    def to_frame(self, video_id: str | None = None) -> pd.DataFrame:
        """The keypoints table: the ``KEYPOINTS`` schema's columns and dtypes (frame and
        track_id int32, t_s float64, the rest float32); ``video_id`` first when given,
        otherwise left out."""
        data: dict[str, np.ndarray] = {
            "frame": self.frame.astype(np.int32),
            "t_s": self.t_s,
            "track_id": self.track_id.astype(np.int32),
        }
        data.update({c: self.box[:, j] for j, c in enumerate(BOX_COLUMNS)})
        data.update(wide_keypoints(self.xy, self.scores, self.xy_raw))
        df = pd.DataFrame(data, columns=list(FRAME_COLUMNS))
        if video_id is not None:
            df.insert(0, "video_id", video_id)
        return df
