"""Generated 2D COCO-17 skeleton motion with exact ground truth (for tests and demos).

A body of height 1 (ankle 0.04 above the floor, shin 0.245, thigh 0.245, trunk 0.29) is posed in
3D (x = the person's left, y = up, z = forward) from a few joint angles per frame, then projected
orthographically onto the image: ``side`` (the camera looks at the person's right side, the
person faces image-right), ``front`` (the person faces the camera) or ``oblique`` (45 degrees in
between). Because the projection is orthographic, the quantities a rule measures are exact in
the view that rule needs: sagittal angles (depth, trunk lean, hip sag, elbow, hip, shoulder) in
the side view, the knee's frontal-plane projection angle and frontal-plane angles in the front
view. Faults are planted per repetition (scalars apply to every rep; sequences give one value
per rep) and the ground truth lists, per rep or hold, its times and planted values.

Keypoint noise (Gaussian, pixels) and dropouts (a point gets a low score and a wild position, as
a pose model does when it loses a joint) make the motion realistic; by default the noisy raw
points are then smoothed with `analysis.tracking.smoothing.smooth_track`, as the engine does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from posecoach.keypoints import KeyPoints
from posecoach.schema import COCO17, wide_keypoints

# Segment lengths in body heights.
ANKLE_Y, SHIN, THIGH, TRUNK = 0.04, 0.245, 0.245, 0.29
UPPER_ARM, FOREARM = 0.17, 0.16
HIP_HALF, SHOULDER_HALF = 0.085, 0.12

REP_EXERCISES = ("squat", "lunge", "push_up", "hip_hinge", "overhead_press", "jumping_jacks")
HOLD_EXERCISES = ("plank", "warrior_ii", "tree", "downward_dog")
EXERCISES = REP_EXERCISES + HOLD_EXERCISES

#: Default planted values per exercise (a "good" repetition / hold).
#: depth: the main joint angle at the turn (squat/lunge: knee; push-up: elbow; hinge: hip;
#: warrior II: front knee; tree: standing knee; downward dog: hip); lockout_deg: the angle at
#: lockout (push-up: elbow; hinge: hip; press: shoulder flexion); trunk_lean_deg: trunk to
#: vertical at the turn (press: backwards lean at lockout; tree: sideways lean); hip_sag_deg:
#: signed bend of the shoulder-hip-ankle line (positive = sagging); valgus_deg: knee FPPA at the
#: bottom (positive = valgus); arm_drop_deg: arms below horizontal (warrior II).
DEFAULTS: dict[str, dict[str, float]] = {
    "squat": {"depth": 70.0, "trunk_lean_deg": 30.0, "valgus_deg": 0.0, "tempo_s": 2.0},
    "lunge": {"depth": 90.0, "trunk_lean_deg": 5.0, "valgus_deg": 0.0, "tempo_s": 2.4},
    "push_up": {"depth": 90.0, "lockout_deg": 172.0, "hip_sag_deg": 0.0, "tempo_s": 1.8},
    "hip_hinge": {"depth": 95.0, "lockout_deg": 175.0, "knee_deg": 155.0, "tempo_s": 2.4},
    "overhead_press": {"lockout_deg": 175.0, "trunk_lean_deg": 3.0, "tempo_s": 2.0},
    "jumping_jacks": {"depth": 165.0, "tempo_s": 1.0},
    "plank": {"hip_sag_deg": 0.0, "hold_s": 10.0},
    "warrior_ii": {"depth": 95.0, "arm_drop_deg": 0.0, "hold_s": 8.0},
    "tree": {"depth": 178.0, "trunk_lean_deg": 0.0, "hold_s": 8.0},
    "downward_dog": {"depth": 90.0, "knee_deg": 175.0, "hold_s": 8.0},
}

#: Yaw of the body relative to the camera, degrees.
VIEW_YAW = {"front": 0.0, "oblique": 45.0, "side": 90.0}

LEAD_IN_S, LEAD_OUT_S, PAUSE_S, TRANSITION_S = 1.0, 1.0, 0.5, 0.8


@dataclass(frozen=True)
class Truth:
    """What was generated.

    Attributes:
        exercise, view: as asked. kind: ``rep`` or ``hold``.
        reps: one row per repetition: rep_index, start_s, turn_s, end_s and the planted values.
        holds: one row per hold: hold_index, start_s, end_s, duration_s and the planted values.
        fps, width, height: the clip's frame rate and frame size in pixels.
    """

    exercise: str
    view: str
    kind: str
    reps: pd.DataFrame
    holds: pd.DataFrame
    fps: float
    width: int
    height: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyntheticClip:
    """Generated keypoints (keypoints table schema, without ``video_id``) and their truth.

    ``keypoints`` is the table, for writing to a store or an import file; `points` the same rows
    as `KeyPoints`, what the engine hands on and kinematics and scoring take.
    """

    keypoints: pd.DataFrame
    truth: Truth

    @property
    def points(self) -> KeyPoints:
        """The rows of `keypoints` as `KeyPoints` (made anew on each call: the table may have
        been changed in place)."""
        return KeyPoints.from_frame(self.keypoints)


# -- small geometry helpers --------------------------------------------------------------------


def _v(x: float, y: float, z: float) -> np.ndarray:
    return np.array([x, y, z], dtype=np.float64)


def _ik(root: np.ndarray, end: np.ndarray, l1: float, l2: float, bend: np.ndarray) -> np.ndarray:
    """Middle joint of a two-segment chain root-mid-end, on the side of ``bend``."""
    d = end - root
    dist = float(np.linalg.norm(d))
    dist = min(max(dist, abs(l1 - l2) + 1e-9), l1 + l2 - 1e-9)
    u = d / np.linalg.norm(d)
    a = (l1**2 - l2**2 + dist**2) / (2 * dist)
    h = np.sqrt(max(l1**2 - a**2, 0.0))
    perp = bend - np.dot(bend, u) * u
    perp = perp / np.linalg.norm(perp)
    return root + a * u + h * perp


def _angle2d(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    v1, v2 = a - b, c - b
    cos = np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


def _bisect(f, lo: float, hi: float, target: float, iters: int = 60) -> float:
    flo = f(lo) - target
    for _ in range(iters):
        mid = (lo + hi) / 2
        fm = f(mid) - target
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return (lo + hi) / 2


def _bend_offset(a: np.ndarray, c: np.ndarray, frac: float, bend_deg: float, normal: np.ndarray):
    """The point at ``frac`` of a->c, moved along ``normal`` so that 180 - angle(a, p, c) equals
    |bend_deg| (towards +normal for a positive bend)."""
    base = a + frac * (c - a)
    if abs(bend_deg) < 1e-9:
        return base
    sign = 1.0 if bend_deg > 0 else -1.0
    n = normal / np.linalg.norm(normal)
    span = float(np.linalg.norm(c - a))
    h = _bisect(lambda s: 180 - _angle2d(a, base + s * n, c), 0.0, 2 * span, abs(bend_deg))
    return base + sign * h * n


def _head(pts: dict[str, np.ndarray], up: np.ndarray, fwd: np.ndarray) -> None:
    """Nose, eyes and ears from the shoulders, the trunk's up direction and the facing."""
    ms = (pts["left_shoulder"] + pts["right_shoulder"]) / 2
    lat = _v(1, 0, 0)
    up = up / np.linalg.norm(up)
    fwd = fwd / np.linalg.norm(fwd)
    pts["nose"] = ms + 0.12 * up + 0.07 * fwd
    pts["left_eye"] = ms + 0.14 * up + 0.055 * fwd + 0.03 * lat
    pts["right_eye"] = ms + 0.14 * up + 0.055 * fwd - 0.03 * lat
    pts["left_ear"] = ms + 0.12 * up + 0.0 * fwd + 0.065 * lat
    pts["right_ear"] = ms + 0.12 * up + 0.0 * fwd - 0.065 * lat


