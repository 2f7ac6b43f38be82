"""Generated motion for the rule library's newer exercises, with exact ground truth.

The same body, posing helpers and camera as `analysis.testing.synthetic` (orthographic views,
a body of height 1, faults planted per repetition or hold), for burpees, high knees, step-ups,
alternating lunges, single-leg deadlifts, glute bridges, side planks and wall sits. High knees,
step-ups and alternating lunges alternate legs (:data:`ALTERNATING`; the truth says each rep's
``side``). Kept apart from the original ten
so that their generator stays as it is; `generate_exercise` returns the same `SyntheticClip`.

What each planted value means is listed in :data:`DEFAULTS`. The quantities a rule file checks
are exact in the view that rule needs (side view: sagittal angles; front view: the side plank's
body line, which lies in the frontal plane).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from analysis.testing.synthetic import (
    ANKLE_Y,
    FOREARM,
    HIP_HALF,
    SHIN,
    SHOULDER_HALF,
    THIGH,
    TRUNK,
    UPPER_ARM,
    VIEW_YAW,
    SyntheticClip,
    _angle2d,
    _bend_offset,
    _blend,
    _ease,
    _head,
    _ik,
    _per_rep,
    _plank_pose,
    _pose_squat,
    _project,
    _standing,
    _straight_arm,
    _v,
    clip_from_body,
)
from posecoach.schema import COCO17

REP_EXERCISES = ("burpee", "high_knees", "step_up", "alternating_lunge", "single_leg_deadlift",
                 "glute_bridge")  # fmt: skip
#: Exercises whose reps alternate sides: even reps are done with the left leg, odd ones with the
#: right (the truth's ``side`` column).
ALTERNATING = ("high_knees", "step_up", "alternating_lunge")
HOLD_EXERCISES = ("side_plank", "wall_sit")
EXERCISES = REP_EXERCISES + HOLD_EXERCISES

#: Planted values of a good repetition / hold. hip_sag_deg: signed bend of the
#: shoulder-hip-ankle line in the plank (burpee, side plank; positive = hips towards the floor);
#: lift_deg: the lifted thigh's angle from vertical (high knees; 90 = level); depth: the lead
#: knee's angle on the box (step-up), the trunk's angle from vertical at the bottom (single-leg
#: deadlift), the hip angle at the top (glute bridge), the knee angle (wall sit);
#: leg_drop_deg: how far the free leg hangs below the trunk's line (single-leg deadlift);
#: trunk_lean_deg: trunk from vertical (wall sit); tempo_s / hold_s: seconds per rep / hold.
DEFAULTS: dict[str, dict[str, float]] = {
    "burpee": {"hip_sag_deg": 0.0, "tempo_s": 2.4},
    "high_knees": {"lift_deg": 90.0, "tempo_s": 0.5},
    "step_up": {"depth": 85.0, "tempo_s": 2.4},
    "alternating_lunge": {"depth": 90.0, "trunk_lean_deg": 5.0, "tempo_s": 2.6},
    "single_leg_deadlift": {"depth": 80.0, "leg_drop_deg": 0.0, "tempo_s": 2.6},
    "glute_bridge": {"depth": 175.0, "tempo_s": 2.0},
    "side_plank": {"hip_sag_deg": 0.0, "hold_s": 8.0},
    "wall_sit": {"depth": 90.0, "trunk_lean_deg": 0.0, "hold_s": 8.0},
}

#: Seconds between repetitions (high knees alternate without a pause) and of a hold's
#: transitions in and out (short, so that the time in position is the hold's within 2 x this).
PAUSE_S = {"high_knees": 0.05}
DEFAULT_PAUSE_S, TRANSITION_S, LEAD_S = 0.5, 0.3, 1.0
BOX = 0.22  # step-up box height, body heights (knee height is 0.29)

Pose = Callable[[float, dict[str, float], int], dict[str, np.ndarray]]


# -- poses: q in [0, 1] from the start position to the turn / the held pose; i = rep index ------


def _pose_burpee(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    # Standing -> crouch with the hands down (first 40 %) -> plank; the hip height falls all the
    # way, so the plank is the signal's valley and its sag is the planted one.
    crouch = _pose_squat(1.0, {"depth": 60.0, "trunk_lean_deg": 50.0, "valgus_deg": 0.0})
    if q <= 0.4:
        return _blend(_standing(), crouch, q / 0.4)
    return _blend(crouch, _plank_pose(p["hip_sag_deg"]), (q - 0.4) / 0.6)


def _pose_high_knees(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    # Even repetitions lift the left knee, odd ones the right; the shin stays vertical.
    pts = _standing()
    side = "left" if i % 2 == 0 else "right"
    a = np.radians(q * p["lift_deg"])
    hip = pts[f"{side}_hip"]
    pts[f"{side}_knee"] = hip + THIGH * _v(0, -np.cos(a), np.sin(a))
    pts[f"{side}_ankle"] = pts[f"{side}_knee"] + _v(0, -SHIN, 0)
    return pts


def _legs_to(hip_y: float, lead_z: float, lead_y: float, bend: np.ndarray) -> dict:
    # Hips at hip_y over z = 0; the left foot at (lead_z, lead_y), the right one on the floor.
    pts: dict[str, np.ndarray] = {}
    for side, s, foot in (("left", 1, _v(HIP_HALF, lead_y, lead_z)), ("right", -1, None)):
        hip = _v(s * HIP_HALF, hip_y, 0)
        ankle = foot if foot is not None else _v(-HIP_HALF, ANKLE_Y, 0)
        pts[f"{side}_hip"], pts[f"{side}_ankle"] = hip, ankle
        pts[f"{side}_knee"] = _ik(hip, ankle, THIGH, SHIN, bend)
    return pts


def _mirrored(pts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # The same pose done with the other side: left and right swapped across the body's midline.
    out = {}
    for name, p in pts.items():
        other = name.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
        out[other] = p * np.array([-1.0, 1.0, 1.0])
    return out


def _pose_step_up(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    pts = _step_up_left(q, p)
    return pts if i % 2 == 0 else _mirrored(pts)


def _step_up_left(q: float, p: dict[str, float]) -> dict[str, np.ndarray]:
    # q 0 -> 0.5: the left foot onto the box in front, the hips lower to the planted lead-knee
    # angle; 0.5 -> 1: up onto the box, standing on the left leg with the right foot beside it.
    # The way down retraces it, so the lead knee bends twice per step-up while the hips rise
    # above the floor once.
    stand_y = ANKLE_Y + SHIN + THIGH - 0.005
    k = np.radians(p["depth"])
    reach = np.sqrt(THIGH**2 + SHIN**2 - 2 * THIGH * SHIN * np.cos(k))
    box_z, box_y = 0.25, ANKLE_Y + BOX
    low_y = box_y + np.sqrt(max(reach**2 - box_z**2, 1e-6))
    fwd = _v(0, 0, 1)
    if q <= 0.5:
        u = q / 0.5
        pts = _legs_to(stand_y + u * (low_y - stand_y), box_z * u, ANKLE_Y + u * BOX, fwd)
    else:
        u = (q - 0.5) / 0.5
        y = low_y + u * (stand_y + BOX - low_y)
        pts = _legs_to(y, box_z * (1 - u), box_y, fwd)
        for key in ("left_hip", "left_knee", "left_ankle"):
            pts[key] = pts[key] + _v(0, 0, box_z * u)  # the body moves over the box
        hip = _v(-HIP_HALF, y, box_z * u)
        ankle = _v(-HIP_HALF, ANKLE_Y + u * BOX, box_z * u)
        pts["right_hip"], pts["right_ankle"] = hip, ankle
        pts["right_knee"] = _ik(hip, ankle, THIGH, SHIN, fwd)
    mh = (pts["left_hip"] + pts["right_hip"]) / 2
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + _v(s * SHOULDER_HALF, TRUNK, 0)
        _straight_arm(pts, side, _v(0, -1, 0.05), elbow_deg=170)
    _head(pts, _v(0, 1, 0), fwd)
    return pts


def _pose_alternating_lunge(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    pts = _lunge_left(q, p)
    return pts if i % 2 == 0 else _mirrored(pts)


def _lunge_left(q: float, p: dict[str, float]) -> dict[str, np.ndarray]:
    # A forward lunge with the left leg: q 0 -> 0.4, the left foot steps out in front (the back
    # heel rising); 0.4 -> 1, the hips lower until the front knee reaches the planted angle (the
    # split stance of `synthetic`'s lunge). The way back retraces it.
    step, u = min(q / 0.4, 1.0), max((q - 0.4) / 0.6, 0.0)
    knee = np.radians(175 - u * (175 - p["depth"]))
    front_z = 0.22 * step
    front = _v(HIP_HALF, ANKLE_Y + 0.04 * np.sin(np.pi * step), front_z)
    back = _v(-HIP_HALF, ANKLE_Y + 0.06 * step, -0.30 * step)
    reach = np.sqrt(THIGH**2 + SHIN**2 - 2 * THIGH * SHIN * np.cos(knee))
    hy = ANKLE_Y + np.sqrt(max(reach**2 - front_z**2, 1e-6))
    fwd = _v(0, 0, 1)
    pts: dict[str, np.ndarray] = {"left_ankle": front, "right_ankle": back}
    for side, s in (("left", 1), ("right", -1)):
        hip = _v(s * HIP_HALF, hy, 0)
        pts[f"{side}_hip"] = hip
        pts[f"{side}_knee"] = _ik(hip, pts[f"{side}_ankle"], THIGH, SHIN, fwd)
    lean = np.radians(q * p["trunk_lean_deg"])
    up = _v(0, np.cos(lean), np.sin(lean))
    mh = (pts["left_hip"] + pts["right_hip"]) / 2
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + TRUNK * up + _v(s * SHOULDER_HALF, 0, 0)
        _straight_arm(pts, side, _v(0, -1, 0.05), elbow_deg=170)
    _head(pts, up, fwd)
    return pts


def _pose_single_leg_deadlift(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    # Stance on the right leg (knee 165 deg); the trunk tips forward to the planted angle from
    # vertical and the left leg rises behind, leg_drop_deg below the trunk's line.
    t = np.radians(q * p["depth"])
    leg = np.radians(q * (p["depth"] - p["leg_drop_deg"]))
    stance = np.sqrt(THIGH**2 + SHIN**2 - 2 * THIGH * SHIN * np.cos(np.radians(165)))
    hip_y = ANKLE_Y + stance
    pts: dict[str, np.ndarray] = {}
    r_hip, r_ankle = _v(-HIP_HALF, hip_y, 0), _v(-HIP_HALF, ANKLE_Y, 0)
    pts["right_hip"], pts["right_ankle"] = r_hip, r_ankle
    pts["right_knee"] = _ik(r_hip, r_ankle, THIGH, SHIN, _v(0, 0, 1))
    l_hip = _v(HIP_HALF, hip_y, 0)
    down_back = _v(0, -np.cos(leg), -np.sin(leg))
    pts["left_hip"] = l_hip
    pts["left_knee"] = l_hip + THIGH * down_back
    pts["left_ankle"] = pts["left_knee"] + SHIN * down_back
    up = _v(0, np.cos(t), np.sin(t))
    mh = (l_hip + r_hip) / 2
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + TRUNK * up + _v(s * SHOULDER_HALF, 0, 0)
        _straight_arm(pts, side, _v(0, -1, 0))
    _head(pts, up, _v(0, -np.sin(t), np.cos(t)))
    return pts


def _bridge_shape(theta: float) -> dict[str, np.ndarray]:
    # Lying on the back along +z (head at -z), shoulders on the floor at z = 0, feet flat; the
    # trunk rises by theta from the floor and the knees follow from the fixed feet.
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        sh = _v(s * SHOULDER_HALF, 0.05, 0)
        hip = sh + TRUNK * _v(0, np.sin(theta), np.cos(theta))
        hip[0] = s * HIP_HALF
        ankle = _v(s * 0.1, ANKLE_Y, TRUNK + 0.22)
        pts[f"{side}_shoulder"], pts[f"{side}_hip"], pts[f"{side}_ankle"] = sh, hip, ankle
        pts[f"{side}_knee"] = _ik(hip, ankle, THIGH, SHIN, _v(0, 1, 0))
        pts[f"{side}_elbow"] = sh + _v(0, -0.02, UPPER_ARM)
        pts[f"{side}_wrist"] = pts[f"{side}_elbow"] + _v(0, 0, FOREARM)
    _head(pts, _v(0, 0, -1), _v(0, 1, 0))
    return pts


def _bridge_hip_deg(theta: float) -> float:
    pts = _bridge_shape(theta)
    side = [pts[k][1:] for k in ("left_shoulder", "left_hip", "left_knee")]
    return _angle2d(*side)


_BRIDGE_THETA = np.radians(np.linspace(0.0, 60.0, 601))
_BRIDGE_HIP = np.array([_bridge_hip_deg(float(t)) for t in _BRIDGE_THETA])


def _pose_glute_bridge(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    # The hip angle (side view) runs from lying (hips on the floor) to the planted top angle.
    bottom = float(_BRIDGE_HIP[0])
    target = bottom + q * (p["depth"] - bottom)
    rising = _BRIDGE_HIP[: int(np.argmax(_BRIDGE_HIP)) + 1]
    theta = float(np.interp(target, rising, _BRIDGE_THETA[: len(rising)]))
    return _bridge_shape(theta)


def _side_plank_shape(sag: float) -> dict[str, np.ndarray]:
    # On the right forearm, facing the camera: the body's long axis is the image's x, the left
    # side above the right one.
    pts: dict[str, np.ndarray] = {}
    body = SHIN + THIGH + TRUNK
    shoulder_y = 0.03 + UPPER_ARM
    shoulder_x = np.sqrt(body**2 - (shoulder_y - ANKLE_Y) ** 2)
    for side, lift in (("right", 0.0), ("left", 2 * HIP_HALF)):
        ankle, shoulder = _v(0, ANKLE_Y + lift, 0), _v(shoulder_x, shoulder_y + lift, 0)
        a2, c2 = ankle[:2], shoulder[:2]
        d = c2 - a2
        normal = np.array([d[1], -d[0]])  # towards the floor
        hip2 = a2 + (SHIN + THIGH) / body * d
        if sag:
            hip2 = _bend_offset(a2, c2, (SHIN + THIGH) / body, sag, normal)
        pts[f"{side}_ankle"], pts[f"{side}_shoulder"] = ankle, shoulder
        pts[f"{side}_hip"] = _v(hip2[0], hip2[1], 0)
        pts[f"{side}_knee"] = ankle + SHIN / (SHIN + THIGH) * (pts[f"{side}_hip"] - ankle)
    pts["right_elbow"] = _v(shoulder_x, 0.03, 0)
    pts["right_wrist"] = _v(shoulder_x, 0.03, -FOREARM)
    pts["left_elbow"] = pts["left_shoulder"] + _v(-0.05, -0.15, 0)
    pts["left_wrist"] = pts["left_hip"] + _v(0.02, 0.02, 0)
    _head(pts, _v(1, 0.2, 0), _v(0, 0, -1))
    return pts


def _pose_side_plank(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    # From standing (the trunk upright: not in the position) over to the side plank.
    return _blend(_standing(), _side_plank_shape(p["hip_sag_deg"]), q)


def _wall_sit_shape(p: dict[str, float]) -> dict[str, np.ndarray]:
    # Shins vertical, the thighs back from the knees at the planted knee angle, the trunk up
    # against the wall (leaning trunk_lean_deg forward).
    k = np.radians(p["depth"])
    lean = np.radians(p["trunk_lean_deg"])
    pts: dict[str, np.ndarray] = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.1, ANKLE_Y, 0)
        knee = ankle + _v(0, SHIN, 0)
        hip = knee + THIGH * _v(0, -np.cos(k), -np.sin(k))
        hip[0] = s * HIP_HALF
        pts[f"{side}_ankle"], pts[f"{side}_knee"], pts[f"{side}_hip"] = ankle, knee, hip
    up = _v(0, np.cos(lean), np.sin(lean))
    mh = (pts["left_hip"] + pts["right_hip"]) / 2
    for side, s in (("left", 1), ("right", -1)):
        pts[f"{side}_shoulder"] = mh + TRUNK * up + _v(s * SHOULDER_HALF, 0, 0)
        _straight_arm(pts, side, _v(0, -1, 0.3), elbow_deg=160)
    _head(pts, up, _v(0, 0, 1))
    return pts


def _pose_wall_sit(q: float, p: dict[str, float], i: int) -> dict[str, np.ndarray]:
    return _blend(_standing(), _wall_sit_shape(p), q)


POSES: dict[str, Pose] = {
    "burpee": _pose_burpee,
    "high_knees": _pose_high_knees,
    "step_up": _pose_step_up,
    "alternating_lunge": _pose_alternating_lunge,
    "single_leg_deadlift": _pose_single_leg_deadlift,
    "glute_bridge": _pose_glute_bridge,
    "side_plank": _pose_side_plank,
    "wall_sit": _pose_wall_sit,
}


# -- timeline and keypoints ---------------------------------------------------------------------


def _timeline(kind: str, durations: list[float], fps: float, pause_s: float):
    """Per frame: (t_s, q, segment index or -1), plus each segment's (start, turn, end)."""
    segs, t = [], LEAD_S
    for i, d in enumerate(durations):
        last = i == len(durations) - 1
        if kind == "rep":
            segs.append((t, t + d / 2, t + d))
            t += d + (0 if last else pause_s)
        else:
            start = t + TRANSITION_S
            segs.append((start, start + d / 2, start + d))
            t = start + d + TRANSITION_S + (0 if last else pause_s)
    times = np.arange(int(np.floor((t + LEAD_S) * fps)) + 1) / fps
    q, idx = np.zeros(len(times)), np.full(len(times), -1)
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


