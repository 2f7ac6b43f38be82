"""Camera view of a track (side, front, oblique) estimated from its keypoints.

The cue is the one named in coaching-evidence.md: the shoulder width relative to the torso
length, with the hip width as a second cue (a raised arm can pull a shoulder keypoint, arms
held at the chest can hide one). Wrists and elbows are never used, so arms held in front of
the body do not matter.

Upright and horizontal bodies are read alike by estimating the body's yaw to the camera from a
model of the projection: seen with a level camera, the shoulder line (lateral, width ``W``)
projects to ``W |cos yaw|`` along the image horizontal, and the torso (length ``L``, vertical
part ``Ty``, forward part ``Tz`` in the body's own frame) projects to ``(Tz sin yaw, Ty)``.
With ``W = k L`` (``k``: the body's width/torso proportion) the three image quantities give
the one ``yaw`` that fits (`yaw_from_widths`): for an upright torso this is the old ratio test
``cos yaw = width / (k torso)``, for a horizontal one (plank, push-up) ``cot yaw = width /
(k torso)``, which is why a horizontal body at 45 degrees no longer reads as front. Only the
horizontal part of the widths is used: a vertical offset between the shoulders is perspective
or a roll, not yaw (a side-view good morning seen from slightly above).

A body seen square from the side often hides its far shoulder and hip (the pose model gives them
low scores but still places them behind the near side): a row where one side's shoulder and hip
are seen and the other's are not, placed close behind the seen ones (occluded, not out of the
frame), reads as side (`hidden_side_yaw`), where the widths cannot be measured. A row whose
hips are out of the frame (a close-up) keeps the head cue, the neck (shoulders to head) saying
how upright the body is.

Each frame's yaw is the score-weighted mean of the shoulder and the hip estimate; a track's
view is the weighted median over its frames, with a confidence from how far that median is
from the class boundaries and how many frames agree with it (`ViewEstimate`). The view over
time (segments at view changes and camera cuts) is in `analysis.kinematics.view_segments`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.kinematics.angles import MIN_SCORE
from posecoach.keypoints import KeyPoints
from posecoach.schema import KEYPOINT_INDEX

VIEWS = ("side", "front", "oblique", "unknown")

#: Width / torso-length proportions of a body seen square on: shoulders about 0.8 torso lengths
#: apart (coaching-evidence.md; the generator's body 0.83, a MoveNet front view 0.6), hip
#: keypoints about 0.55 (0.59; 0.38). Between the two, so that neither build reads a view off.
SHOULDER_K = 0.75
HIP_K = 0.5
#: The nose's forward offset from the ear line relative to the ear-to-ear width, and from the
#: eye line relative to the eye-to-eye width (a head seen square on).
EAR_R = 0.54
EYE_R = 0.25
#: Weight of the head cue against one body cue: the head cue needs no body proportion (a face
#: seen square on has its nose between the ears for any build), the body cues do.
HEAD_WEIGHT = 4.0
#: Yaw (degrees, 0 = facing the camera) below this: front view; above SIDE_YAW: side view.
#: The boundaries lie half-way between the three canonical views (0, 45, 90 degrees).
FRONT_YAW = 25.0
SIDE_YAW = 65.0
#: The head's keypoints.
HEAD = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
#: A hidden shoulder or hip lies horizontally this close to its seen counterpart (torso lengths)
#: when it is behind the body: a side view turned up to 20 degrees puts it 0.27 away (this
#: body), a front view 0.83 (shoulders) and 0.59 (hips).
HIDDEN_NEAR = 0.35
#: Fewer frames than this with a yaw estimate: "unknown".
MIN_FRAMES = 5


@dataclass(frozen=True)
class ViewEstimate:
    """A view with its confidence (0-1) and the median yaw it came from (degrees)."""

    view: str
    confidence: float
    yaw_deg: float
    frames: int


def _xy_w(kp: KeyPoints, name: str, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) coordinates (NaN below ``min_score``) and (n,) scores (0 where missing)."""
    j = KEYPOINT_INDEX[name]
    s = np.nan_to_num(kp.scores[:, j].astype(np.float64), nan=0.0)
    xy = kp.xy[:, j].astype(np.float64)
    ok = (s >= min_score) & np.isfinite(xy).all(axis=1)
    return np.where(ok[:, None], xy, np.nan), np.where(ok, s, 0.0)