def _straight_arm(pts: dict, side: str, direction: np.ndarray, elbow_deg: float = 178.0) -> None:
    """Elbow and wrist from the shoulder along ``direction`` (elbow slightly bent)."""
    d = direction / np.linalg.norm(direction)
    sh = pts[f"{side}_shoulder"]
    pts[f"{side}_elbow"] = sh + UPPER_ARM * d
    # Bend the forearm a little in a plane containing d, so the elbow angle is exact.
    ortho = np.cross(d, _v(1, 0, 0))
    if np.linalg.norm(ortho) < 1e-6:
        ortho = np.cross(d, _v(0, 0, 1))
    ortho /= np.linalg.norm(ortho)
    b = np.radians(180 - elbow_deg)
    pts[f"{side}_wrist"] = pts[f"{side}_elbow"] + FOREARM * (np.cos(b) * d + np.sin(b) * ortho)


def _fppa_knee(pts: dict, side: str, valgus_deg: float) -> None:
    """Move the knee sideways (x only: invisible from the side) so that its frontal-plane
    projection angle equals ``valgus_deg`` (positive = towards the midline)."""
    hip, ankle, knee = pts[f"{side}_hip"], pts[f"{side}_ankle"], pts[f"{side}_knee"]
    h2, a2 = hip[:2], ankle[:2]  # front projection: (x, y)
    frac = (knee[1] - hip[1]) / (ankle[1] - hip[1])
    base_x = h2[0] + frac * (a2[0] - h2[0])
    medial = -np.sign(hip[0])
    if abs(valgus_deg) < 1e-9:
        pts[f"{side}_knee"] = _v(base_x, knee[1], knee[2])
        return
    sign = np.sign(valgus_deg) * medial

    def fppa(d: float) -> float:
        return 180 - _angle2d(h2, np.array([base_x + sign * d, knee[1]]), a2)

    d = _bisect(fppa, 0.0, 1.0, abs(valgus_deg))
    pts[f"{side}_knee"] = _v(base_x + sign * d, knee[1], knee[2])


# -- poses: q in [0, 1] runs from the start position (0) to the turn / the held pose (1) --------


