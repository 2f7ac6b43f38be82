"""Kinematics of one track: joint and segment angles, valgus, body line, normalised distances.

Pure functions over the `posecoach.keypoints.KeyPoints` of one track (its smoothed ``xy`` and
``scores``, indexed by COCO-17 position: pixel coordinates in the upright frame, image y pointing
down). Every function returns one value per row.

NaN policy: a keypoint whose score is below ``min_score`` (default :data:`MIN_SCORE`) or whose
coordinate is NaN (dropped by the smoothing) is missing, and every quantity that needs it is NaN.
Nothing is guessed: no angle is made up from a missing point. The only fallback is for the
virtual mid-points (``mid_hip``...), which use the one side present when the other is missing,
because in a side view the two sides project onto the same place.

Units: angles in degrees, angular velocities in degrees per second, distances in torso lengths
(the 90th percentile over the track of the mid-shoulder to mid-hip distance, so that a forward
lean does not shrink the unit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from posecoach.keypoints import KeyPoints
from posecoach.schema import COCO17, KEYPOINT_INDEX

#: Keypoints scored below this are treated as missing.
MIN_SCORE = 0.3
#: The FPPA needs projected thigh and shin of at least this many torso lengths.
FPPA_MIN_SEGMENT = 0.2

#: Virtual points: the midpoint of a left/right pair.
MID_POINTS: dict[str, tuple[str, str]] = {
    "mid_shoulder": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
    "mid_knee": ("left_knee", "right_knee"),
    "mid_ankle": ("left_ankle", "right_ankle"),
    "mid_wrist": ("left_wrist", "right_wrist"),
    "mid_elbow": ("left_elbow", "right_elbow"),
    "mid_ear": ("left_ear", "right_ear"),
}

#: Every point name a metric may use: the COCO-17 keypoints and the mid-points.
POINT_NAMES: tuple[str, ...] = (*COCO17, *MID_POINTS)


def point(
    kp: KeyPoints,
    name: str,
    min_score: float = MIN_SCORE,
    cache: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """(N, 2) float64 pixel coordinates of a named point; NaN rows where it is missing.

    Mid-points average the two sides where both are present, else take the side present.
    ``cache``: the points of this ``kp`` and ``min_score`` taken so far, by name (read and
    filled; for a caller that takes many metrics of one row, as a live session does each
    frame; the arrays are shared, so not to be changed).
    """
    if cache is not None and name in cache:
        return cache[name]
    if name in MID_POINTS:
        a, b = (point(kp, n, min_score, cache) for n in MID_POINTS[name])
        xy = np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2.0))
    elif name not in KEYPOINT_INDEX:
        raise KeyError(f"unknown keypoint {name!r}; known: {', '.join(POINT_NAMES)}")
    else:
        k = KEYPOINT_INDEX[name]
        xy = kp.xy[:, k].astype(np.float64)
        # Compared in float64, as the score is stored: a NaN score (a frame the track was not
        # seen in) is missing too.
        score = kp.scores[:, k].astype(np.float64)
        with np.errstate(invalid="ignore"):
            xy[~(score >= min_score)] = np.nan
    if cache is not None:
        cache[name] = xy
    return xy


def _norm(v: np.ndarray) -> np.ndarray:
    return np.hypot(v[:, 0], v[:, 1])


def joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Internal angle at ``b`` between b->a and b->c, in degrees [0, 180] (180 = straight)."""
    v1, v2 = a - b, c - b
    n = _norm(v1) * _norm(v2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (v1[:, 0] * v2[:, 0] + v1[:, 1] * v2[:, 1]) / n
    cos = np.where(n > 0, cos, np.nan)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def segment_to_vertical(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Angle in degrees [0, 180] between the segment bottom->top and the upward vertical.

    0 = ``top`` straight above ``bottom`` (upright trunk, vertical shin); 90 = horizontal;
    180 = ``top`` straight below (an arm pointing overhead measured shoulder->elbow as top/bottom
    reads 180 when the elbow is above, 0 when it hangs: pass (shoulder, elbow)).
    """
    v = top - bottom
    n = _norm(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(n > 0, -v[:, 1] / n, np.nan)  # image y points down
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def segment_to_horizontal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Acute angle in degrees [0, 90] between the segment a-b and the horizontal."""
    v = b - a
    ang = np.degrees(np.arctan2(np.abs(v[:, 1]), np.abs(v[:, 0])))
    return np.where(_norm(v) > 0, ang, np.nan)


def line_deviation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Signed bend at ``b`` of the line a-b-c, degrees: 180 - joint_angle(a, b, c).

    Positive when ``b`` lies below the straight line a-c in the image (hips sagging in a plank
    or push-up), negative when above (piking). Undefined (NaN) for a vertical line a-c.
    """
    bend = 180.0 - joint_angle(a, b, c)
    d = c - a
    # Normal of a->c pointing down in the image (positive y).
    nx, ny = -d[:, 1], d[:, 0]
    flip = ny < 0
    nx, ny = np.where(flip, -nx, nx), np.where(flip, -ny, ny)
    side = (b[:, 0] - a[:, 0]) * nx + (b[:, 1] - a[:, 1]) * ny
    sign = np.sign(side)
    sign = np.where(np.abs(ny) < 1e-9, np.nan, np.where(sign == 0, 1.0, sign))
    return bend * sign


def frontal_projection_angle(
    hip: np.ndarray,
    knee: np.ndarray,
    ankle: np.ndarray,
    mid_hip: np.ndarray,
    min_segment: float | np.ndarray = 0.0,
) -> np.ndarray:
    """2D frontal-plane projection angle (FPPA) of a knee, degrees; positive = valgus.

    180 minus the hip-knee-ankle angle, positive when the knee lies medially of the hip-ankle
    line (towards ``mid_hip``, the body's midline), negative for varus. Only meaningful from a
    frontal camera view (see coaching-evidence.md: 2D vs 3D agreement is modest). NaN when the
    hip sits on the midline (side view: medial direction unknown) and where the projected thigh
    or shin is shorter than ``min_segment`` pixels (a thigh pointing at the camera makes the
    angle meaningless).
    """
    bend = 180.0 - joint_angle(hip, knee, ankle)
    short = (_norm(knee - hip) < min_segment) | (_norm(ankle - knee) < min_segment)
    bend = np.where(short, np.nan, bend)
    d = ankle - hip
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(d[:, 1] != 0, (knee[:, 1] - hip[:, 1]) / d[:, 1], np.nan)
    line_x = hip[:, 0] + frac * d[:, 0]
    offset = knee[:, 0] - line_x
    medial = mid_hip[:, 0] - hip[:, 0]
    sign = np.sign(offset) * np.sign(medial)
    sign = np.where(np.abs(medial) < 1e-9, np.nan, np.where(sign == 0, 1.0, sign))
    return bend * sign


def torso_length(kp: KeyPoints, min_score: float = MIN_SCORE) -> float:
    """The track's torso length in pixels: 90th percentile of |mid_shoulder - mid_hip|.

    NaN when no frame has both; a high percentile rather than the median so that a forward lean
    (which shortens the projected torso) does not shrink the unit.
    """
    d = _norm(point(kp, "mid_shoulder", min_score) - point(kp, "mid_hip", min_score))
    d = d[np.isfinite(d) & (d > 0)]
    return float(np.percentile(d, 90)) if d.size else float("nan")


def distance(a: np.ndarray, b: np.ndarray, unit: float) -> np.ndarray:
    """Distance a-b divided by ``unit`` (a torso length): dimensionless."""
    return _norm(b - a) / unit


def height_above(p: np.ndarray, ref: np.ndarray, unit: float) -> np.ndarray:
    """How far ``p`` is above ``ref``, in ``unit`` (positive = above; image y points down)."""
    return (ref[:, 1] - p[:, 1]) / unit


def floor_line(kp: KeyPoints, min_score: float = MIN_SCORE) -> float:
    """The image y of the floor the person stands on, pixels: the 90th percentile over the rows
    of the lower ankle (a foot on a box or lifted is above it); NaN when no ankle is seen."""
    low = np.fmax(
        point(kp, "left_ankle", min_score)[:, 1], point(kp, "right_ankle", min_score)[:, 1]
    )
    low = low[np.isfinite(low)]
    return float(np.percentile(low, 90)) if low.size else float("nan")


def height_above_floor(
    p: np.ndarray, floor: float | np.ndarray, unit: float | np.ndarray
) -> np.ndarray:
    """How far ``p`` is above the floor line (`floor_line`, image y per row or one), in
    ``unit``: a body elevation, which a step onto a box raises where no joint angle does."""
    return (floor - p[:, 1]) / unit


def horizontal_offset(p: np.ndarray, ref: np.ndarray, unit: float) -> np.ndarray:
    """Horizontal distance |x_p - x_ref| in ``unit`` (unsigned: facing direction unknown)."""
    return np.abs(p[:, 0] - ref[:, 0]) / unit


def angular_velocity(angle_deg: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """Time derivative of an angle series (deg/s) by central differences; NaN stays NaN."""
    angle_deg = np.asarray(angle_deg, dtype=np.float64)
    t_s = np.asarray(t_s, dtype=np.float64)
    if angle_deg.size < 2:
        return np.full(angle_deg.shape, np.nan)
    return np.gradient(angle_deg, t_s)


# -- the vocabulary of point functions used by rule files --------------------------------------


#: name -> (number of points, needs the torso unit, function)
POINT_FUNCTIONS: dict[str, tuple[int, bool, Callable[..., np.ndarray]]] = {
    "joint_angle": (3, False, joint_angle),
    "segment_to_vertical": (2, False, segment_to_vertical),
    "segment_to_horizontal": (2, False, segment_to_horizontal),
    "line_deviation": (3, False, line_deviation),
    "frontal_projection_angle": (3, False, None),  # type: ignore[dict-item]  # needs mid_hip
    "distance": (2, True, distance),
    "height_above": (2, True, height_above),
    "horizontal_offset": (2, True, horizontal_offset),
    "height_above_floor": (1, True, None),  # type: ignore[dict-item]  # needs the floor line
}

POINT_FUNCTION_UNITS: dict[str, str] = {
    "joint_angle": "deg",
    "segment_to_vertical": "deg",
    "segment_to_horizontal": "deg",
    "line_deviation": "deg",
    "frontal_projection_angle": "deg",
    "distance": "torso",
    "height_above": "torso",
    "horizontal_offset": "torso",
    "height_above_floor": "torso",
}


def evaluate_point_function(
    kp: KeyPoints,
    fn: str,
    points: Sequence[str],
    unit: float | np.ndarray | None = None,
    min_score: float = MIN_SCORE,
    floor: float | np.ndarray | None = None,
    cache: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Evaluate one vocabulary function (see :data:`POINT_FUNCTIONS`) over named points.

    ``unit``: the torso unit (one, or one per row; default `torso_length`); ``floor``: the
    floor line for ``height_above_floor`` (one, or one per row; default `floor_line`);
    ``cache``: `point`'s, for many functions of one ``kp``."""
    if fn not in POINT_FUNCTIONS:
        raise KeyError(f"unknown function {fn!r}; known: {', '.join(POINT_FUNCTIONS)}")
    n_points, needs_unit, func = POINT_FUNCTIONS[fn]
    if len(points) != n_points:
        raise ValueError(f"{fn} takes {n_points} points, got {len(points)}")
    pts = [point(kp, p, min_score, cache) for p in points]
    u = unit if unit is not None else torso_length(kp, min_score)
    if fn == "height_above_floor":
        return height_above_floor(pts[0], floor_line(kp, min_score) if floor is None else floor, u)
    if fn == "frontal_projection_angle":
        mid_hip = point(kp, "mid_hip", min_score, cache)
        hip, knee, ankle = pts
        return frontal_projection_angle(hip, knee, ankle, mid_hip, min_segment=FPPA_MIN_SEGMENT * u)
    if needs_unit:
        return func(*pts, u)
    return func(*pts)


# -- the standard feature table ----------------------------------------------------------------

#: Standard features: name -> (function, points). Each exists for both sides where it applies.
_SIDED: dict[str, tuple[str, tuple[str, ...]]] = {
    "knee_angle_{s}_deg": ("joint_angle", ("{s}_hip", "{s}_knee", "{s}_ankle")),
    "hip_angle_{s}_deg": ("joint_angle", ("{s}_shoulder", "{s}_hip", "{s}_knee")),
    "elbow_angle_{s}_deg": ("joint_angle", ("{s}_shoulder", "{s}_elbow", "{s}_wrist")),
    # Shoulder flexion/abduction: the angle between the trunk and the upper arm.
    "shoulder_angle_{s}_deg": ("joint_angle", ("{s}_hip", "{s}_shoulder", "{s}_elbow")),
    # COCO-17 has no foot points: ankle dorsiflexion is read as the shin's angle to the
    # vertical, which equals it only with the foot flat on the floor.
    "shin_to_vertical_{s}_deg": ("segment_to_vertical", ("{s}_knee", "{s}_ankle")),
    "thigh_to_vertical_{s}_deg": ("segment_to_vertical", ("{s}_hip", "{s}_knee")),
    "upper_arm_to_vertical_{s}_deg": ("segment_to_vertical", ("{s}_elbow", "{s}_shoulder")),
    "upper_arm_to_horizontal_{s}_deg": ("segment_to_horizontal", ("{s}_shoulder", "{s}_elbow")),
    "knee_fppa_{s}_deg": ("frontal_projection_angle", ("{s}_hip", "{s}_knee", "{s}_ankle")),
    "body_line_{s}_deg": ("joint_angle", ("{s}_shoulder", "{s}_hip", "{s}_ankle")),
    "hip_sag_{s}_deg": ("line_deviation", ("{s}_shoulder", "{s}_hip", "{s}_ankle")),
    "wrist_height_{s}": ("height_above", ("{s}_wrist", "{s}_shoulder")),
}
_CENTRAL: dict[str, tuple[str, tuple[str, ...]]] = {
    "trunk_to_vertical_deg": ("segment_to_vertical", ("mid_shoulder", "mid_hip")),
    "trunk_to_horizontal_deg": ("segment_to_horizontal", ("mid_shoulder", "mid_hip")),
    "hip_height": ("height_above", ("mid_hip", "mid_ankle")),
    "ankle_spread": ("distance", ("left_ankle", "right_ankle")),
    "wrist_spread": ("distance", ("left_wrist", "right_wrist")),
}


def _feature_specs() -> dict[str, tuple[str, tuple[str, ...]]]:
    specs = {}
    for name, (fn, pts) in _SIDED.items():
        for side in ("left", "right"):
            specs[name.format(s=side)] = (fn, tuple(p.format(s=side) for p in pts))
    specs.update(_CENTRAL)
    return specs


#: Standard feature name -> (vocabulary function, points).
FEATURE_SPECS: dict[str, tuple[str, tuple[str, ...]]] = _feature_specs()

#: Derived standard features: name -> (operation, inputs).
DERIVED_SPECS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{
        f"{j}_angle_deg": ("mean", (f"{j}_angle_left_deg", f"{j}_angle_right_deg"))
        for j in ("knee", "hip", "elbow", "shoulder")
    },
    **{
        f"{j}_angle_symmetry_deg": (
            "abs_difference",
            (f"{j}_angle_left_deg", f"{j}_angle_right_deg"),
        )
        for j in ("knee", "hip", "elbow", "shoulder")
    },
    # The worse knee as far as it is seen: in a front-view lunge the back knee's short projected
    # thigh often leaves its FPPA unmeasured while the front knee shows the fault.
    "knee_fppa_max_deg": ("max_seen", ("knee_fppa_left_deg", "knee_fppa_right_deg")),
    "body_line_deg": ("mean", ("body_line_left_deg", "body_line_right_deg")),
    "hip_sag_deg": ("mean", ("hip_sag_left_deg", "hip_sag_right_deg")),
    "wrist_height": ("mean", ("wrist_height_left", "wrist_height_right")),
    **{
        f"{j}_angle_{s}_vel_dps": ("velocity", (f"{j}_angle_{s}_deg",))
        for j in ("knee", "hip", "elbow")
        for s in ("left", "right")
    },
}

#: Every standard feature name (what a rule file may use without defining it).
FEATURE_NAMES: tuple[str, ...] = (*FEATURE_SPECS, *DERIVED_SPECS)

FEATURE_UNITS: dict[str, str] = {
    **{k: POINT_FUNCTION_UNITS[fn] for k, (fn, _) in FEATURE_SPECS.items()},
    **{k: ("deg/s" if op == "velocity" else "deg") for k, (op, _) in DERIVED_SPECS.items()},
    "wrist_height": "torso",
}


def combine(op: str, inputs: list[np.ndarray], t_s: np.ndarray | None = None) -> np.ndarray:
    """Combine metric series, NaN-aware.

    ``mean`` ignores NaN (NaN only where all inputs are NaN): in a side view the two sides
    coincide, so either one measures the joint. ``min`` / ``max`` are NaN where any input is:
    "the more bent knee" is unknown while one knee is missing, and picking the other would be
    a made-up answer. ``max_seen`` is the largest of the inputs that are measured (NaN only where
    all are): a lower bound of the true maximum, so a value above a threshold is a real finding,
    for checks of the worse side (knee valgus) where one side is often unmeasured.
    ``difference`` is a - b, ``abs_difference`` |a - b|, ``abs`` |a|,
    ``velocity`` d/dt (units per second).
    """
    stack = np.stack([np.asarray(x, dtype=np.float64) for x in inputs])
    all_nan = np.all(np.isnan(stack), axis=0)
    with np.errstate(invalid="ignore"):
        if op == "mean":
            count = np.sum(~np.isnan(stack), axis=0)
            out = np.sum(np.where(np.isnan(stack), 0.0, stack), axis=0) / np.maximum(count, 1)
            return np.where(all_nan, np.nan, out)
        if op == "min":
            return np.min(stack, axis=0)
        if op == "max":
            return np.max(stack, axis=0)
        if op == "max_seen":
            return np.fmax.reduce(stack, axis=0)
        if op == "difference":
            return stack[0] - stack[1]
        if op == "abs_difference":
            return np.abs(stack[0] - stack[1])
        if op == "abs":
            return np.abs(stack[0])
        if op == "velocity":
            if t_s is None:
                raise ValueError("velocity needs the times t_s")
            return angular_velocity(stack[0], t_s)
    raise KeyError(f"unknown operation {op!r}; known: {', '.join(COMBINE_OPS)}")


#: Operations over other metrics: name -> number of inputs (None: two or more).
COMBINE_OPS: dict[str, int | None] = {
    "mean": None,
    "min": None,
    "max": None,
    "max_seen": None,
    "difference": 2,
    "abs_difference": 2,
    "abs": 1,
    "velocity": 1,
}


def features(
    kp: KeyPoints,
    min_score: float = MIN_SCORE,
    names: list[str] | None = None,
    unit: float | np.ndarray | None = None,
) -> pd.DataFrame:
    """The standard feature table of one track, one row per row of ``kp`` (a RangeIndex).

    Columns: ``frame``, ``t_s`` and the features in :data:`FEATURE_NAMES` (or ``names``).
    Angles in degrees, velocities in deg/s (NaN where ``t_s`` is), distances in torso lengths
    (``unit``, pixels: one for the track or one per row; default `torso_length`); NaN where a
    needed keypoint is missing.
    """
    unit = torso_length(kp, min_score) if unit is None else unit
    out: dict[str, np.ndarray] = {}

    def get(name: str) -> np.ndarray:
        if name not in out:
            if name in FEATURE_SPECS:
                fn, pts = FEATURE_SPECS[name]
                out[name] = evaluate_point_function(kp, fn, pts, unit, min_score)
            elif name in DERIVED_SPECS:
                op, inputs = DERIVED_SPECS[name]
                out[name] = combine(op, [get(i) for i in inputs], kp.t_s)
            else:
                raise KeyError(f"unknown feature {name!r}")
        return out[name]

    wanted = list(names) if names is not None else list(FEATURE_NAMES)
    for name in wanted:
        get(name)
    table = pd.DataFrame({n: out[n] for n in wanted}, index=pd.RangeIndex(len(kp)))
    table.insert(0, "t_s", kp.t_s)
    table.insert(0, "frame", kp.frame)
    return table
