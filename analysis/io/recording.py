"""A video written as its frames arrive: ``posecoach live --overlay``'s drawn frames.

(A live session's own video keeps its frames as JPEGs and is encoded only when the session
ends: `analysis.io.session_video`.)

:class:`FrameRecorder` encodes BGR frames to an .mp4 (H.264 when the FFmpeg build has it, else
MPEG-4 part 2) on a writer thread, each frame stamped with its own arrival time in
milliseconds, so the file keeps the session's measured frame rate, gaps included, and a frame
is found again by its time (:class:`analysis.io.seek.FrameSeeker`). Frames wait in a bounded
queue (memory stays flat; a writer that falls behind holds up the caller rather than keep
frames without bound). The file grows under a hidden temporary name in the target folder and
is renamed into place by :meth:`FrameRecorder.finish`, so nothing half-written is ever read.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from analysis.io.overlay import pick_codec
from posecoach.stage_times import StageTimes

#: Milliseconds: frame times are kept to the millisecond (the stored keypoints' ``t_s`` too, so
#: a frame's time finds its frame exactly).
TIME_BASE = Fraction(1, 1000)

#: Frames taller than this are recorded at this height (aspect kept): encoding is the session's
#: dearest step after the pose model (1080 lines cost twice 540 with libx264 ultrafast), and the
#: reports' frame reader scales frames back to the stored size, so their points still fit.
MAX_HEIGHT = 540


def time_ms(t_s: float) -> int:
    """A frame time as the recording stamps it (whole milliseconds)."""
    return int(round(t_s * 1000.0))


class FrameRecorder:
    """Writes frames to ``folder/<hidden temporary>.mp4`` until :meth:`finish` names the file.

    ``write(image, t_s)``: a BGR frame (recorded at the first frame's size, or ``max_height``
    lines if it is taller; every frame is scaled to that size) and its time in seconds (increasing; frames at a time already written
    are skipped). ``error`` holds why the writer stopped, if it did; the caller's frames are
    then no longer recorded, and the session goes on.
    """

    def __init__(
        self, folder: str | os.PathLike[str], queue_frames: int = 8, max_height: int = MAX_HEIGHT
    ) -> None:
        self.folder = Path(folder)
        self.max_height = max_height
        self.tmp = self.folder / f".live-{uuid.uuid4().hex}.tmp.mp4"
        self.frames = 0  # frames written
        self.size: tuple[int, int] | None = None  # width, height of the file
        self.error: str | None = None
        self.codec: str | None = None  # the format's name (h264, mpeg4), once a frame is in
        self.finished: Path | None = None  # the file, once finished
        self.times = StageTimes()  # ms per frame: encode (on the writer thread)
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(queue_frames)
        self._thread: threading.Thread | None = None
        self._last_ms = -1

    def write(self, image: np.ndarray, t_s: float) -> bool:
        """Queue a frame; False when it is not recorded (its time is not after the last's, or
        the writer has stopped)."""
        ms = time_ms(t_s)
        if self.error is not None or ms <= self._last_ms:
            return False
        self._last_ms = ms
        if self._thread is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._thread = threading.Thread(target=self._run, name="live-recorder", daemon=True)
            self._thread.start()
        self._queue.put((image, ms))
        return True

    def _run(self) -> None:
        import av

        container: Any = None
        try:
            container = av.open(str(self.tmp), "w", format="mp4")
            stream: Any = None
            while (item := self._queue.get()) is not None:
                image, ms = item
                if stream is None:
                    stream = self._open_stream(container, image)
                with self.times.timed("encode"):
                    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                    # One pass of scaling and colour conversion, to the file's size.
                    assert self.size is not None  # set with the stream
                    width, height = self.size
                    frame = frame.reformat(width, height, "yuv420p", interpolation="AREA")
                    frame.pts, frame.time_base = ms, TIME_BASE
                    for packet in stream.encode(frame):
                        container.mux(packet)
                self.frames += 1
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
        except Exception as exc:  # a full disk or a broken encoder: the session goes on
            self.error = f"{type(exc).__name__}: {exc}"
            while self._queue.get() is not None:  # let the caller's puts through
                pass
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.close()

    def _open_stream(self, container: Any, image: np.ndarray) -> Any:
        h, w = image.shape[:2]
        if h > self.max_height:
            w, h = round(w * self.max_height / h), self.max_height
        self.size = (w + w % 2, h + h % 2)  # yuv420p needs even sizes
        import av

        codec = pick_codec()
        self.codec = av.codec.Codec(codec, "w").canonical_name
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height = self.size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = TIME_BASE
        stream.time_base = TIME_BASE
        if codec == "libx264":  # a live session must not fall behind the camera
            stream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
        return stream

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def finish(self, path: str | os.PathLike[str]) -> Path | None:
        """Close the file and rename it to ``path``; None (and no file) when no frame was
        recorded or the writer failed (then ``error`` says why)."""
        self._stop()
        target = Path(path)
        try:
            if self.error is not None or not self.frames or not self.tmp.exists():
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.tmp, target)
            self.finished = target
            return target
        finally:
            self.tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop and remove the temporary file."""
        self._stop()
        self.tmp.unlink(missing_ok=True)