def _pose_squat(q: float, p: dict) -> dict[str, np.ndarray]:
    knee_deg = 178 - q * (178 - p["depth"])
    flex = 180 - knee_deg
    phi_s, phi_t = np.radians(0.35 * flex), np.radians(0.65 * flex)
    lean = np.radians(3 + q * (p["trunk_lean_deg"] - 3))
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.11, ANKLE_Y, 0)
        knee = ankle + SHIN * _v(0, np.cos(phi_s), np.sin(phi_s))
        hip = knee + THIGH * _v(0, np.cos(phi_t), -np.sin(phi_t))
        hip[0] = s * HIP_HALF
        pts[f"{side}_ankle"], pts[f"{side}_knee"], pts[f"{side}_hip"] = ankle, knee, hip
        _fppa_knee(pts, side, q * p["valgus_deg"])
    up = _v(0, np.cos(lean), np.sin(lean))
    mh = (pts["left_hip"] + pts["right_hip"]) / 2
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + TRUNK * up + _v(s * SHOULDER_HALF, 0, 0)
        raise_ = np.radians(20 + 70 * q)  # arms forward as a counterweight
        _straight_arm(pts, side, _v(0, -np.cos(raise_), np.sin(raise_)))
    _head(pts, up, _v(0, 0, 1))
    return pts


def _pose_lunge(q: float, p: dict) -> dict[str, np.ndarray]:
    knee_deg = 175 - q * (175 - p["depth"])
    front_ankle, back_ankle = _v(HIP_HALF, ANKLE_Y, 0.22), _v(-HIP_HALF, 0.10, -0.30)
    d = np.sqrt(THIGH**2 + SHIN**2 - 2 * THIGH * SHIN * np.cos(np.radians(knee_deg)))
    hy = ANKLE_Y + np.sqrt(max(d**2 - 0.22**2, 1e-6))
    pts = {"left_ankle": front_ankle, "right_ankle": back_ankle}
    fwd = _v(0, 0, 1)
    for side, s in (("left", 1), ("right", -1)):
        hip = _v(s * HIP_HALF, hy, 0)
        pts[f"{side}_hip"] = hip
        pts[f"{side}_knee"] = _ik(hip, pts[f"{side}_ankle"], THIGH, SHIN, fwd)
    _fppa_knee(pts, "left", q * p["valgus_deg"])
    lean = np.radians(q * p["trunk_lean_deg"])
    up = _v(0, np.cos(lean), np.sin(lean))
    mh = (pts["left_hip"] + pts["right_hip"]) / 2
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + TRUNK * up + _v(s * SHOULDER_HALF, 0, 0)
        _straight_arm(pts, side, _v(0, -1, 0.05), elbow_deg=170)
    _head(pts, up, fwd)
    return pts


_BODY = SHIN + THIGH + TRUNK  # ankle to shoulder


def _pose_push_up(q: float, p: dict) -> dict[str, np.ndarray]:
    elbow_deg = p["lockout_deg"] - q * (p["lockout_deg"] - p["depth"])
    arm_top = np.sqrt(UPPER_ARM**2 + FOREARM**2 - 2 * UPPER_ARM * FOREARM * np.cos(np.radians(172)))
    hand_y = 0.02
    hand_z = np.sqrt(_BODY**2 - (hand_y + arm_top - ANKLE_Y) ** 2)
    arm = np.sqrt(
        UPPER_ARM**2 + FOREARM**2 - 2 * UPPER_ARM * FOREARM * np.cos(np.radians(elbow_deg))
    )
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle, hand = _v(s * 0.08, ANKLE_Y, 0), _v(s * 0.15, hand_y, hand_z)
        # Shoulder: on the circle of radius _BODY around the ankle and arm around the hand.
        sh2 = _ik(ankle[1:], hand[1:], _BODY, arm, np.array([1.0, 0.0]))
        shoulder = _v(s * SHOULDER_HALF, sh2[0], sh2[1])
        elbow2 = _ik(shoulder[1:], hand[1:], UPPER_ARM, FOREARM, np.array([0.6, -1.0]))
        pts[f"{side}_ankle"], pts[f"{side}_wrist"], pts[f"{side}_shoulder"] = ankle, hand, shoulder
        pts[f"{side}_elbow"] = _v(s * 0.14, elbow2[0], elbow2[1])
        frac = (SHIN + THIGH) / _BODY
        a2, c2 = ankle[1:], shoulder[1:]
        d = c2 - a2
        normal = np.array([-d[1], d[0]])  # y, z plane: make it point down (negative y)
        if normal[0] > 0:
            normal = -normal
        # The sag sets in over the first third of the descent (no jump at the rep's start).
        hip2 = _bend_offset(a2, c2, frac, min(1.0, 3 * q) * p["hip_sag_deg"], normal)
        pts[f"{side}_hip"] = _v(s * HIP_HALF, hip2[0], hip2[1])
        knee2 = a2 + SHIN / (SHIN + THIGH) * (hip2 - a2)
        pts[f"{side}_knee"] = _v(s * 0.085, knee2[0], knee2[1])
    body = (pts["left_shoulder"] - pts["left_ankle"]) * _v(0, 1, 1)
    _head(pts, body, _v(0, -1, 0.3))
    return pts


