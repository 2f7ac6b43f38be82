"""Frames in: a video file, one image, or a folder of images, decoded in a background thread.

Videos are decoded with PyAV (FFmpeg): timestamps come from each frame's presentation time
stamp, so variable-frame-rate video keeps its real timing, and the stream's display matrix
(the rotation a phone writes instead of rotating pixels) is applied, so frames come out upright.
Images are read with OpenCV, which applies their EXIF orientation.

A reader thread fills a bounded queue (``queue_size`` frames) while the caller runs inference,
so decoding overlaps the models and memory stays bounded whatever the video's length.

Example:
    >>> with open_source("clip.mp4") as source:  # doctest: +SKIP
    ...     for frame in source:
    ...         frame.index, frame.t_s, frame.image.shape
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from posecoach.failures import is_transient

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
SourceKind = Literal["video", "image", "images"]


class VideoError(Exception):
    """Input that cannot be read as frames; the message names the file and the problem.

    ``transient`` marks a read that failed for the machine's sake (an I/O error on a network
    share, no memory), not the file's: see :mod:`posecoach.failures`.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, *, transient: bool = False):
        self.path = os.fspath(path)
        self.reason = reason
        self.transient = transient
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    """What a source is, before (or after) decoding it.

    Attributes:
        path: the path as given.
        kind: ``video``, ``image`` or ``images`` (a folder).
        fps: mean frame rate (frames / s) from the container; None for images.
        frames: number of frames; for a video the container's count or an estimate from its
            duration until decoding has counted them (see :meth:`VideoSource.decoded_info`).
        width: frame width in pixels after rotation (upright).
        height: frame height in pixels after rotation (upright).
        rotation: clockwise degrees applied to make frames upright (0, 90, 180, 270).
        codec: decoder name (``h264``, ``vp9``, ``mpeg4``...), or the image format.
        duration_s: duration in seconds (None for images).
    """

    path: str
    kind: SourceKind
    fps: float | None
    frames: int
    width: int
    height: int
    rotation: int
    codec: str
    duration_s: float | None


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is an upright BGR uint8 array (H, W, 3); ``t_s`` is the
    presentation time in seconds from the stream's start (NaN for images without a time)."""

    index: int
    t_s: float
    image: np.ndarray


_END = object()


