"""A live session's video: the frames kept as the JPEGs they came as, transcoded once it ends.

During a session nothing is encoded on the live path: :class:`SessionVideo` muxes each frame's
JPEG bytes, as received, as one packet of an MJPEG stream into a hidden Matroska temporary
(``.live-<hex>.tmp.mkv``, about 0.1 ms a frame; a frame that came decoded, as the command
line's do, is JPEG-encoded first at `MAX_HEIGHT` lines at most). Each packet is stamped with the
frame's time in milliseconds, so the file keeps the session's measured frame rate, gaps
included. :meth:`SessionVideo.finish`, in the session's save step, transcodes the temporary to
the browser-playable H.264 .mp4 (`transcode`: every frame, in order, at its own time, at most
`MAX_HEIGHT` lines) under a second hidden name beside the target and renames it into place, so
nothing half-written is ever read; the temporary is then removed.

The temporary costs disk, not memory: a 1080p JPEG of quality 80 is about 95 kB, some 1.5 GB for
10 minutes at 28 frames/s (the web page's 640-wide frames about a sixth of that).
`remove_stale` clears what a crashed process left.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analysis.io.jpeg_reduced import decode_flag
from analysis.io.overlay import pick_codec
from analysis.io.recording import MAX_HEIGHT, TIME_BASE, time_ms
from posecoach.stage_times import StageTimes

#: JPEG quality of frames that came decoded (kept once, transcoded once more at the end).
JPEG_QUALITY = 90

#: Temporaries older than this are a crashed process's: a running session's grows every frame.
STALE_S = 24 * 3600.0

#: How much the transcoding thread yields to the live sessions still running (Linux nice is per
#: thread, and the encoder's own threads inherit it).
TRANSCODE_NICE = 10

_PREFIX = ".live-"


def even_size(width: int, height: int, max_height: int = MAX_HEIGHT) -> tuple[int, int]:
    """A frame's size as recorded: at most ``max_height`` lines (aspect kept), even (yuv420p)."""
    if height > max_height:
        width, height = round(width * max_height / height), max_height
    return width + width % 2, height + height % 2