def _plank_pose(sag: float) -> dict[str, np.ndarray]:
    pts: dict[str, np.ndarray] = {}
    shoulder_y = 0.03 + UPPER_ARM
    shoulder_z = np.sqrt(_BODY**2 - (shoulder_y - ANKLE_Y) ** 2)
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.08, ANKLE_Y, 0)
        shoulder = _v(s * SHOULDER_HALF, shoulder_y, shoulder_z)
        pts[f"{side}_ankle"], pts[f"{side}_shoulder"] = ankle, shoulder
        pts[f"{side}_elbow"] = _v(s * 0.13, 0.03, shoulder_z + 0.01)
        pts[f"{side}_wrist"] = _v(s * 0.08, 0.03, shoulder_z + FOREARM)
        a2, c2 = ankle[1:], shoulder[1:]
        d = c2 - a2
        normal = np.array([-d[1], d[0]])
        if normal[0] > 0:
            normal = -normal
        hip2 = _bend_offset(a2, c2, (SHIN + THIGH) / _BODY, sag, normal)
        pts[f"{side}_hip"] = _v(s * HIP_HALF, hip2[0], hip2[1])
        knee2 = a2 + SHIN / (SHIN + THIGH) * (hip2 - a2)
        pts[f"{side}_knee"] = _v(s * 0.085, knee2[0], knee2[1])
    _head(pts, pts["left_shoulder"] - pts["left_ankle"], _v(0, -0.5, 1))
    return pts


def _kneeling_pose() -> dict[str, np.ndarray]:
    pts: dict[str, np.ndarray] = {}
    knee_z, hip_y, shoulder_y = SHIN, 0.03 + THIGH, 0.02 + UPPER_ARM + FOREARM
    shoulder_z = knee_z + np.sqrt(TRUNK**2 - (shoulder_y - hip_y) ** 2)
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_ankle"] = _v(s * 0.08, ANKLE_Y, 0)
        pts[f"{side}_knee"] = _v(s * 0.085, 0.03, knee_z)
        pts[f"{side}_hip"] = _v(s * HIP_HALF, hip_y, knee_z)
        pts[f"{side}_shoulder"] = _v(s * SHOULDER_HALF, shoulder_y, shoulder_z)
        pts[f"{side}_elbow"] = _v(s * 0.13, shoulder_y - UPPER_ARM, shoulder_z)
        pts[f"{side}_wrist"] = _v(s * 0.13, 0.02, shoulder_z + 0.01)
    _head(pts, _v(0, 0.2, 1), _v(0, -0.5, 1))
    return pts


def _blend(a: dict, b: dict, q: float) -> dict[str, np.ndarray]:
    return {k: (1 - q) * a[k] + q * b[k] for k in a}


def _pose_plank(q: float, p: dict) -> dict[str, np.ndarray]:
    return _blend(_kneeling_pose(), _plank_pose(p["hip_sag_deg"]), q)


def _pose_hip_hinge(q: float, p: dict) -> dict[str, np.ndarray]:
    knee_deg = 178 - q * (178 - p["knee_deg"])
    hip_deg = p["lockout_deg"] - q * (p["lockout_deg"] - p["depth"])
    flex = 180 - knee_deg
    phi_s, phi_t = np.radians(0.25 * flex), np.radians(0.75 * flex)
    phi_tr = np.radians(180 - hip_deg) - phi_t
    pts: dict[str, np.ndarray] = {}
    up = _v(0, np.cos(phi_tr), np.sin(phi_tr))
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.1, ANKLE_Y, 0)
        knee = ankle + SHIN * _v(0, np.cos(phi_s), np.sin(phi_s))
        knee[0] = s * 0.095
        hip = knee + THIGH * _v(0, np.cos(phi_t), -np.sin(phi_t))
        hip[0] = s * HIP_HALF
        pts[f"{side}_ankle"], pts[f"{side}_knee"], pts[f"{side}_hip"] = ankle, knee, hip
        pts[f"{side}_shoulder"] = hip + TRUNK * up + _v(s * (SHOULDER_HALF - HIP_HALF), 0, 0)
        _straight_arm(pts, side, _v(0, -1, 0))
    _head(pts, up, _v(0, -np.sin(phi_tr), np.cos(phi_tr)))
    return pts


def _pose_overhead_press(q: float, p: dict) -> dict[str, np.ndarray]:
    shoulder_deg = 35 + q * (p["lockout_deg"] - 35)  # trunk to upper arm
    elbow_deg = 45 + q * (175 - 45)
    lean = np.radians(q * p["trunk_lean_deg"])  # backwards
    up = _v(0, np.cos(lean), -np.sin(lean))
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.1, ANKLE_Y, 0)
        knee = ankle + _v(0, SHIN, 0)
        hip = knee + _v(0, THIGH, 0)
        hip[0] = s * HIP_HALF
        pts[f"{side}_ankle"], pts[f"{side}_knee"], pts[f"{side}_hip"] = ankle, knee, hip
    mh = (pts["left_hip"] + pts["right_hip"]) / 2

    def sagittal(theta: float) -> np.ndarray:  # angle from +z (forward) towards +y (up)
        return _v(0, np.sin(theta), np.cos(theta))

    # The upper arm: the trunk's down direction rotated forward by the shoulder angle; the
    # forearm turns back up by 180 - elbow angle, so the bar stays over the shoulders.
    theta_arm = np.radians(-90) + lean + np.radians(shoulder_deg)
    theta_fore = theta_arm + np.radians(180 - elbow_deg)
    for side, s in (("left", 1), ("right", -1)):
        sh = mh + TRUNK * up + _v(s * SHOULDER_HALF, 0, 0)
        pts[f"{side}_shoulder"] = sh
        pts[f"{side}_elbow"] = sh + UPPER_ARM * sagittal(theta_arm)
        pts[f"{side}_wrist"] = pts[f"{side}_elbow"] + FOREARM * sagittal(theta_fore)
    _head(pts, up, _v(0, 0, 1))
    return pts