def yaw_from_widths(width: np.ndarray, tu: np.ndarray, tv: np.ndarray, k: float) -> np.ndarray:
    """Yaw (degrees, 0-90) that projects a body of width ``k`` torso lengths to an image width
    ``width`` (horizontal) and a torso ``(tu, tv)`` (horizontal, vertical), per element.

    Solves ``c Tv^2 + c / (1 - c) Tu^2 = (width / k)^2`` for ``c = cos^2 yaw`` (the left side
    grows monotonically in ``c``, so the root is unique); NaN where an input is.
    """
    w2 = (np.asarray(width, np.float64) / k) ** 2
    a, b = np.asarray(tv, np.float64) ** 2, np.asarray(tu, np.float64) ** 2
    lo, hi = np.zeros_like(w2), np.ones_like(w2)
    for _ in range(40):  # bisection, vectorised: 2^-40 is far below keypoint noise
        c = (lo + hi) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            f = c * a + c / (1 - c) * b
        big = f > w2
        hi, lo = np.where(big, c, hi), np.where(big, lo, c)
    yaw = np.degrees(np.arccos(np.sqrt((lo + hi) / 2)))
    bad = ~(np.isfinite(w2) & np.isfinite(a) & np.isfinite(b)) | (a + b <= 0)
    return np.where(bad, np.nan, yaw)


