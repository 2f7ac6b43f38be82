"""The features of a track: every metric scoring measures, per frame, on the track's frame grid.

`track_features` is the one place the per-frame metrics are computed: scoring evaluates its
checks on them and writes them as the store's ``features`` table (`posecoach.schema.FEATURES`),
and reports chart them from there. A table holds, one float column each, named as in the rule
vocabulary:

* the standard features of `analysis.kinematics.angles` (``knee_angle_left_deg``,
  ``trunk_to_vertical_deg``, ``hip_height``...), always all of them;
* the metrics a rule file defines itself (``front_knee_deg: {op: min, of: [...]}``), passed as
  ``definitions`` (the rule file's ``metrics``: anything with ``fn``, ``points``, ``op``, ``of``
  and ``unit``, such as `rules.schema.MetricSpec`; this module never imports rules).

The frame grid: a track's `posecoach.keypoints.KeyPoints` are laid on every frame from its
first to its last (`track_grid`); frames where the track was not seen get NaN keypoints, so NaN
metrics, and an interpolated time. So velocities and time windows see real time, and a chart shows a gap as
a gap. Units and NaN policy are those of `analysis.kinematics.angles`: degrees, degrees per
second, torso lengths; NaN wherever a needed keypoint is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from analysis.kinematics import angles
from analysis.kinematics.angles import (
    DERIVED_SPECS,
    FEATURE_NAMES,
    FEATURE_SPECS,
    FEATURE_UNITS,
    MID_POINTS,
    MIN_SCORE,
)
from analysis.kinematics.view_segments import cut_rows
from posecoach.keypoints import KeyPoints
from posecoach.schema import COCO17

#: Bumped when a standard feature's definition changes (values of two versions differ).
FEATURES_VERSION = "2"
#: A shot needs this many rows with a measured torso for a torso unit of its own.
MIN_SHOT_ROWS = 10
#: The columns of a track's features table before the metrics.
GRID_COLUMNS: tuple[str, ...] = ("frame", "t_s")
# Names a rule file's metric may not take: the key columns of the store's features table.
_KEY_COLUMNS = frozenset({"video_id", "track_id", "frame", "t_s", "date"})


class MetricDefinition(Protocol):
    """A metric a rule file defines: a vocabulary function over points, or an operation over
    other metrics (`rules.schema.MetricSpec` is one)."""

    @property
    def fn(self) -> str | None: ...
    @property
    def points(self) -> Sequence[str]: ...
    @property
    def op(self) -> str | None: ...
    @property
    def of(self) -> Sequence[str]: ...
    @property
    def unit(self) -> str: ...


Definitions = Mapping[str, MetricDefinition]


def track_grid(track: KeyPoints, fps: float | None = None) -> KeyPoints:
    """One track's rows laid on the full frame grid from its first to its last frame.

    The rows may come in any order; a frame given twice keeps its last row. Missing frames get
    NaN keypoints, box and scores (`KeyPoints.at_frames`); every frame's time is interpolated
    between the known ones (or is ``frame / fps``, or the frame index, when fewer than two are
    known).

    Raises:
        ValueError: ``track`` has no rows or the rows of more than one track.
    """
    if not len(track):
        raise ValueError("track_grid: the track has no rows")
    # A stable sort, so that of a frame's rows the last one given is the one kept.
    order = np.argsort(track.frame, kind="stable")
    sorted_frames = track.frame[order]
    last = np.append(sorted_frames[1:] != sorted_frames[:-1], True)
    track = track.take(order[last])
    frames = np.arange(int(track.frame[0]), int(track.frame[-1]) + 1)
    known = track.t_s
    if np.isfinite(known).sum() >= 2:
        ok = np.isfinite(known)
        t_s = np.interp(frames, track.frame[ok], known[ok])
    elif fps:
        t_s = frames / fps
    else:
        t_s = frames.astype(np.float64)
    return dataclasses.replace(track.at_frames(frames), t_s=t_s)


def shot_bounds(grid: KeyPoints, min_score: float = MIN_SCORE) -> list[int]:
    """Row bounds of a track's shots: 0, each camera cut's row
    (`analysis.kinematics.view_segments.cut_rows`: a jump in the box's size or position, or the
    track unseen for a while), the number of rows."""
    return [0, *cut_rows(grid, min_score).tolist(), len(grid)]


def _per_shot(values: np.ndarray, bounds: list[int]) -> np.ndarray:
    # Per row, the 90th percentile of the finite values of its shot; NaN for a shot with
    # fewer than MIN_SHOT_ROWS of them.
    out = np.full(len(values), np.nan)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        seen = values[a:b][np.isfinite(values[a:b])]
        if seen.size >= MIN_SHOT_ROWS:
            out[a:b] = float(np.percentile(seen, 90))
    return out


def shot_torso_unit(
    grid: KeyPoints, min_score: float = MIN_SCORE, bounds: list[int] | None = None
) -> np.ndarray:
    """Per row, the torso unit (pixels) of the shot it is in (`shot_bounds`): `angles.torso_length`
    over the shot's rows.

    One unit for a whole track would make a zoomed close-up rescale every other shot's heights
    and distances (jumping_jacks_front.csv: the close-up's torso, 800 px with the hips guessed
    at the frame's edge, made the full view's 270 px torso a third of a unit and its jacks too
    small to count). A shot with fewer than :data:`MIN_SHOT_ROWS` measured torsos has no unit
    (NaN): a close-up with the hips out of frame cannot say how long a torso is, and another
    shot's torso would be a made-up scale.
    """
    bounds = shot_bounds(grid, min_score) if bounds is None else bounds
    if len(bounds) == 2:
        return np.full(len(grid), angles.torso_length(grid, min_score))
    torso = angles._norm(angles.point(grid, "mid_shoulder", min_score)
                         - angles.point(grid, "mid_hip", min_score))  # fmt: skip
    return _per_shot(np.where(torso > 0, torso, np.nan), bounds)


def shot_floor(
    grid: KeyPoints, min_score: float = MIN_SCORE, bounds: list[int] | None = None
) -> np.ndarray:
    """Per row, the floor line (image y, pixels) of its shot: `angles.floor_line` over the
    shot's rows (NaN where a shot shows fewer than :data:`MIN_SHOT_ROWS` ankles)."""
    bounds = shot_bounds(grid, min_score) if bounds is None else bounds
    if len(bounds) == 2:
        return np.full(len(grid), angles.floor_line(grid, min_score))
    low = np.fmax(angles.point(grid, "left_ankle", min_score)[:, 1],
                  angles.point(grid, "right_ankle", min_score)[:, 1])  # fmt: skip
    return _per_shot(low, bounds)