def _pose_jumping_jacks(q: float, p: dict) -> dict[str, np.ndarray]:
    abduction = np.radians(12 + q * (p["depth"] - 12))
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * (0.09 + 0.2 * q), ANKLE_Y, 0)
        hip = _v(s * HIP_HALF, ANKLE_Y + SHIN + THIGH - 0.01 * q, 0)
        pts[f"{side}_ankle"], pts[f"{side}_hip"] = ankle, hip
        pts[f"{side}_knee"] = ankle + SHIN / (SHIN + THIGH) * (hip - ankle)
        pts[f"{side}_shoulder"] = hip + _v(s * (SHOULDER_HALF - HIP_HALF), TRUNK, 0)
        _straight_arm(pts, side, _v(s * np.sin(abduction), -np.cos(abduction), 0))
    _head(pts, _v(0, 1, 0), _v(0, 0, 1))
    return pts


def _standing() -> dict[str, np.ndarray]:
    return _pose_jumping_jacks(0.0, {"depth": 12.0})


def _warrior_pose(p: dict) -> dict[str, np.ndarray]:
    k = np.radians(p["depth"])
    knee = _v(0.45, ANKLE_Y + SHIN, 0)
    front_hip = knee + THIGH * _v(-np.sin(k), -np.cos(k), 0)
    back_hip = front_hip - _v(2 * HIP_HALF, 0, 0)
    leg = SHIN + THIGH
    drop = front_hip[1] - ANKLE_Y
    back_ankle = back_hip - _v(np.sqrt(max(leg**2 - drop**2, 0.0)), drop, 0)
    pts = {
        "left_ankle": _v(0.45, ANKLE_Y, 0),
        "left_knee": knee,
        "left_hip": front_hip,
        "right_hip": back_hip,
        "right_ankle": back_ankle,
        "right_knee": (back_hip + back_ankle) / 2,
    }
    mh = (front_hip + back_hip) / 2
    drop_arm = np.radians(p["arm_drop_deg"])
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + _v(s * SHOULDER_HALF, TRUNK, 0)
        _straight_arm(pts, side, _v(s * np.cos(drop_arm), -np.sin(drop_arm), 0), elbow_deg=178)
    _head(pts, _v(0, 1, 0), _v(0, 0, 1))
    return pts


def _pose_warrior_ii(q: float, p: dict) -> dict[str, np.ndarray]:
    return _blend(_standing(), _warrior_pose(p), q)


def _tree_pose(p: dict) -> dict[str, np.ndarray]:
    k = np.radians(180 - p["depth"])
    r_ankle = _v(-0.05, ANKLE_Y, 0)
    r_knee = r_ankle + SHIN * _v(np.sin(k / 2), np.cos(k / 2), 0)
    r_hip = r_knee + THIGH * _v(-np.sin(k / 2), np.cos(k / 2), 0)
    l_hip = r_hip + _v(2 * HIP_HALF, 0, 0)
    l_knee = l_hip + THIGH * _v(np.sin(np.radians(60)), -np.cos(np.radians(60)), 0)
    l_ankle = r_hip + _v(0.03, -0.15, 0.02)
    pts = {
        "right_ankle": r_ankle,
        "right_knee": r_knee,
        "right_hip": r_hip,
        "left_hip": l_hip,
        "left_knee": l_knee,
        "left_ankle": l_ankle,
    }
    lean = np.radians(p["trunk_lean_deg"])
    up = _v(np.sin(lean), np.cos(lean), 0)
    mh = (r_hip + l_hip) / 2
    ms = mh + TRUNK * up
    for side, s in (("left", 1), ("right", -1)):
        sh = ms + s * SHOULDER_HALF * _v(np.cos(lean), -np.sin(lean), 0)
        pts[f"{side}_shoulder"] = sh
        pts[f"{side}_elbow"] = sh + _v(s * 0.08, 0.15, 0)
        pts[f"{side}_wrist"] = ms + 0.33 * up + s * _v(0.02, 0, 0)
    _head(pts, up, _v(0, 0, 1))
    return pts


def _pose_tree(q: float, p: dict) -> dict[str, np.ndarray]:
    return _blend(_standing(), _tree_pose(p), q)


