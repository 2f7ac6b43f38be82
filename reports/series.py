"""The metric series a chart plots and the joints a finding is about, via `analysis.kinematics.angles`.

A finding names its metric (``knee_angle_left_deg``); the chart recomputes that metric over the
whole track from the stored keypoints with the same kinematics the rules used, so that a coach
sees the value's course around the flagged moment, not only the flagged number. With the rule
file that scored the video (`RuleContext`, from the rule library), metrics the file defines
itself, the rep signal of the track's camera view and the exact threshold bands come from it;
without one, standard features are recomputed and bands read off the findings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

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
        from analysis.kinematics import angles as kinematics
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

    Uses the feature definitions of `analysis.kinematics.angles`; for other names, the joints and
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
    `analysis.kinematics.angles` can compute (others are left out); values are NaN where a keypoint
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


def _rules():
    try:
        from rules import loader, scoring
    except ImportError:  # reports work from the store alone when the rules package is absent
        return None
    return loader, scoring


@cache
def _library(rules_dir: str | None) -> Any:
    mods = _rules()
    if mods is None:
        return None
    try:
        return mods[0].load_library(rules_dir)
    except (OSError, ValueError):  # an invalid library must not stop the reports
        return None


def clear_library_cache() -> None:
    """Forget loaded rule libraries (a rule file changed while the process lives on)."""
    _library.cache_clear()


@dataclass
class RuleContext:
    """The rule file that scored a video, as far as the library still has it.

    ``rule`` is None when the library has no file for the exercise or a different rule id than
    the one recorded with the findings; then only standard features are charted.
    """

    rule: Any = None
    views: dict[str, str] | None = None  # track id (str) -> camera view, from the reps metadata

    @classmethod
    def load(
        cls,
        exercise: str | None,
        meta: dict[str, Any],
        rules_dir: str | os.PathLike[str] | None = None,
    ) -> RuleContext:
        library = _library(os.fspath(rules_dir) if rules_dir is not None else None)
        rule = library.find(exercise) if library is not None and exercise else None
        recorded = meta.get("rule_id")
        if rule is not None and recorded and rule.id != recorded:
            rule = None
        views = meta.get("views") if isinstance(meta.get("views"), dict) else None
        return cls(rule, views)

    def signal(self, track_id: int) -> str | None:
        """The metric that drove repetition finding for a track (its view's), or the hold's."""
        rule = self.rule
        if rule is None:
            return None
        if getattr(rule, "hold", None) is not None:
            return rule.hold.position[0].metric
        if getattr(rule, "reps", None) is None:
            return None
        view = (self.views or {}).get(str(track_id), "")
        name = rule.reps.signal_for(view)
        return name or next(iter(rule.reps.signal.values()), None)

    def keypoints(self, metric: str) -> frozenset[str]:
        """The keypoints a metric is computed from, following the rule file's own metrics."""
        spec = self.rule.metrics.get(metric) if self.rule is not None else None
        if spec is None:
            return metric_keypoints(metric)
        if spec.fn is not None:
            return frozenset().union(*(_expand_point(p) for p in spec.points))
        return frozenset().union(*(self.keypoints(m) for m in spec.of if m != metric))

    def bands(self, metric: str) -> list[tuple[float, bool, str]] | None:
        """(threshold, flagged above?, severity) of every check band on a metric, or None."""
        if self.rule is None:
            return None
        out = []
        for check in self.rule.checks:
            if check.metric == metric:
                for severity, threshold in check.thresholds.items():
                    out.append((float(threshold), check.comparison == "above", severity))
        return out

    def series(
        self, track: pd.DataFrame, metrics: list[str], fps: float | None = None
    ) -> pd.DataFrame:
        """Like `metric_series`, with the rule file's own metrics, on the scoring's frame grid."""
        mods = _rules()
        if self.rule is None or mods is None or not len(track):
            return metric_series(track, metrics)
        scoring = mods[1]
        known = set(self.rule.metrics) | set(getattr(_kinematics(), "FEATURE_NAMES", ()))
        wanted = [m for m in dict.fromkeys(metrics) if m in known]
        grid = scoring.track_grid(track, fps)
        out = pd.DataFrame({"frame": grid["frame"].to_numpy(), "t_s": grid["t_s"].to_numpy()})
        if wanted:
            values = scoring.compute_metrics(grid, self.rule, set(wanted))
            for m in wanted:
                out[m] = np.asarray(values[m], dtype=np.float64)
        return out
