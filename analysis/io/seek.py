"""Single frames of a video, addressed by the index and time the engine gave them.

For pictures of a few frames (thumbnails in the reports) without decoding the whole video;
see :class:`FrameSeeker`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from analysis.io.video import VideoError, frame_pts

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame


class FrameSeeker:
    """Single frames of a video file, addressed as the engine numbered and timed them.

    The engine counts frames in decoding order and times them from their presentation
    timestamps (``t_s``, seconds after the first frame). Seeking by frame number through a mean
    frame rate, as OpenCV's ``CAP_PROP_POS_FRAMES`` does, lands on the wrong frame in a
    variable-frame-rate video (phones record those); this seeks to the frame's own timestamp
    and decodes forward to the frame that carries it, and counts frames from the start when
    there is no timestamp to go by. Frames come back as decoded: not rotated.

    Raises:
        VideoError: when the file cannot be opened or holds no decodable frame.
    """

    #: Decode through gaps of up to this many frames rather than seek (a seek restarts at the
    #: keyframe before the target, often further back than that).
    FORWARD = 48

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._container: InputContainer | None = None
        self._open()

    def _open(self) -> None:
        import av

        self.close()
        try:
            self._container = av.open(self.path)
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
            frames = self._container.decode(self._stream)
            first = next(frames, None)
        except Exception as exc:
            self.close()
            raise VideoError(self.path, f"cannot decode: {type(exc).__name__}: {exc}") from exc
        if first is None:
            self.close()
            raise VideoError(self.path, "the video stream holds no decodable frame")
        self._time_base = self._stream.time_base or Fraction(1, 1)
        self._first_pts = frame_pts(first)
        self._frames: Iterator[VideoFrame] = itertools.chain((first,), frames)
        self._pos: int | None = 0  # the index of the frame self._frames yields next

    def read(self, index: int, t_s: float | None = None) -> np.ndarray | None:
        """Frame ``index`` (BGR), found by its timestamp ``t_s`` when given; None past the end
        or when the frame cannot be decoded."""
        if index < 0:
            return None
        try:
            near = self._pos is not None and self._pos <= index <= self._pos + self.FORWARD
            if not near:
                if t_s is not None and np.isfinite(t_s):
                    found = self._seek(float(t_s))
                    if found is not None:
                        self._pos = index + 1
                        return found.to_ndarray(format="bgr24")
                if self._pos is None or index < self._pos:
                    self._open()
            assert self._pos is not None
            for _ in range(index - self._pos):
                next(self._frames)
                self._pos += 1
            frame = next(self._frames)
            self._pos += 1
            return frame.to_ndarray(format="bgr24")
        except StopIteration:
            return None
        except Exception:  # a corrupt stretch: this frame is lost, later ones may not be
            self._pos = None
            return None

    def _seek(self, t_s: float) -> VideoFrame | None:
        """The frame whose timestamp is ``t_s``, or None (then the caller counts frames)."""
        if self._first_pts is None or self._container is None:
            return None
        self._pos = None  # unknown until a frame is matched
        target = self._first_pts + round(t_s / float(self._time_base))
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        for frame in self._frames:
            pts = frame_pts(frame)
            if pts is None or pts > target:
                return None  # overshot, or no frame has that time: fall back to counting
            if pts == target:
                return frame
        return None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
