"""The overlay video: the source's frames with each track's box, id and skeleton drawn on them.

The source is decoded a second time (frames are never kept in memory for the whole video),
skeletons are drawn with :func:`analysis.io.drawing.draw_skeleton` from the smoothed keypoints, and
the result is encoded with PyAV (H.264 when the FFmpeg build has it, else MPEG-4 part 2) under a
temporary name that is renamed into place when complete.
"""

from __future__ import annotations

import os
import uuid
from fractions import Fraction
from pathlib import Path

import numpy as np

from analysis.io.drawing import draw_skeleton, outlined_text, track_color
from analysis.io.video import open_source
from posecoach.keypoints import KeyPoints


def pick_codec() -> str:
    import av

    for name in ("libx264", "h264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
        except Exception:
            continue
        return name
    raise RuntimeError("PyAV has no H.264 or MPEG-4 encoder")


def _by_frame(keypoints: KeyPoints) -> dict[int, KeyPoints]:
    """The rows of each frame, in their order in ``keypoints``."""
    if not len(keypoints):
        return {}
    order = np.argsort(keypoints.frame, kind="stable")
    frames, starts = np.unique(keypoints.frame[order], return_index=True)
    groups = np.split(order, starts[1:])
    return {int(f): keypoints.take(rows) for f, rows in zip(frames, groups, strict=True)}


def draw_rows(image: np.ndarray, rows: KeyPoints, min_score: float) -> None:
    """Each row's box, ``#<track id>`` above it, and its skeleton, in the track's colour."""
    import cv2

    xy = rows.xy.astype(np.float64)
    sc = rows.scores.astype(np.float64)
    boxes = rows.box[:, :4].astype(np.float64)
    thick = max(1, round(min(image.shape[:2]) / 360))
    for i, tid in enumerate(rows.track_id.tolist()):
        color = track_color(int(tid))
        if np.isfinite(boxes[i]).all():
            x1, y1, x2, y2 = (int(round(v)) for v in boxes[i])
            cv2.rectangle(image, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
            outlined_text(image, f"#{tid}", (x1, max(12, y1 - 4)), 0.5 * thick, color, thick)
        draw_skeleton(
            image, xy[i], sc[i], track_id=int(tid), min_score=min_score, label="", copy=False
        )


def write_overlay(
    source_path: str | os.PathLike[str],
    keypoints: KeyPoints,
    out_path: str | os.PathLike[str],
    fps: float | None = None,
    min_score: float = 0.3,
) -> Path:
    """Write ``out_path`` (an .mp4): every frame of the source with its rows drawn.

    Args:
        source_path: the analysed video, image or image folder.
        keypoints: its keypoints (read from the store: ``KeyPoints.from_frame``); boxes and
            smoothed points are drawn, NaN ones are not.
        out_path: the video to write (replaced if it exists).
        fps: output frame rate; default the source's (10 for images).
        min_score: keypoints scoring below it are not drawn.

    Returns:
        The path written.
    """
    import av

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    by_frame = _by_frame(keypoints)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{uuid.uuid4().hex}.mp4")
    source = open_source(source_path)
    rate = fps or source.info.fps or 10.0
    codec = pick_codec()
    try:
        with source, av.open(str(tmp), "w") as container:
            stream = container.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))
            assert isinstance(stream, av.VideoStream)  # a video codec makes a video stream
            # yuv420p needs even sizes: pad by one pixel where odd.
            width = source.info.width + source.info.width % 2
            height = source.info.height + source.info.height % 2
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for frame in source:
                image = np.zeros((height, width, 3), np.uint8)
                h, w = frame.image.shape[:2]
                image[: min(h, height), : min(w, width)] = frame.image[:height, :width]
                rows = by_frame.get(frame.index)
                if rows is not None:
                    draw_rows(image, rows, min_score)
                video_frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                for packet in stream.encode(video_frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, out_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out_path
