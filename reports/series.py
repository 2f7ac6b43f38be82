"""What a video's charts draw, read from the store: the ``features`` table and what scoring
recorded beside the findings (each track's rep signal, each check's bands, each metric's
keypoints).

A finding names its metric (``knee_angle_left_deg``); the chart draws that metric's course over
the whole track from the ``features`` table, the values scoring evaluated the checks on, so that
a coach sees the course around the flagged moment, not only the flagged number. Reports never
compute a metric and never read a rule file: the bands of a rule file's checks come from the
findings' metadata (``checks``), or where a writer did not record them, off the findings.

A store written before the ``features`` table existed has none for its videos
(`StoredMetrics.available` is False): the page says so and how to get it, ``posecoach score
--store DIR`` (re-scoring writes the table from the stored keypoints, no model run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from analysis.kinematics.features import metric_points
from posecoach.schema import COCO17
from posecoach.store import Store
from reports.reading import video_rows

#: What a video page says where a chart cannot be drawn for want of the features table.
UNAVAILABLE = (
    "Chart unavailable: this video was scored before the store had a features table. Run "
    "`posecoach score --store DIR` (it re-scores from the stored keypoints, no model run), "
    "then rebuild the report."
)

_SIDES = ("left", "right")
# Fallback for metric names nothing recorded: joints named in the metric -> keypoints.
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


@cache
def metric_keypoints(metric: str) -> frozenset[str]:
    """The COCO-17 keypoints a metric is computed from (mid-points as both sides).

    The standard features' definitions (`analysis.kinematics.features.metric_points`); for
    other names, the joints and side named in the metric (``lunge_front_knee_deg`` -> both hips,
    knees and ankles). Empty when nothing is recognised.
    """
    known = metric_points(metric)
    if known:
        return known
    words = set(re.split(r"[^a-z]+", metric.lower()))
    sides = [s for s in _SIDES if s in words] or list(_SIDES)
    out: set[str] = set()
    for word, joints in _JOINT_WORDS.items():
        if word in words:
            out.update(f"{s}_{j}" if j != "nose" else "nose" for s in sides for j in joints)
    return frozenset(out & set(COCO17))


def recorded_signal(meta: dict[str, Any], track_id: int) -> str | None:
    """The metric that drove repetition finding for a track, as the writer recorded it.

    Scoring records ``signals`` (track id -> metric, none for a track no rule judged); other
    writers may record one ``signal`` for the video (`reports.sample`).
    """
    signals = meta.get("signals")
    value = signals.get(str(track_id)) if isinstance(signals, dict) else meta.get("signal")
    return value if isinstance(value, str) and value else None


@dataclass
class StoredMetrics:
    """What a video's charts draw, as stored: its features and what scoring recorded.

    Attributes:
        features: the video's ``features`` rows; None when the store has no features file for
            it (written before the table existed, or never scored).
        meta: the metadata of its findings (or reps): signals, checks, views.
        feature_meta: the metadata of its features file: units, keypoints of each metric.
    """

    features: pd.DataFrame | None
    meta: dict[str, Any] = field(default_factory=dict)
    feature_meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Store, video_id: str, meta: dict[str, Any] | None = None) -> StoredMetrics:
        """The stored metrics of one video (``meta``: its findings' metadata, when read already)."""
        features, date = video_rows(store, "features", video_id)
        if meta is None:
            meta = store.metadata("findings", video_id) or store.metadata("reps", video_id)
        feature_meta = store.metadata("features", video_id) if date is not None else {}
        return cls(features if date is not None else None, meta, feature_meta)

    @property
    def available(self) -> bool:
        return self.features is not None

    def signal(self, track_id: int) -> str | None:
        """The metric repetitions or holds of a track were found on (None: not recorded)."""
        return recorded_signal(self.meta, track_id)

    def series(self, track_id: int, metrics: list[str]) -> pd.DataFrame:
        """``frame``, ``t_s`` and each of the metrics the track's features hold, by frame.

        Values as float64, NaN where a keypoint was missing or the track was not seen; metrics
        the table lacks are left out (the chart draws those from the findings alone).
        """
        empty = pd.DataFrame({"frame": pd.Series(dtype=np.int64), "t_s": pd.Series(dtype=float)})
        rows = self.features
        if rows is None or not len(rows):
            return empty
        rows = rows[rows["track_id"] == track_id].sort_values("frame", kind="stable")
        out = pd.DataFrame(
            {"frame": rows["frame"].to_numpy(np.int64), "t_s": rows["t_s"].to_numpy(np.float64)}
        )
        for m in dict.fromkeys(metrics):
            if m in rows.columns and m not in ("frame", "t_s", "track_id", "video_id"):
                out[m] = rows[m].to_numpy(np.float64)
        return out

    def bands(self, metric: str) -> list[tuple[float, bool, str]] | None:
        """(threshold, flagged above?, severity) of every band of the checks on a metric.

        None when scoring recorded no checks (then the chart reads the bands off the findings).
        """
        checks = self.meta.get("checks")
        if not isinstance(checks, list) or not checks:
            return None
        out = []
        for check in checks:
            if isinstance(check, dict) and check.get("metric") == metric:
                above = check.get("comparison") == "above"
                for severity, threshold in (check.get("thresholds") or {}).items():
                    out.append((float(threshold), above, str(severity)))
        return out

    def keypoints(self, metric: str) -> frozenset[str]:
        """The keypoints a metric is computed from: as recorded with the features, else
        `metric_keypoints` (standard definitions, then the joints the name mentions)."""
        points = self.feature_meta.get("points")
        recorded = points.get(metric) if isinstance(points, dict) else None
        if isinstance(recorded, list) and recorded:
            return frozenset(p for p in recorded if p in COCO17)
        return metric_keypoints(metric)
