"""A received JPEG decoded at a reduced scale, and what was found in it mapped back.

libjpeg scales a frame by 1/2, 1/4 or 1/8 inside its inverse DCT (``cv2.IMREAD_REDUCED_*``):
a 1080p frame decoded at 1/2 costs about 3 ms instead of 5 on the live server (a full decode
and a ``cv2.resize`` would cost more than the full decode alone), and the models resize their
inputs anyway (the detector's 320x320 letterbox, the pose's 192x256 crops). `decode_reduced` picks
the largest reduction that keeps at least `MIN_HEIGHT` lines (`reduction`, from the frame
size in the JPEG's header: `jpeg_size`), and `to_frame_pixels` maps a person's box and
keypoints found in the reduced image back to the received frame's pixels, so whoever reads
them (replies, stored keypoints, the reports over the session's video) sees the frame's own
coordinates, as if it had been decoded in full.

Coordinates are continuous, pixel ``i`` covering ``[i, i + 1)``: a reduced pixel ``i`` is what
libjpeg made of the received pixels ``[f i, f (i + 1))``, so the mapping is a multiplication by
the factor ``f``, as mmdet's own rescale of boxes found on a resized image is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

#: Lines a reduced decode keeps at least. The stored session video has at most this many
#: (`analysis.io.recording.MAX_HEIGHT`), and the Live page's own frames are fewer (static/live.js
#: scales them to at most 640 px wide: 360 lines at 16:9, 480 at 4:3), so those are always
#: decoded in full; only larger frames (a network camera's, the benchmark's 1080p) are reduced,
#: and a 1080p frame at 1/2 still gives the pose model a 270-line crop of someone half the
#: frame's height (its input is 256 lines).
MIN_HEIGHT = 540

#: libjpeg's scales, the largest first.
_FLAGS = {
    8: cv2.IMREAD_REDUCED_COLOR_8,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    1: cv2.IMREAD_COLOR,
}

#: Start-of-frame markers (SOF0-SOF15, less DHT, JPG and DAC, which share the range).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class FrameScale:
    """How a frame was decoded: ``factor`` (received pixels per decoded pixel: 1, 2, 4 or 8)
    and ``size``, the received frame's width and height."""

    factor: int
    size: tuple[int, int]


def reduction(height: int, min_height: int = MIN_HEIGHT) -> int:
    """The largest of libjpeg's factors (8, 4, 2) that leaves a frame of ``height`` lines at
    least ``min_height`` of them (libjpeg rounds up); 1 when none does."""
    for factor in (8, 4, 2):
        if -(-height // factor) >= min_height:
            return factor
    return 1


def decode_flag(height: int, max_height: int) -> int:
    """The ``cv2.imdecode`` flag that scales a frame of ``height`` lines the most in the
    decoder while keeping at least ``max_height`` of them (full size if none does)."""
    return int(_FLAGS[reduction(height, max_height)])


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """A JPEG's width and height from its frame header (SOFn); None when no header comes
    before the scan, or the height is left to a later marker (DNL)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte before the marker
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a segment
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # the end, or the scan, before any frame header
            return None
        if marker in _SOF:
            if i + 9 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def decode_reduced(
    data: bytes, min_height: int = MIN_HEIGHT
) -> tuple[np.ndarray, FrameScale] | None:
    """A JPEG decoded (BGR) at the largest reduction keeping ``min_height`` lines, and how;
    None when it does not decode."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    size = jpeg_size(data)
    factor = reduction(size[1], min_height) if size is not None else 1
    image = cv2.imdecode(buffer, _FLAGS[factor])
    if image is not None and factor > 1 and size is not None:
        expected = (-(-size[1] // factor), -(-size[0] // factor))
        if image.shape[:2] != expected:  # turned by its EXIF orientation: as a full decode does
            image, factor = cv2.imdecode(buffer, cv2.IMREAD_COLOR), 1
    if image is None:
        return None
    if factor == 1:
        size = (int(image.shape[1]), int(image.shape[0]))
    assert size is not None
    return image, FrameScale(factor, size)


def to_frame_pixels(people: Sequence[Any], factor: int) -> list[Any]:
    """People found in a frame decoded at ``1 / factor`` (each ``(track_id, box, keypoints[,
    raw])`` as `flows.live_store.Person`: box ``x1, y1, x2, y2[, score]``, keypoints (17, 3)
    ``x, y, score``, raw points (17, 2)) in the received frame's pixels; scores as they are."""
    if factor == 1:
        return list(people)
    out = []
    for person in people:
        box = [float(v) for v in person[1]]
        box[:4] = [v * factor for v in box[:4]]
        kp = np.array(person[2], dtype=np.float32, copy=True)
        kp[..., :2] *= factor
        rest = tuple(np.asarray(raw, dtype=np.float32) * factor for raw in person[3:])
        out.append((person[0], box, kp, *rest))
    return out
