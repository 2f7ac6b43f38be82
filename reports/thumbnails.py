"""Keyframe thumbnails: a frame of the video (or a blank one) with the skeleton drawn, cropped.

Frames come from the file at ``videos.path`` when it is at hand, decoded and numbered as the
engine did, turned upright by the row's ``rotation`` (clockwise degrees, as `analysis.io.video`
applies it); otherwise the skeleton is drawn on a blank frame of the video's size, so a report
of imported keypoints still shows the posture. Thumbnails are cropped around the person and
written as JPEG files beside the page.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from analysis.io.drawing import blank_frame, draw_skeleton
from analysis.io.seek import FrameSeeker
from analysis.io.video import IMAGE_SUFFIXES, VideoError, image_files
from posecoach.keypoints import KeyPoints

THUMB_MAX = (360, 420)  # width, height in pixels
JPEG_QUALITY = 82


def _upright(image: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    if rotation % 360:
        turned = np.ascontiguousarray(np.rot90(image, k=-((rotation % 360) // 90)))
    else:
        turned = image
    if width <= 0 or height <= 0 or turned.shape[:2] == (height, width):
        return turned
    if image.shape[:2] == (height, width):  # the decoder rotated it already
        return image
    return cv2.resize(turned, (width, height), interpolation=cv2.INTER_AREA)


class FrameReader:
    """Reads chosen frames (0-based indices) of a video, an image or an image folder.

    Video frames are found the way the engine numbered and timed them (PyAV, by timestamp when
    one is given; see :class:`analysis.io.video.FrameSeeker`), so a variable-frame-rate video shows
    the frame its findings refer to. ``read`` returns None for a frame that cannot be read; a
    missing or unreadable file gives a reader whose ``available`` is False. Reading frames in
    increasing order is cheapest (short gaps are decoded through rather than sought).
    """

    def __init__(self, path: str | None, width: int = 0, height: int = 0, rotation: int = 0):
        self.path = path or ""
        self.width, self.height, self.rotation = (
            int(width or 0),
            int(height or 0),
            int(rotation or 0),
        )
        self._video: FrameSeeker | None = None
        self._images: list[str] | None = None
        self.available = bool(self.path) and os.path.exists(self.path)
        if not self.available:
            return
        if os.path.isdir(self.path):
            self._images = image_files(self.path)
        elif Path(self.path).suffix.lower() in IMAGE_SUFFIXES:
            self._images = [self.path]
        else:
            try:
                # Rotation is applied from the stored row, as the engine did.
                self._video = FrameSeeker(self.path)
            except VideoError:
                self.available = False

    def read(self, index: int, t_s: float | None = None) -> np.ndarray | None:
        """Frame ``index``; ``t_s`` (the keypoints row's time) finds it in a video exactly."""
        if not self.available:
            return None
        if self._images is not None:
            if not 0 <= index < len(self._images):
                return None
            data = np.fromfile(self._images[index], dtype=np.uint8)
            image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
            return None if image is None else _upright(image, 0, self.width, self.height)
        assert self._video is not None
        image = self._video.read(index, t_s)
        return None if image is None else _upright(image, self.rotation, self.width, self.height)

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def person_box(
    box: np.ndarray, kp: np.ndarray, width: int, height: int, pad: float = 0.18
) -> tuple[int, int, int, int]:
    """The crop around a person: the union of ``box`` (``x1, y1, x2, y2``, NaN where unknown)
    and the visible keypoints ``kp`` (17, 2), padded, in the frame."""
    xs = [v for v in (box[0], box[2]) if np.isfinite(v)]
    ys = [v for v in (box[1], box[3]) if np.isfinite(v)]
    finite = np.isfinite(kp).all(axis=1)
    xs += list(kp[finite, 0])
    ys += list(kp[finite, 1])
    if not xs or not ys:
        return 0, 0, width, height
    x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
    px, py = (x2 - x1) * pad + 8, (y2 - y1) * pad + 8
    x1, x2 = max(0, int(x1 - px)), min(width, int(np.ceil(x2 + px)))
    y1, y2 = max(0, int(y1 - py)), min(height, int(np.ceil(y2 + py)))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0, 0, width, height
    return x1, y1, x2, y2


def frame_size(video: dict, keypoints: KeyPoints) -> tuple[int, int]:
    """The video's (width, height); from the keypoints' extent when the row lacks it."""
    w, h = video.get("width"), video.get("height")
    if w is not None and h is not None and not pd.isna(w) and not pd.isna(h) and w > 0 and h > 0:
        return int(w), int(h)
    xs = keypoints.xy[:, :, 0].astype(np.float64)
    ys = keypoints.xy[:, :, 1].astype(np.float64)
    mx = np.nanmax(xs) if np.isfinite(xs).any() else 640
    my = np.nanmax(ys) if np.isfinite(ys).any() else 480
    return int(mx * 1.1) + 1, int(my * 1.1) + 1


def render_thumbnail(
    frame: np.ndarray | None,
    person: KeyPoints,
    size: tuple[int, int],
    highlight: Iterable[str] = (),
    track_id: int | None = None,
    crop: bool = True,
) -> np.ndarray:
    """A thumbnail of one person at one frame: crop, scale to `THUMB_MAX`, draw the skeleton.

    ``person`` is the one keypoints row to draw (``keypoints.take([i])``). ``frame`` None
    draws on a blank frame of ``size`` (width, height). The skeleton is drawn after scaling so
    lines keep the same thickness whatever the video's resolution.

    Raises:
        ValueError: ``person`` does not hold exactly one row.
    """
    if len(person) != 1:
        raise ValueError(
            f"render_thumbnail: person: expected one keypoints row, got {len(person)} rows"
        )
    width, height = size
    kp = person.xy[0].astype(np.float64)
    sc = person.scores[0].astype(np.float64)
    image = frame if frame is not None else blank_frame(width, height)
    height, width = image.shape[:2]
    box = person.box[0]
    x1, y1, x2, y2 = person_box(box, kp, width, height) if crop else (0, 0, width, height)
    crop_img = image[y1:y2, x1:x2]
    scale = min(THUMB_MAX[0] / crop_img.shape[1], THUMB_MAX[1] / crop_img.shape[0])
    out_w, out_h = (
        max(1, round(crop_img.shape[1] * scale)),
        max(1, round(crop_img.shape[0] * scale)),
    )
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(crop_img, (out_w, out_h), interpolation=interp)
    kp_small = (kp - np.array([x1, y1], dtype=np.float64)) * scale
    return draw_skeleton(
        small, kp_small, sc, highlight=highlight, track_id=track_id, thickness=2, copy=False
    )


def write_jpeg(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write a JPEG (atomically: a temporary name renamed into place)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"{path}: JPEG encoding failed")
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(buf.tobytes())
    os.replace(tmp, path)