class SessionVideo:
    """Keeps frames in ``folder/.live-<hex>.tmp.mkv`` until :meth:`finish` transcodes them.

    ``write(image, t_s, jpeg=...)``: a frame (BGR; its size is the stream's) and its time in
    seconds (increasing; a frame at a time already written is skipped), with the JPEG it was
    decoded from when there is one (muxed as is) or none (``image`` is encoded). ``error`` holds
    why writing stopped, if it did; later frames are then not kept, and the session goes on.
    """

    def __init__(self, folder: str | os.PathLike[str], max_height: int = MAX_HEIGHT) -> None:
        self.folder = Path(folder)
        self.max_height = max_height
        self.tmp = self.folder / f"{_PREFIX}{uuid.uuid4().hex}.tmp.mkv"
        self.frames = 0  # frames kept
        self.size: tuple[int, int] | None = None  # width, height of the .mp4
        self.error: str | None = None
        self.codec: str | None = None  # the .mp4's format (h264, mpeg4), once transcoded
        self.finished: Path | None = None  # the .mp4, once finished
        #: ms per frame: keep (muxing, on the live path), jpeg_encode (frames that came
        #: decoded), transcode (in the save step).
        self.times = StageTimes()
        self._container: Any = None
        self._stream: Any = None
        self._last_ms = -1

    def write(
        self,
        image: np.ndarray,
        t_s: float,
        jpeg: bytes | None = None,
        size: tuple[int, int] | None = None,
    ) -> bool:
        """Keep a frame; False when it is not kept (its time is not after the last's, or
        writing has stopped). ``size``: the JPEG's width and height where ``image`` was
        decoded from it at a reduced scale (`analysis.io.jpeg_reduced`)."""
        ms = time_ms(t_s)
        if self.error is not None or ms <= self._last_ms:
            return False
        self._last_ms = ms
        try:
            width, height = size or (int(image.shape[1]), int(image.shape[0]))
            if jpeg is None:
                with self.times.timed("jpeg_encode"):
                    jpeg, (width, height) = _encode(image, self.max_height)
            with self.times.timed("keep"):
                self._mux(jpeg, ms, width, height)
        except Exception as exc:  # a full disk: the session goes on without its video
            self.error = f"{type(exc).__name__}: {exc}"
            self._close()
            return False
        self.frames += 1
        return True

    def _mux(self, jpeg: bytes, ms: int, width: int, height: int) -> None:
        import av

        if self._container is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._container = av.open(str(self.tmp), "w", format="matroska")
            # The encoder is opened for the header's parameters only: packets go in as they are.
            stream = self._container.add_stream("mjpeg", rate=30)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuvj420p"
            stream.time_base = TIME_BASE
            self._stream = stream
        packet = av.Packet(jpeg)
        packet.pts = packet.dts = ms
        packet.time_base = TIME_BASE
        packet.stream = self._stream
        self._container.mux(packet)

    def _close(self) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None

    def finish(self, path: str | os.PathLike[str]) -> Path | None:
        """Transcode the frames kept to ``path`` (H.264, else MPEG-4), renamed into place when
        complete, and remove the temporary; None (and no file) when no frame was kept or
        transcoding failed (then ``error`` says why)."""
        self._close()
        target = Path(path)
        try:
            if self.error is not None or not self.frames or not self.tmp.exists():
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.parent / f"{_PREFIX}{uuid.uuid4().hex}.tmp.mp4"
            try:
                self.size, self.codec = _in_thread(
                    lambda: transcode(self.tmp, partial, self.max_height, self.times)
                )
                os.replace(partial, target)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                return None
            finally:
                partial.unlink(missing_ok=True)
            self.finished = target
            return target
        finally:
            self.tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop and remove the temporary file."""
        self._close()
        self.tmp.unlink(missing_ok=True)


def _encode(image: np.ndarray, max_height: int) -> tuple[bytes, tuple[int, int]]:
    """A decoded frame as a JPEG of at most ``max_height`` lines, and its size."""
    h, w = image.shape[:2]
    if h > max_height:
        size = (round(w * max_height / h), max_height)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"cannot encode a {w}x{h} frame as JPEG")
    return bytes(data), (int(image.shape[1]), int(image.shape[0]))


def transcode(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    max_height: int = MAX_HEIGHT,
    times: StageTimes | None = None,
) -> tuple[tuple[int, int], str]:
    """Write ``source``'s MJPEG frames to ``target`` as an .mp4: every frame at its own time,
    scaled to the first's size (`even_size`); the size and the codec's name. A frame that does
    not decode (none should: each was decoded or encoded as it was kept) repeats the one
    before, so frame numbers stay those of the stored keypoints."""
    import av

    with av.open(str(source)) as reader, av.open(str(target), "w", format="mp4") as writer:
        stream = reader.streams.video[0]
        base = stream.time_base or TIME_BASE
        out: Any = None
        size = (0, 0)
        last: np.ndarray | None = None
        flag: int | None = None  # decided on the first frame (a session's keep one size)
        for packet in reader.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            start = time.perf_counter()
            data = np.frombuffer(bytes(packet), np.uint8)
            if flag is None:
                image = cv2.imdecode(data, cv2.IMREAD_COLOR)
                flag = None if image is None else decode_flag(image.shape[0], max_height)
            else:
                image = cv2.imdecode(data, flag)
            image = last if image is None else image
            if image is None:
                continue
            if out is None:
                size = even_size(image.shape[1], image.shape[0], max_height)
                out = _h264(writer, size)
            frame = av.VideoFrame.from_ndarray(np.asarray(image, np.uint8), format="bgr24")
            frame = frame.reformat(size[0], size[1], "yuv420p", interpolation="AREA")
            frame.pts, frame.time_base = round(packet.pts * base * 1000), TIME_BASE
            for encoded in out.encode(frame):
                writer.mux(encoded)
            last = image
            if times is not None:
                times.add("transcode", (time.perf_counter() - start) * 1000.0)
        if out is None:
            raise ValueError(f"{source}: no frame to transcode")
        for encoded in out.encode():
            writer.mux(encoded)
        codec = str(av.codec.Codec(out.codec_context.name, "w").canonical_name)
    return size, codec


def _h264(writer: Any, size: tuple[int, int]) -> Any:
    codec = pick_codec()
    stream = writer.add_stream(codec, rate=30)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = TIME_BASE
    stream.time_base = TIME_BASE
    if codec == "libx264":  # as fast as ultrafast here, a third of its size
        stream.codec_context.options = {"preset": "veryfast"}
    return stream


def _in_thread(work: Any) -> Any:
    """``work()`` on a thread of its own, at a lower priority (live sessions still running
    come first); its result, or its exception raised here."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        with contextlib.suppress(OSError):  # a platform without per-thread nice
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRANSCODE_NICE)
        try:
            result.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="live-transcode", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def remove_stale(folder: str | os.PathLike[str] | None, max_age_s: float = STALE_S) -> int:
    """Remove the temporaries (``.live-*``) under ``folder`` left by a process that stopped
    mid-session or mid-transcode: only those untouched for ``max_age_s``, never a running
    session's (written every frame). How many were removed."""
    if folder is None or not Path(folder).is_dir():
        return 0
    removed = 0
    cutoff = time.time() - max_age_s
    for leftover in Path(folder).rglob(f"{_PREFIX}*"):
        with contextlib.suppress(OSError):
            stat = leftover.lstat()
            if leftover.is_file() and not leftover.is_symlink() and stat.st_mtime < cutoff:
                leftover.unlink()
                removed += 1
    return removed
