"""The metric series a chart plots and the joints a finding is about, via `analysis.kinematics`.

A finding names its metric (``knee_angle_left_deg``); the chart recomputes that metric over the
whole track from the stored keypoints with the same kinematics the rules used, so that a coach
sees the value's course around the flagged moment, not only the flagged number. Metrics a rule
file defines itself (not standard features) cannot be recomputed here: the chart then shows the
findings' values only.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from posecoach.schema import COCO17

_SIDES = ("left", "right")
# Fallback for metric names kinematics does not know: joints named in the metric -> keypoints.
_JOINT_WORDS: dict[str, tuple[str, ...]] = {
    "knee": ("hip", "knee", "ankle"),
    "fppa": ("hip", "knee", "ankle"),
    "valgus": ("hip", "knee", "ankle"),
    "hip": ("shoulder", "hip", "knee"),
    "elbow": ("shoulder", "elbow", "wrist"),
    "shoulder": ("hip", "shoulder", "elbow"),
    "ankle": ("knee", "ankle"),
    "shin": ("knee", "ankle"),
    "thigh": ("hip", "knee"),
    "trunk": ("shoulder", "hip"),
    "torso": ("shoulder", "hip"),
    "back": ("shoulder", "hip"),
    "arm": ("shoulder", "elbow", "wrist"),
    "wrist": ("elbow", "wrist"),
    "body": ("shoulder", "hip", "ankle"),
    "sag": ("shoulder", "hip", "ankle"),
    "depth": ("hip", "knee", "ankle"),
    "head": ("nose", "shoulder"),
    "neck": ("nose", "shoulder"),
}


def _kinematics():
    try:
        from analysis import kinematics
    except ImportError:  # the analysis package is optional for reading reports
        return None
    return kinematics


def _expand_point(name: str) -> set[str]:
    kin = _kinematics()
    mids = getattr(kin, "MID_POINTS", {}) if kin else {}
    if name in mids:
        return set(mids[name])
    return {name} if name in COCO17 else set()


@cache
def metric_keypoints(metric: str) -> frozenset[str]:
    """The COCO-17 keypoints a metric is computed from (mid-points as both sides).

    Uses the feature definitions of `analysis.kinematics`; for other names, the joints and
    side named in the metric (``lunge_front_knee_deg`` -> both hips, knees and ankles). Empty
    when nothing is recognised.
    """
    kin = _kinematics()
    if kin is not None:
        specs = getattr(kin, "FEATURE_SPECS", {})
        derived = getattr(kin, "_DERIVED", {})
        if metric in specs:
            return frozenset().union(*(_expand_point(p) for p in specs[metric][1]))
        if metric in derived:
            return frozenset().union(*(metric_keypoints(m) for m in derived[metric][1]))
    words = set(re.split(r"[^a-z]+", metric.lower()))
    sides = [s for s in _SIDES if s in words] or list(_SIDES)
    out: set[str] = set()
    for word, joints in _JOINT_WORDS.items():
        if word in words:
            out.update(f"{s}_{j}" if j != "nose" else "nose" for s in sides for j in joints)
    return frozenset(out & set(COCO17))


def metric_series(track: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per-frame values of the named metrics over one track's keypoint rows.

    Returns a DataFrame with ``frame``, ``t_s`` and one column per metric that
    `analysis.kinematics` can compute (others are left out); values are NaN where a keypoint
    was missing. Rows are the track's rows sorted by frame.
    """
    track = track.sort_values("frame", kind="stable").reset_index(drop=True)
    out = pd.DataFrame({"frame": track["frame"].to_numpy(), "t_s": track["t_s"].to_numpy()})
    kin = _kinematics()
    if kin is None or not len(track):
        return out
    known = set(getattr(kin, "FEATURE_NAMES", ()))
    wanted = [m for m in dict.fromkeys(metrics) if m in known]
    if not wanted:
        return out
    table = kin.features(track, names=wanted)
    for m in wanted:
        out[m] = np.asarray(table[m], dtype=np.float64)
    return out
