"""An online counter's frames and the judging of a rep (or hold) once it has ended.

`rules.online.OnlineCounter` keeps the frames of the current rep as `Sample`s; when a rep ends,
`judge` evaluates every check of the view over them with `rules.checks.evaluate_check`, the
offline path's function, on the same inputs the offline path builds for a whole track (the
frames' grid, each metric as an array, the rep signal, the side of a one-sided rep, the
keypoints' jitter), so its findings are those of the offline path wherever the rep's bounds and
the metrics are the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from posecoach.keypoints import KeyPoints
from rules.checks import evaluate_check
from rules.online_records import LiveRep
from rules.reps import Segment, rep_side
from rules.schema import RuleFile
from rules.specs import CheckSpec
from rules.uncertainty import TrackNoise


@dataclass
class Sample:
    """One frame of a track as the counter keeps it."""

    frame: int
    t_s: float
    metrics: dict[str, float]
    row: KeyPoints | None  # None: fed metrics only
    raw: float = math.nan  # the turned signal
    smooth: float = math.nan  # ... smoothed (NaN until its window is complete)


def judge(
    rule: RuleFile,
    view: str,
    track_id: int,
    checks: Sequence[CheckSpec],
    names: Sequence[str],
    samples: Sequence[Sample],
    first: int,
    seg: Segment,
    index: int,
    turn: float,
) -> LiveRep:
    """The rep (hold) ``seg`` (sample indices; ``samples[0]`` is index ``first``), the
    ``index``-th of its track: its side and its checks' findings, as offline. ``names``: the
    metrics the samples hold, the checks read. ``turn``: the
    sign that made the rule's turn a peak of the samples' smoothed signal."""
    off = first
    local = Segment(seg.kind, seg.start - off, seg.turn - off, seg.end - off,
                    seg.rest_before - off, seg.rest_after - off, math.nan, math.nan)  # fmt: skip
    grid = pd.DataFrame({"frame": [s.frame for s in samples], "t_s": [s.t_s for s in samples]})
    metrics = {n: np.array([s.metrics[n] for s in samples], dtype=np.float64) for n in names}
    in_position = signal = None
    hold, spec = rule.hold, rule.reps
    if hold is not None:
        in_position = np.logical_and.reduce(
            [np.array([c.holds(v) for v in metrics[c.metric]]) for c in hold.position]
        )
    elif spec is not None:
        signal = turn * np.array([s.smooth for s in samples], dtype=np.float64)
        if spec.side is not None:
            side = rep_side(local, metrics[spec.side.left], metrics[spec.side.right],
                            spec.side.pick)  # fmt: skip
            local = Segment(**{**local.__dict__, "side": side})
    noise = None
    rows = [s.row for s in samples]
    if all(r is not None for r in rows):  # fed keypoints, not only metrics
        grid_kp = KeyPoints.concat(r for r in rows if r is not None)
        noise = TrackNoise.of(grid_kp, rule.min_score)
    findings = tuple(
        evaluate_check(c, local, index, rule, grid, metrics, view, track_id, in_position,
                       noise, signal)
        for c in checks
    )  # fmt: skip
    return LiveRep(
        kind=seg.kind,
        index=index,
        start_frame=samples[local.start].frame,
        turn_frame=samples[local.turn].frame,
        end_frame=samples[local.end].frame,
        start_s=samples[local.start].t_s,
        turn_s=samples[local.turn].t_s,
        end_s=samples[local.end].t_s,
        side=local.side,
        in_target_s=local.in_target_s,
        findings=findings,
    )