class VideoSource:
    """Iterate over a source's frames, decoded ahead in a background thread.

    Use as a context manager (or call :meth:`close`) so that the reader thread stops when the
    caller stops early. Iterating a second time re-opens the source from its start.
    """

    def __init__(self, info: VideoInfo, queue_size: int = 32):
        self.info = info
        self.queue_size = queue_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[object] | None = None
        self.frames_decoded = 0
        self.last_t_s: float | None = None

    # -- iteration ----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        self.close()
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=self.queue_size)
        self.frames_decoded = 0
        self._thread = threading.Thread(
            target=self._reader,
            args=(self._queue, self._stop),
            name="posecoach-decode",
            daemon=True,
        )
        self._thread.start()
        return self._consume(self._queue)

    def _consume(self, q: queue.Queue[object]) -> Iterator[Frame]:
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, Frame)
                self.frames_decoded += 1
                self.last_t_s = item.t_s
                yield item
        finally:
            self.close()

    def _reader(self, q: queue.Queue[object], stop: threading.Event) -> None:
        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for frame in self._frames():
                if not put(frame):
                    return
        except VideoError as exc:
            put(exc)
            return
        except Exception as exc:  # decoder errors of any kind become a VideoError
            reason = f"decoding failed: {type(exc).__name__}: {exc}"
            put(VideoError(self.info.path, reason, transient=is_transient(exc)))
            return
        put(_END)

    def _frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the reader thread (if running) and drop the queued frames."""
        self._stop.set()
        if self._queue is not None:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decoded_info(self) -> VideoInfo:
        """The info corrected by a complete decode: the real frame count (and, for a video
        whose container gave no duration, the duration from the last timestamp)."""
        from dataclasses import replace

        info = self.info
        duration = info.duration_s
        if info.kind == "video" and self.frames_decoded and info.fps:
            end = (self.last_t_s or 0.0) + 1.0 / info.fps
            if duration is None or not np.isfinite(duration):
                duration = end
        return replace(info, frames=self.frames_decoded, duration_s=duration)


# -- videos -----------------------------------------------------------------------------------
def _rotation_of(stream: object, first_frame: object | None) -> int:
    """Clockwise degrees to apply to make the frame upright, from the display matrix.

    FFmpeg's display matrix angle is counter-clockwise (``av_display_rotation_get``); a phone
    that recorded portrait with the sensor landscape writes -90 (FFmpeg's ``rotate=90`` tag),
    which asks the player to turn the picture 90 degrees clockwise.
    """
    angle = None
    if first_frame is not None:
        angle = getattr(first_frame, "rotation", None)
    if angle is None:
        meta = getattr(stream, "metadata", {}) or {}
        if "rotate" in meta:
            try:
                return int(round(float(meta["rotate"]))) % 360
            except ValueError:
                angle = None
    if angle is None:
        return 0
    return int(round(-float(angle))) % 360 // 90 * 90


def _rotate(image: np.ndarray, clockwise: int) -> np.ndarray:
    if clockwise == 0:
        return image
    # np.rot90 turns counter-clockwise; copy so the array is contiguous for OpenCV and models.
    return np.ascontiguousarray(np.rot90(image, k=-(clockwise // 90)))


class _AvVideo(VideoSource):
    def _frames(self) -> Iterator[Frame]:
        import av

        path = self.info.path
        try:
            container = av.open(path)
        except Exception as exc:
            raise VideoError(path, f"cannot open as a video: {exc}") from exc
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base or Fraction(1, 1)
            first_pts: int | None = None
            index = 0
            for av_frame in container.decode(stream):
                if self._stop.is_set():
                    return
                pts = frame_pts(av_frame)
                if pts is None:
                    t_s = index / self.info.fps if self.info.fps else float("nan")
                else:
                    if first_pts is None:
                        first_pts = pts
                    t_s = float((pts - first_pts) * time_base)
                image = av_frame.to_ndarray(format="bgr24")
                yield Frame(index, t_s, _rotate(image, self.info.rotation))
                index += 1
        if index == 0:
            raise VideoError(path, "the video stream holds no decodable frame")


def frame_pts(av_frame: object) -> int | None:
    """A decoded frame's presentation timestamp, else its decoding one (None: neither)."""
    pts = getattr(av_frame, "pts", None)
    return pts if pts is not None else getattr(av_frame, "dts", None)


def _probe_video(path: str) -> VideoInfo:
    import av

    try:
        container = av.open(path)
    except Exception as exc:
        raise VideoError(
            path, f"not a readable video or image ({type(exc).__name__}: {exc})"
        ) from exc
    with container:
        if not container.streams.video:
            raise VideoError(path, "the file has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else None
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        frames = int(stream.frames or 0)
        if frames == 0 and duration and fps:
            frames = int(round(duration * fps))
        # Decode one frame: it proves the stream decodes and carries the display matrix.
        try:
            first = next(iter(container.decode(stream)), None)
        except Exception as exc:
            raise VideoError(
                path, f"cannot decode the first frame: {type(exc).__name__}: {exc}"
            ) from exc
        if first is None:
            raise VideoError(path, "the video stream holds no decodable frame (truncated or empty)")
        rotation = _rotation_of(stream, first)
        width, height = int(first.width or ctx.width), int(first.height or ctx.height)
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            path=path,
            kind="video",
            fps=fps,
            frames=frames,
            width=width,
            height=height,
            rotation=rotation,
            codec=str(ctx.name),
            duration_s=duration,
        )


# -- images -----------------------------------------------------------------------------------
def _read_image(path: str) -> np.ndarray:
    import cv2

    # imdecode via np.fromfile so that non-ASCII paths work; IMREAD_COLOR applies EXIF orientation.
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise VideoError(path, "not a readable image")
    return image


class _Images(VideoSource):
    def __init__(self, info: VideoInfo, files: list[str], queue_size: int = 32):
        super().__init__(info, queue_size)
        self.files = files

    def _frames(self) -> Iterator[Frame]:
        for index, file in enumerate(self.files):
            if self._stop.is_set():
                return
            t_s = index / self.info.fps if self.info.fps else float("nan")
            yield Frame(index, t_s, _read_image(file))


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def image_files(folder: str | os.PathLike[str]) -> list[str]:
    """Image files directly inside ``folder``, in natural order (``2.jpg`` before ``10.jpg``)."""
    names = [
        entry.name
        for entry in os.scandir(folder)
        if entry.is_file()
        and not entry.name.startswith(".")
        and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES
    ]
    return [os.path.join(folder, n) for n in sorted(names, key=_natural_key)]


# -- entry point ------------------------------------------------------------------------------
def open_source(
    path: str | os.PathLike[str], queue_size: int = 32, images_fps: float | None = None
) -> VideoSource:
    """Open a video file, an image, or a folder of images.

    Args:
        path: the input.
        queue_size: frames decoded ahead (bounds memory: about ``queue_size`` frames).
        images_fps: for a folder of images that are a sequence, their frame rate; None (default)
            treats them as unrelated stills (``fps`` None, ``t_s`` NaN, no smoothing in time).

    Raises:
        VideoError: the path is missing, empty, not a video or image, or does not decode.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoError(path, "no such file or folder")
    if os.path.isdir(path):
        files = image_files(path)
        if not files:
            raise VideoError(path, f"folder holds no image ({', '.join(sorted(IMAGE_SUFFIXES))})")
        first = _read_image(files[0])
        info = VideoInfo(
            path=path,
            kind="images",
            fps=images_fps,
            frames=len(files),
            width=int(first.shape[1]),
            height=int(first.shape[0]),
            rotation=0,
            codec=Path(files[0]).suffix.lower().lstrip("."),
            duration_s=len(files) / images_fps if images_fps else None,
        )
        return _Images(info, files, queue_size)
    size = os.path.getsize(path)
    if size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        image = _read_image(path)
        info = VideoInfo(
            path=path,
            kind="image",
            fps=None,
            frames=1,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            rotation=0,
            codec=Path(path).suffix.lower().lstrip("."),
            duration_s=None,
        )
        return _Images(info, [path], queue_size)
    return _AvVideo(_probe_video(path), queue_size)
