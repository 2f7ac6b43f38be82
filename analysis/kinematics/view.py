"""Camera view of a track (side, front, oblique) estimated from its keypoints.

The cue is the one named in coaching-evidence.md: the shoulder width relative to the torso
length. Seen from the side the two shoulders (and hips) project onto nearly the same place;
seen from the front they are about 0.8 torso lengths apart. The hip width backs the shoulder
width up (a raised arm can pull a shoulder keypoint). The ratio is taken per frame and its
median over the track decides, so a few frames of turning do not flip the answer.

Known limit: for a horizontal body (plank, push-up) the torso lies along the camera's depth
axis as much as the shoulders do, so a 45-degree view foreshortens both alike and reads as
``front``; side and front are told apart correctly.
"""

from __future__ import annotations

import numpy as np

from analysis.kinematics.angles import MIN_SCORE, point
from posecoach.keypoints import KeyPoints

VIEWS = ("side", "front", "oblique", "unknown")

#: Median width/torso ratio below this: side view; above FRONT_RATIO: front view.
SIDE_RATIO = 0.3
FRONT_RATIO = 0.55
#: Fewer frames than this with both shoulders and hips visible: "unknown".
MIN_FRAMES = 5


def width_ratio(kp: KeyPoints, min_score: float = MIN_SCORE) -> np.ndarray:
    """Per row: mean of shoulder width and hip width, divided by the torso length (NaN if any
    of the four points is missing). Lengths are measured in the image plane."""
    ls, rs = point(kp, "left_shoulder", min_score), point(kp, "right_shoulder", min_score)
    lh, rh = point(kp, "left_hip", min_score), point(kp, "right_hip", min_score)
    shoulders = np.hypot(*(ls - rs).T)
    hips = np.hypot(*(lh - rh).T)
    torso = np.hypot(*((ls + rs) / 2 - (lh + rh) / 2).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (shoulders + hips) / 2 / torso
    return np.where(torso > 0, ratio, np.nan)


def classify_ratio(ratio: float) -> str:
    """Map a width/torso ratio to side | oblique | front (unknown for NaN)."""
    if not np.isfinite(ratio):
        return "unknown"
    if ratio < SIDE_RATIO:
        return "side"
    if ratio > FRONT_RATIO:
        return "front"
    return "oblique"


def estimate_view(kp: KeyPoints, min_score: float = MIN_SCORE) -> str:
    """The camera view of one track's keypoints: ``side``, ``front``, ``oblique`` or ``unknown``.

    ``unknown`` when fewer than :data:`MIN_FRAMES` rows have both shoulders and both hips.
    """
    ratio = width_ratio(kp, min_score)
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size < MIN_FRAMES:
        return "unknown"
    return classify_ratio(float(np.median(ratio)))


def estimate_views(kp: KeyPoints, min_score: float = MIN_SCORE) -> dict[int, str]:
    """:func:`estimate_view` for each track of a video's keypoints, by ascending track id."""
    return {int(tid): estimate_view(kp.for_track(tid), min_score) for tid in kp.track_ids()}