def _check_names(definitions: Definitions) -> None:
    for name in definitions:
        if name in FEATURE_SPECS or name in DERIVED_SPECS or name in _KEY_COLUMNS:
            raise ValueError(
                f"metric {name!r}: the name of a standard feature or of a features key column; "
                "a rule file's metrics need names of their own"
            )


def metric_values(
    grid: KeyPoints, definitions: Definitions | None = None, min_score: float = MIN_SCORE
) -> dict[str, np.ndarray]:
    """Every standard feature and every defined metric of one track grid, float64 per row.

    Raises:
        ValueError: a definition takes a standard or key column name, or refers in a circle.
        KeyError: a definition refers to a metric that is neither standard nor defined.
    """
    bounds = shot_bounds(grid, min_score)
    unit = shot_torso_unit(grid, min_score, bounds)
    standard = angles.features(grid, min_score, unit=unit)
    out = {name: standard[name].to_numpy(np.float64) for name in FEATURE_NAMES}
    if not definitions:
        return out
    _check_names(definitions)
    t_s = grid.t_s

    def need(name: str, chain: tuple[str, ...] = ()) -> np.ndarray:
        if name in out:
            return out[name]
        if name in chain:
            raise ValueError(f"metric {name!r} refers to itself via {' -> '.join(chain)}")
        spec = definitions.get(name)
        if spec is None:
            raise KeyError(f"metric {name!r}: neither a standard feature nor defined")
        if spec.fn is not None:
            floor = shot_floor(grid, min_score, bounds) if spec.fn == "height_above_floor" else None
            value = angles.evaluate_point_function(
                grid, spec.fn, spec.points, unit, min_score, floor=floor
            )
        else:
            inputs = [need(ref, (*chain, name)) for ref in spec.of]
            value = angles.combine(spec.op or "", inputs, t_s)
        out[name] = np.asarray(value, dtype=np.float64)
        return out[name]

    for name in definitions:
        need(name)
    return out


