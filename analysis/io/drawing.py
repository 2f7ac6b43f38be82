"""Skeleton drawing with OpenCV: the overlay video and the report thumbnails share it.

Pure drawing over numpy images (BGR, uint8, HxWx3); no file I/O, no model. Keypoints are pixel
coordinates in the image; a keypoint whose coordinate is NaN or whose score is below
``min_score`` is not drawn, nor is any bone touching it.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

import cv2
import numpy as np

from posecoach.schema import COCO17, KEYPOINT_INDEX, SKELETON

#: BGR colour of highlighted (offending) joints and the bones between them.
HIGHLIGHT_BGR: tuple[int, int, int] = (40, 40, 235)
#: BGR colour used when no track id is given.
DEFAULT_BGR: tuple[int, int, int] = (80, 200, 80)


def track_color(track_id: int | None) -> tuple[int, int, int]:
    """A stable, well-separated BGR colour per track id (golden-ratio hue steps, no reds)."""
    if track_id is None or track_id < 0:
        return DEFAULT_BGR
    # Hues in [0.12, 0.88] of the circle keep clear of the highlight red.
    hue = 0.12 + ((int(track_id) * 0.618033988749895) % 1.0) * 0.76
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return (int(b * 255), int(g * 255), int(r * 255))


def highlight_indices(highlight: Iterable[str | int] | None) -> set[int]:
    """Keypoint indices from names (``"left_knee"``) or indices; unknown names raise ValueError."""
    out: set[int] = set()
    for item in highlight or ():
        if isinstance(item, str):
            if item not in KEYPOINT_INDEX:
                raise ValueError(
                    f"highlight: unknown keypoint name {item!r}; expected one of COCO17"
                )
            out.add(KEYPOINT_INDEX[item])
        else:
            idx = int(item)
            if not 0 <= idx < len(COCO17):
                raise ValueError(f"highlight: keypoint index {idx} outside 0..{len(COCO17) - 1}")
            out.add(idx)
    return out


def blank_frame(width: int, height: int, value: int = 40) -> np.ndarray:
    """A uniform dark BGR frame, for drawing a skeleton where the video is not at hand."""
    return np.full((max(int(height), 1), max(int(width), 1), 3), value, dtype=np.uint8)


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray | None = None,
    highlight: Iterable[str | int] | None = None,
    track_id: int | None = None,
    *,
    min_score: float = 0.3,
    color: tuple[int, int, int] | None = None,
    thickness: int | None = None,
    label: str | None = None,
    copy: bool = True,
) -> np.ndarray:
    """Draw one person's COCO-17 skeleton and return the image drawn on.

    Args:
        image: BGR uint8 image, HxWx3.
        keypoints: (17, 2) pixel coordinates (x, y); NaN rows are skipped.
        scores: (17,) keypoint scores, or None to draw every finite keypoint.
        highlight: keypoint names or indices drawn larger, in red, with the bones between two
            highlighted joints in red too (the joints a finding is about).
        track_id: picks the skeleton's colour (see `track_color`) and, if ``label`` is None,
            labels the person ``#<track_id>`` beside the head.
        min_score: keypoints scoring below it are not drawn.
        color: BGR colour overriding the track colour.
        thickness: bone thickness in pixels; default scales with the image size.
        label: text drawn beside the highest visible keypoint; ``""`` draws none.
        copy: draw on a copy (default) or, for video overlays, on ``image`` itself.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image: expected an HxWx3 BGR array, got shape {image.shape}")
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    if kp.shape[0] != len(COCO17):
        raise ValueError(f"keypoints: expected shape (17, 2), got {np.shape(keypoints)}")
    if scores is None:
        sc = np.ones(len(COCO17))
    else:
        sc = np.asarray(scores, dtype=np.float64).reshape(-1)
        if sc.shape[0] != len(COCO17):
            raise ValueError(f"scores: expected shape (17,), got {np.shape(scores)}")
    out = image.copy() if copy else image
    hl = highlight_indices(highlight)
    base = color if color is not None else track_color(track_id)
    h, w = out.shape[:2]
    t = thickness if thickness is not None else max(1, round(min(h, w) / 240))
    # NaN scores count as missing, like NaN coordinates.
    visible = np.isfinite(kp).all(axis=1) & (np.nan_to_num(sc, nan=-1.0) >= min_score)
    pts = np.zeros((len(COCO17), 2), dtype=np.int32)
    pts[visible] = np.round(kp[visible]).astype(np.int32)

    for a, b in SKELETON:
        if visible[a] and visible[b]:
            if a in hl and b in hl:
                cv2.line(out, tuple(pts[a]), tuple(pts[b]), HIGHLIGHT_BGR, t + 1, cv2.LINE_AA)
            else:
                cv2.line(out, tuple(pts[a]), tuple(pts[b]), base, t, cv2.LINE_AA)
    for i in np.flatnonzero(visible):
        p = tuple(pts[i])
        if i in hl:
            cv2.circle(out, p, t * 3 + 2, HIGHLIGHT_BGR, -1, cv2.LINE_AA)
            cv2.circle(out, p, t * 3 + 2, (255, 255, 255), max(1, t // 2), cv2.LINE_AA)
        else:
            cv2.circle(out, p, t + 2, base, -1, cv2.LINE_AA)

    text = label if label is not None else (f"#{track_id}" if track_id is not None else "")
    if text and visible.any():
        top = int(np.argmin(np.where(visible, kp[:, 1], np.inf)))
        x, y = int(pts[top][0]), int(pts[top][1])
        scale = max(0.4, t * 0.45)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, t))
        x = min(max(0, x - tw // 2), max(0, w - tw))
        y = max(th + 2, y - 4 * t - 4)
        outlined_text(out, text, (x, y), scale, base, max(1, t))
    return out


def outlined_text(
    image: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    color: tuple[int, int, int],
    thickness: int,
) -> None:
    """Draw ``text`` in ``color`` with a black outline, readable on any background."""
    for ink, width in (((0, 0, 0), thickness + 2), (color, thickness)):
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, width, cv2.LINE_AA)