def _dog_shape(p: dict, beta: float) -> dict[str, np.ndarray]:
    kd = np.radians(p["knee_deg"])
    leg = np.sqrt(THIGH**2 + SHIN**2 - 2 * THIGH * SHIN * np.cos(kd))
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.08, ANKLE_Y, 0)
        hip = ankle + leg * _v(0, np.sin(beta), np.cos(beta))
        hip[0] = s * HIP_HALF
        knee = _ik(ankle, hip, SHIN, THIGH, _v(0, -1, 1))
        knee[0] = s * 0.085
        # The trunk turns from the thigh (hip -> knee) by the hip angle; the arms continue it
        # with a shoulder angle of 170 degrees.
        theta_thigh = np.arctan2(knee[1] - hip[1], knee[2] - hip[2])
        theta_tr = theta_thigh + np.radians(p["depth"])
        theta_arm = theta_tr - np.radians(10)
        shoulder = hip + TRUNK * _v(0, np.sin(theta_tr), np.cos(theta_tr))
        shoulder[0] = s * SHOULDER_HALF
        pts[f"{side}_ankle"], pts[f"{side}_knee"] = ankle, knee
        pts[f"{side}_hip"], pts[f"{side}_shoulder"] = hip, shoulder
        _straight_arm(pts, side, _v(0, np.sin(theta_arm), np.cos(theta_arm)), elbow_deg=176)
    _head(pts, pts["left_shoulder"] - pts["left_hip"], _v(0, -1, -0.3))
    return pts


@functools.lru_cache(maxsize=64)
def _dog_beta(depth: float, knee_deg: float) -> float:
    # Tilt the legs until the hands reach the floor (wrists 0.02 above it).
    p = {"depth": depth, "knee_deg": knee_deg}
    return _bisect(
        lambda b: _dog_shape(p, b)["left_wrist"][1], np.radians(15), np.radians(85), 0.02
    )


def _dog_pose(p: dict) -> dict[str, np.ndarray]:
    return _dog_shape(p, _dog_beta(float(p["depth"]), float(p["knee_deg"])))


def _pose_downward_dog(q: float, p: dict) -> dict[str, np.ndarray]:
    return _blend(_standing(), _dog_pose(p), q)


_POSES = {
    "squat": _pose_squat,
    "lunge": _pose_lunge,
    "push_up": _pose_push_up,
    "hip_hinge": _pose_hip_hinge,
    "overhead_press": _pose_overhead_press,
    "jumping_jacks": _pose_jumping_jacks,
    "plank": _pose_plank,
    "warrior_ii": _pose_warrior_ii,
    "tree": _pose_tree,
    "downward_dog": _pose_downward_dog,
}


# -- timeline ----------------------------------------------------------------------------------