def generate_exercise(
    exercise: str,
    *,
    reps: int = 5,
    holds: int = 1,
    view: str = "side",
    fps: float = 30.0,
    width: int = 1280,
    height: int = 720,
    noise_px: float = 0.0,
    seed: int = 0,
    track_id: int = 0,
    **params: float | Sequence[float],
) -> SyntheticClip:
    """One person doing ``exercise`` (see :data:`EXERCISES`), with its truth.

    Arguments as for `analysis.testing.synthetic.generate_clip` (``params``: the planted values
    of :data:`DEFAULTS`, a scalar for every rep / hold or one value each). Noise is Gaussian
    (pixels) on the raw points and the points are not smoothed: the rule files' own smoothing
    is what these clips exercise.
    """
    if exercise not in DEFAULTS:
        raise ValueError(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    if view not in VIEW_YAW:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(VIEW_YAW)}")
    defaults = DEFAULTS[exercise]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(f"{exercise}: unknown parameter(s) {unknown}; known: {sorted(defaults)}")
    kind = "hold" if exercise in HOLD_EXERCISES else "rep"
    n = int(holds if kind == "hold" else reps)
    values = {k: _per_rep(params.get(k, v), n, k) for k, v in defaults.items()}
    pause = PAUSE_S.get(exercise, DEFAULT_PAUSE_S)
    times, q, idx, segs = _timeline(kind, values["hold_s" if kind == "hold" else "tempo_s"], fps,
                                    pause)  # fmt: skip
    pose, base = POSES[exercise], {k: v[0] for k, v in values.items()}
    body = np.empty((len(times), len(COCO17), 2))
    for f, (qf, i) in enumerate(zip(q, idx, strict=True)):
        pv = {k: v[i] for k, v in values.items()} if i >= 0 else base
        body[f] = _project(pose(float(qf), pv, max(int(i), 0)), VIEW_YAW[view])

    # Lying bodies fit the frame's width, as in synthetic.generate_clip.
    scale = 0.75 * height
    if exercise in ("burpee", "glute_bridge", "side_plank"):
        scale = min(scale, 0.8 * width)
    # Not smoothed: the rule files' own smoothing is what these clips exercise.
    clip = clip_from_body(
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
        dropout=0.0,
        seed=seed,
        smooth=False,
        track_id=track_id,
        params={"noise_px": noise_px, "seed": seed, **base},
    )
    if exercise not in ALTERNATING:
        return clip
    sides = ["left" if k % 2 == 0 else "right" for k in range(len(clip.truth.reps))]
    return replace(clip, truth=replace(clip.truth, reps=clip.truth.reps.assign(side=sides)))
