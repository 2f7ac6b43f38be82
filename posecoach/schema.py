"""Table schemas of the PoseCoach store, versioned.

Every table is a Parquet dataset, one file per video and hive-partitioned by the session date:
``<store>/<table>/date=YYYY-MM-DD/<video_id>.parquet``. The schemas below are the contract
between the packages: `analysis` writes ``videos`` and ``keypoints``, `rules` writes
``features``, ``reps`` and ``findings``, `reports` only reads. A column added or changed bumps
`SCHEMA_VERSION`, which is written into every file's key-value metadata.

Versions: 1, the first store; 2, the ``features`` table and ``videos.error_kind``; 3,
``reps.partial``; 4, ``reps.view``; 5, ``findings.uncertainty``; 6, ``videos.view_source``
(whether ``videos.view`` was declared or estimated; older rows get it where rows are read,
`posecoach.videos`); 7, ``reps.side``; 8, the coaches' tables ``reviews`` (a coach's verdict on a
finding) and ``track_athletes`` (who a tracked person in a video is), written by the web app
(`posecoach.annotations`); a store without them reads as having no rows; 9,
``videos.same_content_as``: a file filed under a second athlete (one recording of a class in
two athletes' folders) is a ``videos`` row of its own that points at the analysed video with
the same content (null: the row is itself analysed, as every row of an older store). Nothing
decides by the version a file carries: readers take
every version's files alike (a missing column reads as nulls, ``union_by_name``), so a store of
mixed versions reads as one.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

SCHEMA_VERSION = "9"

#: COCO-17 keypoint names, in the model's output order.
COCO17: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(COCO17)}

#: Pairs of keypoint indices joined by a bone when drawing a skeleton.
SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip

#: Index pairs swapped by a horizontal flip (left <-> right).
FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2),
    (3, 4),
    (5, 6),
    (7, 8),
    (9, 10),
    (11, 12),
    (13, 14),
    (15, 16),
)

TABLES = ("videos", "keypoints", "features", "reps", "findings")
#: What coaches add (schema 8): kept apart from `TABLES` because re-analysing a video replaces
#: its analysis tables, never what a coach said about it.
COACH_TABLES = ("reviews", "track_athletes")
VERDICTS = ("agree", "disagree")

VIDEO_STATUS = ("ok", "empty", "failed")
SEVERITIES = ("ok", "info", "caution", "risk", "not_assessable")


def keypoint_columns(suffix: str = "") -> list[str]:
    """Wide keypoint column names, e.g. ``nose_x``, ``nose_y``, ``nose_score``."""
    return [f"{n}_{c}{suffix}" for n in COCO17 for c in ("x", "y", "score")]


def wide_keypoints(xy: np.ndarray, scores: np.ndarray, raw_xy: np.ndarray) -> dict[str, np.ndarray]:
    """The keypoints table's wide columns from arrays, as float32.

    Args:
        xy: (N, 17, 2) smoothed pixel coordinates (NaN where dropped).
        scores: (N, 17) model scores.
        raw_xy: (N, 17, 2) coordinates before left/right repair and smoothing.
    """
    cols: dict[str, np.ndarray] = {}
    for k, name in enumerate(COCO17):
        cols[f"{name}_x"] = xy[:, k, 0].astype(np.float32)
        cols[f"{name}_y"] = xy[:, k, 1].astype(np.float32)
        cols[f"{name}_score"] = scores[:, k].astype(np.float32)
    for k, name in enumerate(COCO17):
        cols[f"{name}_x_raw"] = raw_xy[:, k, 0].astype(np.float32)
        cols[f"{name}_y_raw"] = raw_xy[:, k, 1].astype(np.float32)
    return cols


VIDEOS = pa.schema(
    [
        ("video_id", pa.string()),  # first 16 hex digits of the file's sha256
        ("path", pa.string()),  # as given (inbox-relative in the nightly flow)
        ("file_name", pa.string()),
        ("sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("athlete", pa.string()),
        ("exercise", pa.string()),
        (
            "view",
            pa.string(),
        ),  # declared (sidecar, --view) or estimated: side | front | oblique | unknown
        ("view_source", pa.string()),  # declared | estimated (null: no view); schema 6
        ("recorded_at", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()),  # video | image | images | import | live
        ("codec", pa.string()),
        ("fps", pa.float64()),
        ("frames", pa.int64()),
        ("duration_s", pa.float64()),
        ("width", pa.int32()),  # upright frame, after rotation
        ("height", pa.int32()),
        ("rotation", pa.int32()),  # degrees applied to make the frame upright
        ("n_tracks", pa.int32()),
        ("status", pa.string()),  # ok | empty | failed
        ("error", pa.string()),  # why, when status != ok (human-readable)
        ("error_kind", pa.string()),  # failed: bad_file | transient | given_up (failures.ErrorKind)
        ("attempts", pa.int32()),  # nightly runs that tried it with these models (transient fails)
        ("preset", pa.string()),
        ("backend", pa.string()),
        ("detector", pa.string()),
        ("detector_sha256", pa.string()),
        ("pose_model", pa.string()),
        ("pose_sha256", pa.string()),
        ("random_weights", pa.bool_()),
        ("pipeline_version", pa.string()),
        ("processed_at", pa.timestamp("us", tz="UTC")),
        # schema 9: the video_id of the analysed video with this file's content, when this row
        # is a copy filed under another athlete (its keypoints, reps and findings are that
        # video's, analysed once); null for an analysed video
        ("same_content_as", pa.string()),
    ]
)

_KP_FIELDS = [pa.field(c, pa.float32()) for c in keypoint_columns()]
_KP_RAW_FIELDS = [
    pa.field(c, pa.float32()) for c in (f"{n}_{a}_raw" for n in COCO17 for a in ("x", "y"))
]

#: One row per (frame, track). ``<name>_x/_y`` are the smoothed pixel coordinates in the upright
#: frame (NaN where the point was dropped and not interpolated); ``<name>_x_raw/_y_raw`` are the
#: model's output before left/right repair and smoothing; ``<name>_score`` is the model's score.
KEYPOINTS = pa.schema(
    [
        ("video_id", pa.string()),
        ("frame", pa.int32()),
        ("t_s", pa.float64()),
        ("track_id", pa.int32()),
        ("bbox_x1", pa.float32()),
        ("bbox_y1", pa.float32()),
        ("bbox_x2", pa.float32()),
        ("bbox_y2", pa.float32()),
        ("bbox_score", pa.float32()),
        *_KP_FIELDS,
        *_KP_RAW_FIELDS,
    ]
)

#: The standard metric columns of ``features``: the rule vocabulary's standard names
#: (`analysis.kinematics.angles.FEATURE_NAMES`, which a test keeps equal to this list).
FEATURE_COLUMNS: tuple[str, ...] = (
    "knee_angle_left_deg", "knee_angle_right_deg", "hip_angle_left_deg", "hip_angle_right_deg",
    "elbow_angle_left_deg", "elbow_angle_right_deg", "shoulder_angle_left_deg",
    "shoulder_angle_right_deg", "shin_to_vertical_left_deg", "shin_to_vertical_right_deg",
    "thigh_to_vertical_left_deg", "thigh_to_vertical_right_deg", "upper_arm_to_vertical_left_deg",
    "upper_arm_to_vertical_right_deg", "upper_arm_to_horizontal_left_deg",
    "upper_arm_to_horizontal_right_deg", "knee_fppa_left_deg", "knee_fppa_right_deg",
    "body_line_left_deg", "body_line_right_deg", "hip_sag_left_deg", "hip_sag_right_deg",
    "wrist_height_left", "wrist_height_right", "trunk_to_vertical_deg", "trunk_to_horizontal_deg",
    "hip_height", "ankle_spread", "wrist_spread", "knee_angle_deg", "hip_angle_deg",
    "elbow_angle_deg", "shoulder_angle_deg", "knee_angle_symmetry_deg", "hip_angle_symmetry_deg",
    "elbow_angle_symmetry_deg", "shoulder_angle_symmetry_deg", "knee_fppa_max_deg",
    "body_line_deg", "hip_sag_deg", "wrist_height", "knee_angle_left_vel_dps",
    "knee_angle_right_vel_dps", "hip_angle_left_vel_dps", "hip_angle_right_vel_dps",
    "elbow_angle_left_vel_dps", "elbow_angle_right_vel_dps",
)  # fmt: skip

#: Tables whose files may hold columns beyond their schema, and the type those columns take:
#: ``features`` keeps the metrics a rule file defines itself (``front_knee_deg``), named by
#: the file, after the standard ones. Their names must match :data:`METRIC_NAME`.
OPEN_COLUMNS: dict[str, pa.DataType] = {"features": pa.float64()}
METRIC_NAME = re.compile(r"^[a-z0-9_]{1,64}$")

#: One row per (frame, track) of a scored track's frame grid, from its first frame to its last
#: (frames where the track was not seen have NaN metrics): every metric scoring computes, named
#: as in the rule vocabulary, angles in degrees, velocities in deg/s, distances in torso lengths.
#: Wide, one float64 column per metric, so that an analyst selects the metrics by name.
FEATURES = pa.schema(
    [
        ("video_id", pa.string()),
        ("frame", pa.int32()),
        ("t_s", pa.float64()),
        ("track_id", pa.int32()),
        *[(name, pa.float64()) for name in FEATURE_COLUMNS],
    ]
)

#: One row per repetition (or hold) per track and rule file.
REPS = pa.schema(
    [
        ("video_id", pa.string()),
        ("track_id", pa.int32()),
        ("exercise", pa.string()),
        ("rule_id", pa.string()),
        ("rule_version", pa.string()),
        ("rep_index", pa.int32()),  # 0-based within the track
        ("kind", pa.string()),  # rep | hold
        ("start_frame", pa.int32()),
        ("turn_frame", pa.int32()),  # bottom / turning point; for a hold, its middle
        ("end_frame", pa.int32()),
        ("start_s", pa.float64()),
        ("turn_s", pa.float64()),
        ("end_s", pa.float64()),
        ("duration_s", pa.float64()),
        ("in_target_s", pa.float64()),  # holds: time within the target position
        ("signal_min", pa.float64()),
        ("signal_max", pa.float64()),
        ("worst_severity", pa.string()),
        # cut by the first / last visible frame, turn or most of its range unseen: not counted.
        # Null in files written before version 3.
        ("partial", pa.bool_()),
        # the camera view of the rep's own view segment (side | front | oblique | unknown; a
        # declared view for every rep). Null in files written before version 4.
        ("view", pa.string()),
        # left | right: the side an alternating exercise's rep is done with (lunge, step-up,
        # high knees; the rule file's reps.side); null where the rule has none or the sides
        # cannot be told apart, and in files written before version 7.
        ("side", pa.string()),
    ]
)

#: One row per (rep, check). ``rep_index`` is -1 for checks over the whole track.
FINDINGS = pa.schema(
    [
        ("video_id", pa.string()),
        ("track_id", pa.int32()),
        ("rep_index", pa.int32()),
        ("rule_id", pa.string()),
        ("rule_version", pa.string()),
        ("check_id", pa.string()),
        ("metric", pa.string()),
        ("phase", pa.string()),
        ("severity", pa.string()),  # ok | info | caution | risk | not_assessable
        ("value", pa.float64()),
        ("threshold", pa.float64()),
        ("comparison", pa.string()),
        ("unit", pa.string()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("worst_frame", pa.int32()),
        ("worst_s", pa.float64()),
        ("message", pa.string()),
        ("source", pa.string()),
        # +- of ``value`` in its unit (keypoint jitter, scores and segment lengths, see
        # rules.uncertainty); 0 where no model applies, NaN when nothing was measured. Null in
        # files written before version 5.
        ("uncertainty", pa.float64()),
    ]
)

#: A coach's verdict on one finding (schema 8). A file per video holds one row per (finding,
#: reviewer): a later review of the same finding by the same coach replaces the row.
REVIEWS = pa.schema(
    [
        ("video_id", pa.string()),
        ("track_id", pa.int32()),
        ("rep_index", pa.int32()),
        ("check_id", pa.string()),
        ("rule_id", pa.string()),
        ("rule_version", pa.string()),
        ("reviewer", pa.string()),  # the web app's user name
        ("verdict", pa.string()),  # agree | disagree
        ("note", pa.string()),  # free text ("" for none), shown escaped
        ("reviewed_at", pa.timestamp("us", tz="UTC")),
    ]
)

#: Who a tracked person of a video is (schema 8): that track's reps and findings belong to
#: ``athlete`` instead of the video's ``videos.athlete``. One row per (video, track).
TRACK_ATHLETES = pa.schema(
    [
        ("video_id", pa.string()),
        ("track_id", pa.int32()),
        ("athlete", pa.string()),
        ("named_by", pa.string()),  # the web app's user name
        ("named_at", pa.timestamp("us", tz="UTC")),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "videos": VIDEOS,
    "keypoints": KEYPOINTS,
    "features": FEATURES,
    "reps": REPS,
    "findings": FINDINGS,
    "reviews": REVIEWS,
    "track_athletes": TRACK_ATHLETES,
}
