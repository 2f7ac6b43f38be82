"""The boxes the pose model crops: detections kept, boxes carried along a chain of frames.

Between two detections a person's box comes from their keypoints in the frame before
(:func:`boxes_from_keypoints`); a window of frames is cut into chains of ``det_interval`` frames
that advance in lock-step (:func:`window_chains`), so every model call is batched.
"""

from __future__ import annotations

import numpy as np

from analysis.tracking.tracker import box_iou


def select_boxes(boxes: np.ndarray, score_thr: float, max_people: int) -> np.ndarray:
    """Detections at or above ``score_thr``, at most ``max_people`` of them, best first."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
    boxes = boxes[boxes[:, 4] >= score_thr]
    order = np.argsort(-boxes[:, 4], kind="stable")[:max_people]
    return boxes[order]


def boxes_from_keypoints(
    keypoints: np.ndarray,
    scores: np.ndarray,
    previous: np.ndarray,
    width: int,
    height: int,
    kpt_thr: float,
    expansion: float = 1.25,
    min_points: int = 3,
    min_iou: float = 0.5,
    anchor: np.ndarray | None = None,
) -> np.ndarray:
    """Boxes to carry to the next frame: each person's confident keypoints' extent, grown by
    ``expansion`` about its centre (rtmlib's ``pose_to_bbox``) and clipped to the frame.

    A person with fewer than ``min_points`` confident keypoints keeps the previous box, so an
    uncertain frame does not make the box collapse or wander; so does one whose new box
    overlaps ``anchor`` (the boxes detected at the start of the chain; default ``previous``)
    by less than ``min_iou``: within a few frames people do not move that far, such a box comes
    from keypoints gone astray, and checking against the detection stops slow drift too.
    The score column is carried.
    """
    out = np.asarray(previous, dtype=np.float32).reshape(-1, 5).copy()
    ref = out if anchor is None else np.asarray(anchor, dtype=np.float32).reshape(-1, 5)
    for i in range(len(out)):
        ok = scores[i] >= kpt_thr
        if ok.sum() < min_points:
            continue
        pts = keypoints[i][ok]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        centre = (lo + hi) / 2
        half = (hi - lo) / 2 * expansion
        x1, y1 = np.maximum(centre - half, 0)
        x2, y2 = np.minimum(centre + half, [width - 1, height - 1])
        box = np.array([x1, y1, x2, y2], np.float32)
        if x2 - x1 >= 2 and y2 - y1 >= 2 and box_iou(box, ref[i, :4])[0, 0] >= min_iou:
            out[i, :4] = box
    return out


#: Frames held by one window at most (bounds memory at large detection intervals).
MAX_WINDOW_FRAMES = 64


def window_chains(batch_frames: int, det_interval: int) -> int:
    """Chains (detection frames) per window: each detector call takes this many frames and
    each pose call the crops of this many frames."""
    return max(1, min(batch_frames, MAX_WINDOW_FRAMES // det_interval))
