"""Flows of held poses (a yoga flow): a track split into its poses, each judged by its own file.

A flow is filed under a pose family's name (``yoga``, `rules.loader.Library.family`); its poses
are the rule files whose ``pose.family`` it is. Per frame each pose's conditions are read (its
``hold.position`` and ``pose.identify``, NaN failing): the body enters the pose whose
conditions all hold, none where none or several do (the library's poses are written to exclude
each other, a test keeps them so; two at once is a body between neighbours), and stays in it
while they hold within a margin and no other pose's do (:data:`HYSTERESIS`, `frame_poses`).

Per pose its frames become holds as a single-pose file's do (`rules.reps.find_holds`: drop-outs
up to the file's ``max_gap_s`` bridged, blips under 0.25 s dropped, so a flickering condition
neither ends a hold nor starts one), with the flow's own minimum hold :data:`FLOW_MIN_HOLD_S`.
The hold then starts when the body has settled into the pose and ends when it starts to leave
(`settled_span`: its joints still over a third of a second): in a transition
the body passes the pose's thresholds while still moving, and that time is not held. Time in no pose (transitions, standing) is no hold.

Each hold is one ``reps`` row (``kind='hold'``, ``rule_id`` the pose's) with its hold and target
time, judged by its pose's checks (`rules.checks`, the ``hold`` phase: the median over the hold's
frames in the pose). It is judged in the pose's own view (a declared view wins): a pose is only
recognised from the view its conditions are written for (Warrior II's stance is ankle_spread
above 1.8 torso lengths, seen only from the front), while the yaw estimate of a trunk tilted
sideways (Triangle) reads oblique.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.kinematics.features import GRID_COLUMNS, track_features, track_grid
from posecoach.keypoints import KeyPoints
from posecoach.schema import KEYPOINT_INDEX
from rules.checks import evaluate_check
from rules.records import Finding, Rep
from rules.reps import Segment, conditions_mask, find_holds, frame_rate
from rules.specs import VIEWS, Condition, MetricSpec, RuleFile
from rules.uncertainty import TrackNoise
from rules.view_findings import rep_view_findings

#: The shortest held pose of a flow, seconds. Flows hold a pose for a few breaths (issue 14: 2.5
#: to 5 s); a transition between poses takes about a second and may pass through a third pose's
#: region (Warrior II to Side Angle tilts the trunk through Reverse Warrior's range): 1.5 s is
#: longer than that passage and shorter than the shortest hold less the frames its edges lose.
FLOW_MIN_HOLD_S = 1.5
#: How far past a condition's threshold a body that is in a pose may go and stay in it, per
#: unit: 5 deg (about the 2D angles' frame-to-frame noise at 250 px with 3 px of jitter) and 0.1
#: torso lengths (about 3 px of jitter on a 30 px torso, doubled).
HYSTERESIS = {"deg": 5.0, "torso": 0.1}
#: The body is settled while its limb joints move less than this many torso lengths over
#: SETTLE_WINDOW_S (median over the joints), or SETTLED_JITTER times their jitter where the
#: keypoints are noisier: a transition moves them one or two torso lengths in about a second,
#: so a hold starts and ends within a few frames of the moment the body arrives and leaves.
SETTLED_TORSO = 0.02
SETTLED_JITTER = 1.5
SETTLE_WINDOW_S = 0.3
#: The joints whose speed says whether the body moves (the face is left out: it turns freely).
_LIMBS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def flow_metrics(poses: Sequence[RuleFile]) -> dict[str, MetricSpec]:
    """The metrics the poses define, together; a name two files define differently raises."""
    out: dict[str, MetricSpec] = {}
    for rule in poses:
        for name, spec in rule.metrics.items():
            if name in out and out[name] != spec:
                raise ValueError(f"pose files define metric {name!r} differently ({rule.path})")
            out[name] = spec
    return out


def flow_features(
    track: KeyPoints, poses: Sequence[RuleFile], fps: float | None = None
) -> pd.DataFrame:
    """A track's features with every pose's own metrics (`flow_metrics`)."""
    min_score = min((r.min_score for r in poses), default=0.3)
    return track_features(track, fps, definitions=flow_metrics(poses), min_score=min_score)


def pose_conditions(rule: RuleFile) -> tuple[Condition, ...]:
    """What identifies a pose in a flow: its hold's position and its ``pose.identify``."""
    assert rule.hold is not None
    return (*rule.hold.position, *(rule.pose.identify if rule.pose else ()))