def _per_rep(value: float | Sequence[float], n: int, name: str) -> list[float]:
    if isinstance(value, int | float | np.floating | np.integer):
        return [float(value)] * n
    values = [float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{name}: {len(values)} values given for {n} repetitions/holds")
    return values


def _ease(u: np.ndarray) -> np.ndarray:
    """0 -> 1 smoothly (half a cosine) for u in [0, 1]."""
    return (1 - np.cos(np.pi * np.clip(u, 0, 1))) / 2


def _timeline(kind: str, n: int, durations: list[float], fps: float):
    """Per frame: (t_s, q, segment index or -1), plus the segments' (start, turn, end) times."""
    segs = []
    t = LEAD_IN_S
    for i in range(n):
        d = durations[i]
        if kind == "rep":
            segs.append((t, t + d / 2, t + d))
            t += d + (PAUSE_S if i < n - 1 else 0)
        else:
            start = t + TRANSITION_S
            segs.append((start, start + d / 2, start + d))
            t = start + d + TRANSITION_S + (PAUSE_S if i < n - 1 else 0)
    total = t + LEAD_OUT_S
    n_frames = int(np.floor(total * fps)) + 1
    times = np.arange(n_frames) / fps
    q = np.zeros(n_frames)
    idx = np.full(n_frames, -1)
    for i, (a, _, b) in enumerate(segs):
        if kind == "rep":
            m = (times >= a) & (times <= b)
            q[m] = (1 - np.cos(2 * np.pi * (times[m] - a) / (b - a))) / 2
        else:
            m = (times >= a - TRANSITION_S) & (times <= b + TRANSITION_S)
            into = _ease((times - (a - TRANSITION_S)) / TRANSITION_S)
            out = _ease(((b + TRANSITION_S) - times) / TRANSITION_S)
            q[m] = np.minimum(into, out)[m]
        idx[m] = i
    return times, q, idx, segs


# -- projection and keypoint table -------------------------------------------------------------


def _project(pts: dict[str, np.ndarray], yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
    """(17, 2) image-plane coordinates in body units (u to the right, v up). ``pitch_deg``: the
    camera raised and looking down by that angle (points nearer the camera appear lower)."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    xyz = np.stack([pts[n] for n in COCO17])
    u = xyz[:, 0] * np.cos(yaw) + xyz[:, 2] * np.sin(yaw)
    near = -xyz[:, 0] * np.sin(yaw) + xyz[:, 2] * np.cos(yaw)
    return np.column_stack([u, xyz[:, 1] * np.cos(pitch) - near * np.sin(pitch)])


ARMS = ("", "chest", "forward")


def _restyle(pts: dict[str, np.ndarray], arms: str, build: float) -> dict[str, np.ndarray]:
    """The pose with its arms held ``arms`` (``chest``: hands together at the sternum, elbows
    down, as in a goblet or prisoner squat; ``forward``: straight out in front at shoulder
    height; ``""``: as posed) and its shoulder and hip keypoints ``build`` times as far apart
    (pose models place them differently: a MoveNet front view has them 0.6 and 0.38 torso
    lengths apart, this body 0.83 and 0.59). Lateral is the body's x axis."""
    pts = dict(pts)
    if build != 1.0:
        for joint in ("shoulder", "hip"):
            mid = (pts[f"left_{joint}"] + pts[f"right_{joint}"]) / 2
            for side in ("left", "right"):
                p = pts[f"{side}_{joint}"].copy()
                p[0] = mid[0] + build * (p[0] - mid[0])
                pts[f"{side}_{joint}"] = p
    if not arms:
        return pts
    ms = (pts["left_shoulder"] + pts["right_shoulder"]) / 2
    up = ms - (pts["left_hip"] + pts["right_hip"]) / 2
    up /= np.linalg.norm(up)
    fwd = np.cross(_v(1, 0, 0), up)
    fwd /= np.linalg.norm(fwd)
    for side, s in (("left", 1), ("right", -1)):
        if arms == "forward":
            _straight_arm(pts, side, fwd)
        else:
            wrist = ms - 0.3 * TRUNK * up + 0.12 * fwd + _v(s * 0.03, 0, 0)
            pts[f"{side}_wrist"] = wrist
            pts[f"{side}_elbow"] = _ik(pts[f"{side}_shoulder"], wrist, UPPER_ARM, FOREARM,
                                       -up + _v(s * 0.3, 0, 0))  # fmt: skip
    return pts


def generate_clip(
    exercise: str,
    *,
    reps: int = 5,
    holds: int = 1,
    view: str = "side",
    fps: float = 30.0,
    width: int = 1280,
    height: int = 720,
    noise_px: float = 0.0,
    dropout: float = 0.0,
    smooth: bool | None = None,
    seed: int = 0,
    track_id: int = 0,
    turn_deg: float = 0.0,
    pitch_deg: float = 0.0,
    arms: str = "",
    build: float = 1.0,
    **params: float | Sequence[float],
) -> SyntheticClip:
    """Generate one person doing ``exercise`` (see :data:`EXERCISES`) with exact ground truth.

    Args:
        exercise: a key of :data:`DEFAULTS`.
        reps: repetitions (rep exercises); holds: holds (isometric exercises).
        view: ``side`` | ``front`` | ``oblique``.
        fps, width, height: frame rate and frame size (pixels).
        noise_px: standard deviation of the Gaussian noise added to every raw coordinate.
        dropout: probability that a keypoint in a frame is lost (score 0.02-0.25, position off by
            ~25 px), as a pose model does.
        smooth: run `analysis.tracking.smoothing.smooth_track` over the raw points (default: when there
            is noise or dropout); otherwise the smoothed columns equal the raw ones, with NaN
            where the score is below 0.3.
        seed: random seed for the noise, dropouts and scores.
        turn_deg: the body turned this far from the view's yaw (0 front, 45 oblique, 90 side;
            a real "side" camera is seldom square on). pitch_deg: the camera looks down on the
            person by this angle. arms: ``chest`` or ``forward`` (see `_restyle`; the
            exercise's own arms by default). build: shoulder and hip keypoint widths times
            this. The view-estimation tests' hard cases; the truth's planted values are exact
            only with the defaults.
        **params: planted values (see :data:`DEFAULTS`): ``depth``, ``trunk_lean_deg``,
            ``valgus_deg``, ``hip_sag_deg``, ``lockout_deg``, ``knee_deg``, ``arm_drop_deg``,
            ``tempo_s`` (seconds per rep), ``hold_s`` (seconds per hold). A scalar applies to
            every rep or hold, a sequence gives one value per rep or hold.

    Returns:
        A :class:`SyntheticClip`: the keypoints table (no ``video_id``) and its :class:`Truth`.
    """
    if exercise not in DEFAULTS:
        raise ValueError(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    if view not in VIEW_YAW:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(VIEW_YAW)}")
    if arms not in ARMS:
        raise ValueError(f"unknown arms {arms!r}; known: {', '.join(map(repr, ARMS))}")
    defaults = DEFAULTS[exercise]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{exercise}: unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    kind = "hold" if exercise in HOLD_EXERCISES else "rep"
    n = int(holds if kind == "hold" else reps)
    values = {k: _per_rep(params.get(k, v), n, k) for k, v in defaults.items()}
    # The rest position between reps is shared by neighbouring reps: it cannot vary per rep.
    if (
        kind == "rep"
        and exercise != "overhead_press"
        and len(set(values.get("lockout_deg", []))) > 1
    ):
        raise ValueError(f"{exercise}: lockout_deg is the rest position, give one value per clip")
    dur_key = "hold_s" if kind == "hold" else "tempo_s"
    times, q, idx, segs = _timeline(kind, n, values[dur_key], fps)

    pose = _POSES[exercise]
    base = {k: v[0] for k, v in values.items()}
    yaw = VIEW_YAW[view] + turn_deg
    body = np.empty((len(times), len(COCO17), 2))
    for f, (qf, i) in enumerate(zip(q, idx, strict=True)):
        pv = {k: v[i] for k, v in values.items()} if i >= 0 else base
        body[f] = _project(_restyle(pose(float(qf), pv), arms, build), yaw, pitch_deg)

    # Body units -> pixels: the standing body is 75% of the frame height, feet near the bottom.
    scale = 0.75 * height
    if exercise in ("plank", "push_up", "downward_dog") and view == "side":
        scale = min(scale, 0.8 * width)
    if smooth is None:
        smooth = noise_px > 0 or dropout > 0
    # Recorded only where set, so that the default clips' truth stays as it was.
    asked = {"turn_deg": turn_deg, "pitch_deg": pitch_deg, "arms": arms, "build": build}
    plain = {"turn_deg": 0.0, "pitch_deg": 0.0, "arms": "", "build": 1.0}
    camera = {k: v for k, v in asked.items() if v != plain[k]}
    return clip_from_body(
        body,
        scale=scale,
        times=times,
        segs=segs,
        values=values,
        exercise=exercise,
        view=view,
        kind=kind,
        fps=fps,
        width=width,
        height=height,
        noise_px=noise_px,
        dropout=dropout,
        seed=seed,
        smooth=smooth,
        track_id=track_id,
        params={"noise_px": noise_px, "dropout": dropout, "seed": seed, **base, **camera},
    )


def clip_from_body(
    body: np.ndarray,
    *,
    scale: float,
    times: np.ndarray,
    segs: Sequence[tuple[float, float, float]],
    values: dict[str, list[float]],
    exercise: str,
    view: str,
    kind: str,
    fps: float,
    width: int,
    height: int,
    noise_px: float,
    dropout: float,
    seed: int,
    smooth: bool,
    track_id: int,
    params: dict[str, Any],
) -> SyntheticClip:
    """A posed body over time (body units, ``[T, 17, 2]``) as a clip: pixels at ``scale`` per body
    unit, scores, noise and dropouts from ``seed``, the keypoints table and its `Truth`.

    Shared by :func:`generate_clip` and the other generators (`analysis.testing.exercises`), which
    differ only in how they pose the body.
    """
    centre = np.nanmean(body[..., 0])
    xy = np.empty_like(body)
    xy[..., 0] = width / 2 + scale * (body[..., 0] - centre)
    xy[..., 1] = 0.95 * height - scale * body[..., 1]

    rng = np.random.default_rng(seed)
    scores = rng.uniform(0.55, 0.98, size=xy.shape[:2])
    raw = xy + rng.normal(0.0, noise_px, size=xy.shape) if noise_px > 0 else xy.copy()
    if dropout > 0:
        lost = rng.random(size=xy.shape[:2]) < dropout
        scores[lost] = rng.uniform(0.02, 0.25, size=int(lost.sum()))
        raw[lost] += rng.normal(0.0, 25.0, size=(int(lost.sum()), 2))
    frames = np.arange(len(times))
    if smooth:
        from analysis.tracking.smoothing import smooth_track

        smoothed = smooth_track(frames, raw, scores, fps)
    else:
        smoothed = raw.copy()
        smoothed[scores < 0.3] = np.nan

    cols: dict[str, Any] = {
        "frame": frames.astype(np.int32),
        "t_s": times,
        "track_id": np.full(len(times), track_id, dtype=np.int32),
    }
    lo, hi = np.nanmin(raw, axis=1), np.nanmax(raw, axis=1)
    pad = 0.05 * scale
    cols["bbox_x1"], cols["bbox_y1"] = lo[:, 0] - pad, lo[:, 1] - pad
    cols["bbox_x2"], cols["bbox_y2"] = hi[:, 0] + pad, hi[:, 1] + pad
    cols["bbox_score"] = np.full(len(times), 0.9)
    cols.update(wide_keypoints(smoothed, scores, raw))
    keypoints = pd.DataFrame(cols)

    rows = []
    for i, (a, turn, b) in enumerate(segs):
        row: dict[str, Any] = {"start_s": a, "turn_s": turn, "end_s": b, "duration_s": b - a}
        row.update({k: v[i] for k, v in values.items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    empty = pd.DataFrame(columns=["start_s", "turn_s", "end_s", "duration_s"])
    if kind == "rep":
        reps_df, holds_df = table.rename_axis("rep_index").reset_index(), empty
    else:
        reps_df, holds_df = empty, table.rename_axis("hold_index").reset_index()
    truth = Truth(
        exercise=exercise,
        view=view,
        kind=kind,
        reps=reps_df,
        holds=holds_df,
        fps=float(fps),
        width=int(width),
        height=int(height),
        params=params,
    )
    return SyntheticClip(keypoints=keypoints, truth=truth)


def generate(exercise: str, **kwargs: Any) -> pd.DataFrame:
    """The keypoints table of :func:`generate_clip`; its truth is in ``df.attrs["truth"]``."""
    clip = generate_clip(exercise, **kwargs)
    df = clip.keypoints
    df.attrs["truth"] = clip.truth
    return df
