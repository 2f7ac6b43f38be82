"""Generated yoga flows: a sequence of held poses with transitions, and its exact truth.

The body, posing helpers and camera of `analysis.testing.synthetic` (orthographic views, a body of
height 1). A flow is a list of `Step`: a pose of :data:`POSES`, how long it is held and its
planted values (a fault: e.g. Warrior II's ``front_knee_deg`` 130 instead of 95). The camera
stays where it is and the person turns, as in a class: each pose is drawn in its own view
(:data:`POSE_VIEW`: the standing poses whose legs spread sideways face the camera, Warrior I,
Pyramid, Chair, Downward Dog and Cobra are seen from the side), unless the step gives a view.

Between two poses the projected points move from one to the other over ``transition_s`` (eased,
so the body is still at both ends); the flow starts and ends standing (Mountain pose, no pose
of the library). The truth has one row per held pose: its pose, start, end and duration (the
frames where the body is still in the pose) and its planted values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
    Truth,
    _dog_pose,
    _ease,
    _head,
    _ik,
    _project,
    _standing,
    _straight_arm,
    _tree_pose,
    _v,
    clip_from_body,
)
from posecoach.schema import COCO17

Points = dict[str, np.ndarray]

#: Planted values of a good pose. front_knee_deg / back_knee_deg: the knees' angles; stance: the
#: distance between the ankles (body heights); lean_deg: the trunk's tilt from vertical towards
#: the front leg (negative: towards the back leg); arm_drop_deg: Warrior II's arms below
#: horizontal; depth (tree: standing knee; downward dog: hip angle), knee_deg (downward dog),
#: trunk_lean_deg (tree) as in `analysis.testing.synthetic`; lift_deg: Cobra's chest above the
#: floor (trunk to horizontal).
DEFAULTS: dict[str, dict[str, float]] = {
    "warrior_i": {"front_knee_deg": 100.0, "stance": 0.62, "lean_deg": 0.0},
    "warrior_ii": {"front_knee_deg": 95.0, "stance": 0.62, "arm_drop_deg": 0.0, "lean_deg": 0.0},
    "reverse_warrior": {"front_knee_deg": 100.0, "stance": 0.62, "lean_deg": -30.0},
    "side_angle": {"front_knee_deg": 95.0, "stance": 0.66, "lean_deg": 60.0},
    "triangle": {"front_knee_deg": 176.0, "stance": 0.62, "lean_deg": 65.0},
    "pyramid": {"front_knee_deg": 176.0, "back_knee_deg": 176.0, "stance": 0.4, "lean_deg": 85.0},
    "tree": {"depth": 178.0, "trunk_lean_deg": 0.0},
    "downward_dog": {"depth": 90.0, "knee_deg": 175.0},
    "chair": {"front_knee_deg": 110.0, "lean_deg": 30.0},
    "cobra": {"lift_deg": 35.0, "elbow_deg": 160.0},
}
POSE_VIEW: dict[str, str] = {
    "warrior_i": "side", "warrior_ii": "front", "reverse_warrior": "front",
    "side_angle": "front", "triangle": "front", "pyramid": "side", "tree": "front",
    "downward_dog": "side", "chair": "side", "cobra": "side",
}  # fmt: skip
#: The standing flow of issue 14 (Warrior II, Reverse Warrior, Side Angle, Triangle, Pyramid).
STANDING_FLOW = ("warrior_ii", "reverse_warrior", "side_angle", "triangle", "pyramid")
TRANSITION_S, LEAD_S = 1.0, 1.0


@dataclass(frozen=True)
class Step:
    """One held pose of a flow: the pose, its hold (seconds), planted values, view."""

    pose: str
    hold_s: float = 3.0
    params: dict[str, float] = field(default_factory=dict)
    view: str | None = None  # default: the pose's own (POSE_VIEW)
    side: str = "left"  # the leg in front (the lifted one for tree): left or right


# -- poses --------------------------------------------------------------------------------------


def _chain(k_deg: float) -> float:
    """Hip-to-ankle distance of a leg whose knee is at ``k_deg``."""
    return float(np.sqrt(THIGH**2 + SHIN**2 - 2 * THIGH * SHIN * np.cos(np.radians(k_deg))))


def _stance(p: dict[str, float], lateral: bool) -> Points:
    """Legs of a split stance: the front (left) foot ``stance`` ahead of the back (right) one,
    sideways (``lateral``: Warrior II and its family, a front view shows it) or forwards (Warrior
    I, Pyramid: a side view shows it); pelvis level, the back knee at ``back_knee_deg``."""
    axis = _v(1, 0, 0) if lateral else _v(0, 0, 1)
    half = HIP_HALF * axis if lateral else _v(HIP_HALF, 0, 0)
    front_ankle = _v(0, ANKLE_Y, 0) + p["stance"] / 2 * axis + (0 if lateral else 1) * half
    back_ankle = _v(0, ANKLE_Y, 0) - p["stance"] / 2 * axis - (0 if lateral else 1) * half
    d_front, d_back = _chain(p["front_knee_deg"]), _chain(p.get("back_knee_deg", 178.0))
    # The mid-hip: d_back from the back ankle (moved by the half pelvis), d_front from the front.
    mid = _ik(back_ankle + half, front_ankle - half, d_back, d_front, _v(0, 1, 0))
    pts = {"left_ankle": front_ankle, "right_ankle": back_ankle,
           "left_hip": mid + half, "right_hip": mid - half}  # fmt: skip
    pts["left_knee"] = _ik(pts["left_hip"], front_ankle, THIGH, SHIN, axis)
    pts["right_knee"] = _ik(pts["right_hip"], back_ankle, THIGH, SHIN, axis)
    return pts


def _trunk(pts: Points, lean_deg: float, lateral: bool) -> tuple[np.ndarray, np.ndarray]:
    """Shoulders over the mid-hip, the trunk tilted ``lean_deg`` towards the front foot; returns
    the trunk's up direction and the direction across the shoulders (the person's left)."""
    lean = np.radians(lean_deg)
    axis = _v(1, 0, 0) if lateral else _v(0, 0, 1)
    up = np.cos(lean) * _v(0, 1, 0) + np.sin(lean) * axis
    across = _v(np.cos(lean), -np.sin(lean), 0) if lateral else _v(1, 0, 0)
    ms = (pts["left_hip"] + pts["right_hip"]) / 2 + TRUNK * up
    pts["left_shoulder"], pts["right_shoulder"] = (
        ms + SHOULDER_HALF * across,
        ms - SHOULDER_HALF * across,
    )
    return up, across


def _pose_lateral(name: str, p: dict[str, float]) -> Points:
    pts = _stance(p, lateral=True)
    up, across = _trunk(pts, p["lean_deg"], lateral=True)
    if name == "warrior_ii":
        drop = np.radians(p["arm_drop_deg"])
        arms = {
            "left": _v(np.cos(drop), -np.sin(drop), 0),
            "right": _v(-np.cos(drop), -np.sin(drop), 0),
        }
    elif name == "reverse_warrior":  # front arm up and back over the head, back hand on the leg
        arms = {"left": up - 0.2 * across, "right": _v(-0.3, -1, 0)}
    elif name == "side_angle":  # bottom hand to the front shin, top arm over the ear
        arms = {"left": _v(0.05, -1, 0), "right": up - 0.5 * across}
    else:  # triangle: one line from the bottom hand to the top hand, perpendicular to the floor
        arms = {"left": _v(0, -1, 0), "right": _v(0, 1, 0)}
    for side, direction in arms.items():
        _straight_arm(pts, side, direction, elbow_deg=176)
    _head(pts, up, _v(0, 0, 1))
    return pts


def _pose_sagittal(name: str, p: dict[str, float]) -> Points:
    pts = _stance(p, lateral=False)
    up, _ = _trunk(pts, p["lean_deg"], lateral=False)
    arm = up if name == "warrior_i" else _v(0, -1, 0.15)  # Pyramid: hands towards the floor
    for side in ("left", "right"):
        _straight_arm(pts, side, arm, elbow_deg=176)
    _head(pts, up, np.cross(_v(1, 0, 0), up))
    return pts


def _pose_chair(p: dict[str, float]) -> Points:
    k = 180 - p["front_knee_deg"]
    phi_s, phi_t = np.radians(0.4 * k), np.radians(0.6 * k)
    pts: Points = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.06, ANKLE_Y, 0)
        knee = ankle + SHIN * _v(0, np.cos(phi_s), np.sin(phi_s))
        hip = knee + THIGH * _v(0, np.cos(phi_t), -np.sin(phi_t))
        hip[0] = s * HIP_HALF
        pts[f"{side}_ankle"], pts[f"{side}_knee"], pts[f"{side}_hip"] = ankle, knee, hip
    up, _ = _trunk(pts, p["lean_deg"], lateral=False)
    for side in ("left", "right"):
        _straight_arm(pts, side, up, elbow_deg=176)
    _head(pts, up, np.cross(_v(1, 0, 0), up))
    return pts


def _pose_cobra(p: dict[str, float]) -> Points:
    lift = np.radians(p["lift_deg"])
    pts: Points = {}
    for side, s in (("left", 1), ("right", -1)):
        ankle = _v(s * 0.07, 0.03, 0)
        hip = _v(s * HIP_HALF, 0.07, SHIN + THIGH)
        pts[f"{side}_ankle"], pts[f"{side}_hip"] = ankle, hip
        pts[f"{side}_knee"] = ankle + SHIN / (SHIN + THIGH) * (hip - ankle)
        shoulder = hip + TRUNK * _v(0, np.sin(lift), np.cos(lift))
        shoulder[0] = s * SHOULDER_HALF
        hand = _v(s * 0.14, 0.02, shoulder[2] + 0.02)
        pts[f"{side}_shoulder"], pts[f"{side}_wrist"] = shoulder, hand
        pts[f"{side}_elbow"] = _ik(shoulder, hand, UPPER_ARM, FOREARM, _v(0, 0, -1))
    _head(pts, pts["left_shoulder"] - pts["left_hip"], _v(0, 0.3, 1))
    return pts


POSES: dict[str, Callable[[dict[str, float]], Points]] = {
    "warrior_i": lambda p: _pose_sagittal("warrior_i", p),
    "warrior_ii": lambda p: _pose_lateral("warrior_ii", p),
    "reverse_warrior": lambda p: _pose_lateral("reverse_warrior", p),
    "side_angle": lambda p: _pose_lateral("side_angle", p),
    "triangle": lambda p: _pose_lateral("triangle", p),
    "pyramid": lambda p: _pose_sagittal("pyramid", p),
    "tree": _tree_pose,
    "downward_dog": _dog_pose,
    "chair": _pose_chair,
    "cobra": _pose_cobra,
}


def _mirrored(pts: Points) -> Points:
    """The pose done on the other side: left and right swapped, mirrored across the midline."""
    swap = {"left": "right", "right": "left"}
    out = {}
    for name, p in pts.items():
        side, _, rest = name.partition("_")
        key = f"{swap[side]}_{rest}" if side in swap else name
        out[key] = p * np.array([-1.0, 1.0, 1.0])
    return out


def pose_points(
    pose: str, view: str | None = None, side: str = "left", **params: float
) -> np.ndarray:
    """(17, 2) image-plane points (body units, v up) of one pose in a view (default its own),
    the ``side`` leg in front."""
    if pose not in POSES:
        raise ValueError(f"unknown pose {pose!r}; known: {', '.join(POSES)}")
    unknown = sorted(set(params) - set(DEFAULTS[pose]))
    if unknown:
        raise ValueError(f"{pose}: unknown parameter(s) {unknown}; known: {sorted(DEFAULTS[pose])}")
    pts = POSES[pose]({**DEFAULTS[pose], **params})
    if side not in ("left", "right"):
        raise ValueError(f"side {side!r}: left or right")
    pts = _mirrored(pts) if side == "right" else pts
    return _project(pts, VIEW_YAW[view or POSE_VIEW[pose]])


# -- the flow ----------------------------------------------------------------------------------


def generate_flow(
    steps: Sequence[Step | str],
    *,
    fps: float = 30.0,
    width: int = 1280,
    height: int = 720,
    noise_px: float = 0.0,
    transition_s: float = TRANSITION_S,
    ease: bool = True,
    seed: int = 0,
    track_id: int = 0,
) -> SyntheticClip:
    """A yoga flow: ``steps`` held in order (a pose name: held 3 s, its defaults), with truth.

    ``truth.holds``: one row per step (hold_index, pose, view, start_s, turn_s, end_s,
    duration_s and the planted values). Noise is Gaussian on the raw points (pixels); the
    points are smoothed by the engine's smoother when there is noise, as the engine does.
    ``ease``: transitions start and stop smoothly (half a cosine), as a body does; otherwise
    at a constant speed, so that the moment a hold starts and ends is sharp (exact tests).
    """
    flow = [s if isinstance(s, Step) else Step(s) for s in steps]
    shapes = [_project(_standing(), VIEW_YAW[POSE_VIEW[flow[0].pose]])]
    shapes += [pose_points(s.pose, s.view, s.side, **s.params) for s in flow]
    shapes.append(_project(_standing(), VIEW_YAW[POSE_VIEW[flow[-1].pose]]))
    # Key times: standing until LEAD_S, then per pose a transition in and the hold.
    keys, t = [(0.0, LEAD_S)], LEAD_S
    for s in flow:
        keys.append((t + transition_s, t + transition_s + s.hold_s))
        t += transition_s + s.hold_s
    keys.append((t + transition_s, t + transition_s + LEAD_S))
    times = np.arange(int(np.floor(keys[-1][1] * fps)) + 1) / fps
    body = np.empty((len(times), len(COCO17), 2))
    for f, tf in enumerate(times):
        k = next((i for i, (a, b) in enumerate(keys) if tf <= b), len(keys) - 1)
        a = keys[k][0]
        if tf >= a or k == 0:
            body[f] = shapes[k]
        else:  # moving from shape k-1 (held until keys[k-1][1]) to shape k
            u = (tf - keys[k - 1][1]) / (a - keys[k - 1][1])
            u = float(_ease(np.array(u))) if ease else u
            body[f] = (1 - u) * shapes[k - 1] + u * shapes[k]
    rows = []
    for i, (s, (a, b)) in enumerate(zip(flow, keys[1:-1], strict=True)):
        rows.append({"hold_index": i, "pose": s.pose, "view": s.view or POSE_VIEW[s.pose],
                     "side": s.side,
                     "start_s": a, "turn_s": (a + b) / 2, "end_s": b, "duration_s": b - a,
                     **DEFAULTS[s.pose], **s.params})  # fmt: skip
    clip = clip_from_body(
        body, scale=0.6 * height, times=times, segs=[], values={}, exercise="yoga",
        view=POSE_VIEW[flow[0].pose], kind="hold", fps=fps, width=width, height=height,
        noise_px=noise_px, dropout=0.0, seed=seed, smooth=noise_px > 0, track_id=track_id,
        params={"noise_px": noise_px, "seed": seed, "transition_s": transition_s, "ease": ease},
    )  # fmt: skip
    t0 = clip.truth
    truth = Truth(exercise="yoga", view=t0.view, kind="hold", reps=t0.reps,
                  holds=pd.DataFrame(rows), fps=t0.fps, width=t0.width, height=t0.height,
                  params=t0.params)  # fmt: skip
    return SyntheticClip(keypoints=clip.keypoints, truth=truth)


# -- camera set-ups for the coaching evaluation -------------------------------------------------

#: Flows of the evaluation, with the faults planted on known poses: (hold index, check id) per
#: planted fault, the check named ``pose.check``. The planted values are clear of the check's
#: caution band (Warrior II front knee 140 vs 125 deg, Warrior II arms 50 vs 35 deg below
#: horizontal, Chair trunk 57 vs 50 deg) as far as the pose allows: Side Angle's front knee 132
#: (vs 125) and Triangle's 145 (vs 155) stay on their side of the 140 deg that tells them apart.
FLOWS: dict[str, tuple[tuple[Step, ...], frozenset[tuple[int, str]]]] = {
    "standing": (
        tuple(Step(p, h) for p, h in zip(STANDING_FLOW, (2.5, 4.0, 3.0, 5.0, 3.0), strict=True)),
        frozenset(),
    ),
    "standing faults": (
        (Step("warrior_ii", 3.0, {"front_knee_deg": 140.0}), Step("reverse_warrior", 3.0),
         Step("side_angle", 3.5, {"front_knee_deg": 132.0}),
         Step("triangle", 3.0, {"front_knee_deg": 145.0}), Step("pyramid", 2.5)),
        frozenset({(0, "warrior_ii.front_knee"), (2, "side_angle.front_knee"),
                   (3, "triangle.front_knee")}),
    ),
    "mixed faults": (
        (Step("warrior_i", 3.0), Step("chair", 3.0, {"lean_deg": 57.0}),
         Step("warrior_ii", 4.0, {"arm_drop_deg": 50.0}), Step("tree", 3.0),
         Step("downward_dog", 3.0), Step("cobra", 3.0)),
        frozenset({(1, "chair.trunk_lean"), (2, "warrior_ii.arms_level")}),
    ),
}  # fmt: skip
#: Subject heights (pixels, standing), keypoint jitter (pixels) and frame rates of the grid.
FLOW_BODY_PX, FLOW_JITTER_PX, FLOW_FPS = (250, 400, 600), (1.0, 3.0), (30.0, 60.0)
#: The generator draws the standing body at this share of the frame height.
FLOW_BODY_FRACTION = 0.6


@dataclass(frozen=True)
class FlowScenario:
    """One generated flow as a camera films it (see :data:`FLOWS`)."""

    flow: str
    body_px: int
    jitter_px: float
    fps: float
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.flow} {self.body_px}px jitter={self.jitter_px:g} {self.fps:g}fps"

    @property
    def expected(self) -> frozenset[tuple[int, str]]:
        return FLOWS[self.flow][1]


def build_flow(sc: FlowScenario) -> SyntheticClip:
    """The clip of a flow scenario (eased transitions, as a body moves)."""
    height = int(round(sc.body_px / FLOW_BODY_FRACTION))
    return generate_flow(FLOWS[sc.flow][0], fps=sc.fps, width=int(round(height * 16 / 9)),
                         height=height, noise_px=sc.jitter_px, seed=sc.seed)  # fmt: skip


def flow_grid(quick: bool = False) -> list[FlowScenario]:
    """Every flow at every subject height, jitter and frame rate (quick: 30 fps only)."""
    fps = FLOW_FPS[:1] if quick else FLOW_FPS
    return [FlowScenario(f, b, j, r, seed=i)
            for i, (f, b, j, r) in enumerate(
                (f, b, j, r) for f in FLOWS for b in FLOW_BODY_PX for j in FLOW_JITTER_PX
                for r in fps)]  # fmt: skip