def track_features(
    track: KeyPoints,
    fps: float | None = None,
    *,
    definitions: Definitions | None = None,
    min_score: float = MIN_SCORE,
) -> pd.DataFrame:
    """The features table of one track: ``frame``, ``t_s`` and one float64 column per metric.

    Args:
        track: one track's keypoints, in any order; a frame given twice keeps its last row.
        fps: the video's frame rate, used for the times only when ``t_s`` is missing.
        definitions: the rule file's own metrics (name -> definition), added after the
            standard features in their order.
        min_score: keypoints scored below it are missing (the rule file's ``min_score``).

    Returns:
        One row per frame of the track's grid (`track_grid`), in frame order; the columns
        :data:`GRID_COLUMNS`, then :data:`analysis.kinematics.angles.FEATURE_NAMES`, then the
        defined metrics.
    """
    grid = track_grid(track, fps)
    values = metric_values(grid, definitions, min_score)
    table = pd.DataFrame(values, index=pd.RangeIndex(len(grid)))
    table.insert(0, "t_s", grid.t_s)
    table.insert(0, "frame", grid.frame)
    return table


def video_features(tracks: Mapping[int, pd.DataFrame], video_id: str = "") -> pd.DataFrame:
    """The features rows of a video from its tracks' tables (`track_features`), as stored.

    Columns ``video_id, frame, t_s, track_id`` then the metrics; rows by track, then frame.
    A metric one track has and another lacks is NaN for the other.
    """
    parts = [t.assign(track_id=int(tid)) for tid, t in sorted(tracks.items())]
    if not parts:
        return pd.DataFrame(columns=["video_id", *GRID_COLUMNS, "track_id"])
    table = pd.concat(parts, ignore_index=True)
    metrics = [c for c in table.columns if c not in (*GRID_COLUMNS, "track_id")]
    table = table[[*GRID_COLUMNS, "track_id", *metrics]]
    table.insert(0, "video_id", video_id)
    return table


def _expand_point(name: str) -> set[str]:
    if name in MID_POINTS:
        return set(MID_POINTS[name])
    return {name} if name in COCO17 else set()


def metric_points(name: str, definitions: Definitions | None = None) -> frozenset[str]:
    """The COCO-17 keypoints a metric is computed from (a mid-point counts as both sides).

    Empty for a name that is neither standard nor defined.
    """
    spec = definitions.get(name) if definitions else None
    if spec is not None:
        if spec.fn is not None:
            return frozenset().union(*(_expand_point(p) for p in spec.points))
        return frozenset().union(*(metric_points(m, definitions) for m in spec.of if m != name))
    if name in FEATURE_SPECS:
        return frozenset().union(*(_expand_point(p) for p in FEATURE_SPECS[name][1]))
    if name in DERIVED_SPECS:
        return frozenset().union(*(metric_points(m) for m in DERIVED_SPECS[name][1]))
    return frozenset()


def metric_unit(name: str, definitions: Definitions | None = None) -> str:
    """A metric's unit: ``deg``, ``deg/s``, ``torso`` or what the rule file says ("" unknown)."""
    spec = definitions.get(name) if definitions else None
    return spec.unit if spec is not None else FEATURE_UNITS.get(name, "")


def feature_parameters(
    definitions: Definitions | None = None,
    min_score: float = MIN_SCORE,
    fps: float | None = None,
) -> dict[str, Any]:
    """What the features table's metadata records about how its values were computed.

    The version of the standard definitions, the keypoint score threshold, the grid, the unit
    and keypoints of every metric column, and the rule file's own metric definitions.
    """
    defined = dict(definitions or {})
    names = [*FEATURE_NAMES, *defined]
    return {
        "features_version": FEATURES_VERSION,
        "min_score": float(min_score),
        "fppa_min_segment_torso": angles.FPPA_MIN_SEGMENT,
        "fps": fps,
        "grid": "every frame from a track's first to its last; frames not seen are NaN",
        "torso_unit": "90th percentile of |mid_shoulder - mid_hip| over the row's shot (rows "
        "between camera cuts; none where a shot has fewer than 10 measured)",
        "units": {n: metric_unit(n, defined) for n in names},
        "points": {n: sorted(metric_points(n, defined)) for n in names},
        "rule_metrics": {
            n: (
                {"fn": s.fn, "points": list(s.points), "unit": s.unit}
                if s.fn is not None
                else {"op": s.op, "of": list(s.of), "unit": s.unit}
            )
            for n, s in defined.items()
        },
    }