def relaxed(conditions: Sequence[Condition], rule: RuleFile) -> tuple[Condition, ...]:
    """The conditions widened by :data:`HYSTERESIS` in their metric's unit: what keeps a body
    in a pose it has entered."""
    out = []
    for c in conditions:
        m = HYSTERESIS.get(rule.metric_unit(c.metric), 0.0)
        out.append(Condition(c.metric, None if c.above is None else c.above - m,
                             None if c.below is None else c.below + m))  # fmt: skip
    return tuple(out)


def frame_poses(poses: Sequence[RuleFile], metrics: dict[str, np.ndarray]) -> np.ndarray:
    """Per frame, the index in ``poses`` of its pose; -1 for none.

    A body enters a pose where that pose's conditions, and no other's, all hold; it stays in it
    while the conditions widened by :data:`HYSTERESIS` hold (`relaxed`) and no other pose's
    do, so a value hovering at a threshold (a trunk leaning about 15 deg in Warrior II) does
    not drop the pose from frame to frame.
    """
    if not poses:
        return np.full(len(next(iter(metrics.values()))), -1)
    enter = np.stack([conditions_mask(pose_conditions(p), metrics) for p in poses])
    stay = np.stack([conditions_mask(relaxed(pose_conditions(p), p), metrics) for p in poses])
    unique = np.where(enter.sum(axis=0) == 1, np.argmax(enter, axis=0), -1)
    labels = np.full(enter.shape[1], -1)
    current = -1
    for t in range(enter.shape[1]):
        # Another pose whose own conditions hold takes over: the margin bridges a pose and no
        # pose, not two poses (their boundary is one threshold, e.g. the front knee at 140 deg
        # between Side Angle and Triangle, and a pose held near it must not keep its neighbour).
        if unique[t] >= 0 or current < 0 or not stay[current, t]:
            current = int(unique[t])
        labels[t] = current
    return labels


def _limbs(grid: KeyPoints, min_score: float) -> np.ndarray:
    """(N, 12, 2) pixel coordinates of the limb joints, NaN where missing."""
    idx = [KEYPOINT_INDEX[f"{s}_{j}"] for j in _LIMBS for s in ("left", "right")]
    xy = grid.xy[:, idx].astype(np.float64)
    with np.errstate(invalid="ignore"):
        xy[~(grid.scores[:, idx].astype(np.float64) >= min_score)] = np.nan
    return xy


def settled_span(
    seg: Segment, limbs: np.ndarray, noise: TrackNoise, fps: float
) -> tuple[int, int] | None:
    """The part of a hold in which the body is settled: from the first frame after which the
    limb joints stay put for :data:`SETTLE_WINDOW_S` to the last frame before which they did.

    "Put": their median displacement over the window is at most :data:`SETTLED_TORSO` torso
    lengths, or :data:`SETTLED_JITTER` times the joints' jitter where that is more. Only the
    ends matter, so a hold whose shape changes slowly in the middle (the arms sinking) stays one
    hold. The whole hold where the body is not measured; None where it never settles.
    """
    w = max(1, int(round(SETTLE_WINDOW_S * fps)))
    torso = noise.torso_px
    if seg.end - seg.start < w or not np.isfinite(torso) or torso <= 0:
        return seg.start, seg.end
    xy = limbs[seg.start : seg.end + 1]
    step = xy[w:] - xy[:-w]  # row i: from frame start + i to start + i + w
    with warnings.catch_warnings():  # a frame with no joint seen is NaN, as meant
        warnings.simplefilter("ignore", RuntimeWarning)
        moved = np.nanmedian(np.hypot(step[..., 0], step[..., 1]), axis=1) / torso
    if not np.isfinite(moved).any():
        return seg.start, seg.end
    idx = [KEYPOINT_INDEX[f"{s}_{j}"] for j in _LIMBS for s in ("left", "right")]
    limit = max(SETTLED_TORSO, SETTLED_JITTER * float(np.median(noise.jitter[idx])) / torso)
    with np.errstate(invalid="ignore"):
        still = np.flatnonzero(moved <= limit)
    if not still.size:
        return None
    return seg.start + int(still[0]), seg.start + w + int(still[-1])