def head_yaw(kp: KeyPoints, min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the head's yaw (degrees) from the nose's horizontal offset from the midpoint of
    the ears (or, without both ears, of the eyes) relative to their horizontal distance, and
    its weight (the scores; 0 where no estimate). ``tan yaw = (offset / width) / R``."""
    nose, nose_w = _xy_w(kp, "nose", min_score)
    yaw = np.full(len(kp), np.nan)
    weight = np.zeros(len(kp))
    for left, right, r in (("left_ear", "right_ear", EAR_R), ("left_eye", "right_eye", EYE_R)):
        a, wa = _xy_w(kp, left, min_score)
        b, wb = _xy_w(kp, right, min_score)
        off = np.abs(nose[:, 0] - (a[:, 0] + b[:, 0]) / 2)
        width = np.abs(a[:, 0] - b[:, 0])
        est = np.degrees(np.arctan2(off / r, width))
        use = np.isfinite(est) & ~np.isfinite(yaw) & (off + width > 0)
        yaw[use] = est[use]
        weight[use] = (nose_w * np.sqrt(wa * wb))[use]
    return yaw, weight


def _neck(kp: KeyPoints, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row: |horizontal| and |vertical| extent of the vector from the mean of the seen
    shoulders to the mean of the seen nose, eyes and ears (NaN where either has none)."""
    seen = (np.nan_to_num(kp.scores, nan=0.0) >= min_score) & np.isfinite(kp.xy).all(axis=2)

    def mean(names: tuple[str, ...]) -> np.ndarray:
        idx = [KEYPOINT_INDEX[n] for n in names]
        ok = seen[:, idx]
        xy = np.where(ok[..., None], kp.xy[:, idx].astype(np.float64), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return xy.sum(axis=1) / ok.sum(axis=1)[:, None]

    d = mean(HEAD) - mean(("left_shoulder", "right_shoulder"))
    return np.abs(d[:, 0]), np.abs(d[:, 1])


def hidden_side_yaw(kp: KeyPoints, min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """Per row: 90 degrees where one side's shoulder and hip are seen and both of the other
    side's are not but are placed (smoothed, else raw position) horizontally within
    :data:`HIDDEN_NEAR` of the seen side's torso length from their seen counterparts, as a pose
    model places joints behind the body (a joint out of the frame lies at the frame's edge);
    its weight is the seen shoulder's and hip's scores (0 elsewhere)."""
    seen = (np.nan_to_num(kp.scores, nan=0.0) >= min_score) & np.isfinite(kp.xy).all(axis=2)
    xy = np.where(np.isfinite(kp.xy), kp.xy, kp.xy_raw).astype(np.float64)
    weight = np.zeros(len(kp))
    for near, far in (("left", "right"), ("right", "left")):
        js, jh = KEYPOINT_INDEX[f"{near}_shoulder"], KEYPOINT_INDEX[f"{near}_hip"]
        fs, fh = KEYPOINT_INDEX[f"{far}_shoulder"], KEYPOINT_INDEX[f"{far}_hip"]
        torso = np.hypot(*(xy[:, js] - xy[:, jh]).T)
        with np.errstate(invalid="ignore"):
            behind = np.ones(len(kp), dtype=bool)
            for j, k in ((fs, js), (fh, jh)):
                behind &= ~seen[:, j] & (np.abs(xy[:, j, 0] - xy[:, k, 0]) < HIDDEN_NEAR * torso)
        hit = seen[:, js] & seen[:, jh] & behind
        weight[hit] = (kp.scores[hit, js] * kp.scores[hit, jh]).astype(np.float64)
    return np.where(weight > 0, 90.0, np.nan), weight


def frame_yaw(kp: KeyPoints, min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the body's yaw to the camera (degrees, 0 front - 90 side) and its weight (the
    keypoint scores behind it, 0 where no estimate: NaN yaw): the weighted mean of the shoulder
    cue, the hip cue (`yaw_from_widths`) and the head cue (`head_yaw`, weight HEAD_WEIGHT).

    The torso runs from the hip midpoint to the shoulder midpoint: all four points are needed
    (one hip alone would tilt the torso by half the hip width). A row without them takes the
    hidden-side cue (`hidden_side_yaw`) where it applies.
    """
    ls, ls_w = _xy_w(kp, "left_shoulder", min_score)
    rs, rs_w = _xy_w(kp, "right_shoulder", min_score)
    lh, lh_w = _xy_w(kp, "left_hip", min_score)
    rh, rh_w = _xy_w(kp, "right_hip", min_score)
    torso = (ls + rs) / 2 - (lh + rh) / 2
    tu, tv = np.abs(torso[:, 0]), np.abs(torso[:, 1])
    torso_w = np.sqrt(ls_w * rs_w * lh_w * rh_w)
    head, head_w = head_yaw(kp, min_score)
    # The head cue reads the nose's offset along the image horizontal, which only shows yaw
    # when the face looks ahead: it fades out as the torso tilts towards horizontal in the
    # image (a push-up's face looks at the floor), where the body cues take over. Without a
    # torso (a hip out of the frame) the neck, from the seen shoulders to the seen head points,
    # says how upright the body is; without either, nothing says where the face looks.
    nu, nv = _neck(kp, min_score)
    tu_h, tv_h = np.where(np.isfinite(tu + tv), tu, nu), np.where(np.isfinite(tu + tv), tv, nv)
    with np.errstate(invalid="ignore", divide="ignore"):
        upright = (tv_h**2 - tu_h**2) / (tu_h**2 + tv_h**2)
        upright = np.clip(np.nan_to_num(upright, nan=0.0), 0, 1)
    yaws, weights = [np.nan_to_num(head)], [HEAD_WEIGHT * head_w * upright]
    for a, b, wa, wb, k in ((ls, rs, ls_w, rs_w, SHOULDER_K), (lh, rh, lh_w, rh_w, HIP_K)):
        yaw = yaw_from_widths(np.abs(a[:, 0] - b[:, 0]), tu, tv, k)
        w = np.where(np.isfinite(yaw), wa * wb * torso_w, 0.0)
        yaws.append(np.nan_to_num(yaw))
        weights.append(w)
    total = np.sum(weights, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        yaw = np.sum([y * w for y, w in zip(yaws, weights, strict=True)], axis=0) / total
    yaw = np.where(total > 0, yaw, np.nan)
    # Only where nothing else measured the row: a hidden side is weaker evidence than widths.
    hidden, hidden_w = hidden_side_yaw(kp, min_score)
    use = (total <= 0) & (hidden_w > 0)
    return np.where(use, hidden, yaw), np.where(use, hidden_w, total)


def classify_yaw(yaw_deg: float) -> str:
    """Map a yaw (degrees) to side | oblique | front (unknown for NaN)."""
    if not np.isfinite(yaw_deg):
        return "unknown"
    if yaw_deg > SIDE_YAW:
        return "side"
    if yaw_deg < FRONT_YAW:
        return "front"
    return "oblique"


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The weighted median of the finite values (NaN if none has weight)."""
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    v, w = values[ok], weights[ok]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def view_of_yaws(yaw: np.ndarray, weight: np.ndarray) -> ViewEstimate:
    """The view of a set of per-frame yaws: the class of their weighted median, with a
    confidence = (distance of the median from the nearest boundary, as a fraction of 20
    degrees, capped at 1) x (the weighted share of frames in the same class)."""
    ok = np.isfinite(yaw) & (weight > 0)
    n = int(ok.sum())
    if n < MIN_FRAMES:
        return ViewEstimate("unknown", 0.0, float("nan"), n)
    med = weighted_median(yaw, weight)
    view = classify_yaw(med)
    margin = min(abs(med - FRONT_YAW), abs(med - SIDE_YAW))
    classes = np.array([classify_yaw(float(y)) for y in yaw[ok]])
    agree = float(weight[ok][classes == view].sum() / weight[ok].sum())
    return ViewEstimate(view, round(min(1.0, margin / 20.0) * agree, 3), med, n)


def view_estimate(kp: KeyPoints, min_score: float = MIN_SCORE) -> ViewEstimate:
    """The camera view of one track's keypoints over all its frames, with a confidence."""
    return view_of_yaws(*frame_yaw(kp, min_score))


def estimate_view(kp: KeyPoints, min_score: float = MIN_SCORE) -> str:
    """The camera view of one track's keypoints: ``side``, ``front``, ``oblique`` or ``unknown``.

    ``unknown`` when fewer than :data:`MIN_FRAMES` rows have a shoulder, a hip and a width.
    """
    return view_estimate(kp, min_score).view


def estimate_views(kp: KeyPoints, min_score: float = MIN_SCORE) -> dict[int, str]:
    """:func:`estimate_view` for each track of a video's keypoints, by ascending track id."""
    return {int(tid): estimate_view(kp.for_track(tid), min_score) for tid in kp.track_ids()}