def flow_holds(
    poses: Sequence[RuleFile], metrics: dict[str, np.ndarray], t_s: np.ndarray,
    body: tuple[np.ndarray, TrackNoise] | None = None,
) -> list[tuple[RuleFile, Segment, np.ndarray]]:  # fmt: skip
    """The held poses of a track in time order: (pose file, hold, per frame in that pose).

    ``body``: the limb joints per frame (`_limbs`) and the track's noise, to trim each hold to
    the body settled in it (`settled_span`); without it a hold is all its frames in the pose.
    """
    fps = frame_rate(t_s)
    labels = frame_poses(poses, metrics) if poses else np.full(len(t_s), -1)
    found = []
    for k, rule in enumerate(poses):
        assert rule.hold is not None
        in_pose = labels == k
        if not in_pose.any():
            continue
        in_target = known = None
        if rule.hold.target:
            in_target = conditions_mask(rule.hold.target, metrics)
            known = np.logical_and.reduce(
                [np.isfinite(metrics[c.metric]) for c in rule.hold.target]
            )
        spec = dataclasses.replace(rule.hold, min_hold_s=FLOW_MIN_HOLD_S)
        for seg in find_holds(in_pose, in_target, t_s, spec, None, known):
            span = settled_span(seg, *body, fps) if body is not None else (seg.start, seg.end)
            if span is None or (span[1] - span[0] + 1) / fps < FLOW_MIN_HOLD_S:
                continue
            a, b = span
            target_s = seg.in_target_s
            if in_target is not None and known is not None and known[a : b + 1].any():
                on = in_target[a : b + 1] & known[a : b + 1]
                target_s = (b - a + 1) / fps * float(on.sum()) / float(known[a : b + 1].sum())
            elif in_target is None:
                target_s = (b - a + 1) / fps
            seg = dataclasses.replace(seg, start=a, end=b, turn=(a + b) // 2, rest_before=a,
                                      rest_after=b, in_target_s=target_s)  # fmt: skip
            found.append((rule, seg, in_pose))
    found.sort(key=lambda f: f[1].start)
    # Holds of two poses cannot overlap (a frame has one pose, bridged gaps are shorter than a
    # hold); should a bridge reach into the next hold, the earlier one ends before it.
    out: list[tuple[RuleFile, Segment, np.ndarray]] = []
    for rule, seg, mask in found:
        if out and seg.start <= out[-1][1].end:
            prev_rule, prev, prev_mask = out[-1]
            cut = seg.start - 1
            if cut <= prev.start:
                continue
            out[-1] = (prev_rule, dataclasses.replace(prev, end=cut, rest_after=cut,
                                                      turn=(prev.start + cut) // 2), prev_mask)  # fmt: skip
        out.append((rule, seg, mask))
    return out


def score_flow_track(
    track: KeyPoints,
    poses: Sequence[RuleFile],
    track_id: int,
    fps: float | None = None,
    features: pd.DataFrame | None = None,
    declared_view: str | None = None,
) -> tuple[list[Rep], list[Finding]]:
    """(reps, findings) of one track of a flow: one hold per held pose, judged by its file.

    ``features``: the track's `flow_features` when the caller has them already.
    ``declared_view``: a declared camera view, which every hold is judged in (otherwise each
    pose's own: see the module docstring).
    """
    grid = features if features is not None else flow_features(track, poses, fps)
    t_s = grid["t_s"].to_numpy(np.float64)
    frames = grid["frame"].to_numpy()
    metrics = {c: grid[c].to_numpy(np.float64) for c in grid.columns if c not in GRID_COLUMNS}
    min_score = min((r.min_score for r in poses), default=0.3)
    kp_grid = track_grid(track, fps)
    noise = TrackNoise.of(kp_grid, min_score)
    reps: list[Rep] = []
    findings: list[Finding] = []
    rate = frame_rate(t_s)
    for i, (rule, seg, in_pose) in enumerate(
        flow_holds(poses, metrics, t_s, (_limbs(kp_grid, min_score), noise))
    ):
        view = declared_view if declared_view in VIEWS else rule.views[0]
        rows = [evaluate_check(c, seg, i, rule, grid, metrics, view, track_id, in_pose, noise)
                for c in rule.checks if view in c.views]  # fmt: skip
        findings += rows
        findings += rep_view_findings(rule, seg, i, view, VIEWS, t_s, track_id)
        flagged = [r.severity for r in rows if r.severity in _RANK]
        worst = max(flagged, key=_RANK.__getitem__) if flagged else "ok"
        reps.append(Rep.from_segment(seg, i, frames, t_s, rate, track_id=track_id, rule=rule,
                                     worst_severity=worst, view=view))  # fmt: skip
    return reps, findings


_RANK = {s: i for i, s in enumerate(("ok", "info", "caution", "risk"))}
