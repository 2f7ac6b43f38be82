"""Frames of a camera or a network stream as they come, reconnecting when a stream drops.

A source is named as on the command line (`parse_source`): a camera index (``0``) or device
(``/dev/video0``), opened with FFmpeg's ``v4l2`` input, or a network stream (``rtsp://``,
``udp://``, ``http(s)://``, ``rtmp://``, ``srt://``, ``tcp://``) that PyAV opens. `LiveFrames`
reads it on a thread of its own and keeps only the newest frames (a camera does not wait for the
analysis: the older frames are dropped, counted); a stream that stops sending (no frame for
``read_timeout_s``), ends or fails is opened again with growing pauses until ``give_up_s`` have
passed without a frame, each step said through ``on_event``. Frames carry their time
(seconds after the session's first frame: a connection's first frame's arrival, then its
stream's timestamps); every packet received, dropped frames' too, is
hashed (``digest``, ``size_bytes``) for the session's id.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Stream timestamps further than this from the arrival times (s) start again from the arrival
#: time: a sender that restarted within the read timeout, its clock reset.
REANCHOR_S = 2.0
#: How much of a network stream FFmpeg reads to learn its format before the first frame
#: (microseconds; its default, 5 s, would hold back the start of a live session).
ANALYZE_US = "1000000"

NETWORK_SCHEMES = ("rtsp", "rtsps", "udp", "rtp", "http", "https", "rtmp", "srt", "tcp")


class SourceError(Exception):
    """A source that cannot be opened or read; the message names it and says why."""


@dataclass(frozen=True)
class SourceSpec:
    """What to open: FFmpeg's URL or device, its input format (None: probed) and options."""

    text: str  # as the user named it
    url: str
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def network(self) -> bool:
        return self.format is None


def parse_source(text: str) -> SourceSpec:
    """The source named by ``text``: ``0`` / ``/dev/videoN`` / a network URL.

    Raises:
        SourceError: for anything else, saying what is expected.
    """
    value = text.strip()
    if value.isdigit():
        return SourceSpec(text, f"/dev/video{int(value)}", "v4l2")
    if value.startswith("/dev/"):
        return SourceSpec(text, value, "v4l2")
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme in NETWORK_SCHEMES:
        options = {"analyzeduration": ANALYZE_US}
        if scheme.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        if scheme == "udp":  # a late reader must not end the stream; the queue drops instead
            options |= {"overrun_nonfatal": "1", "fifo_size": "1000000"}
        return SourceSpec(text, value, None, options)
    raise SourceError(
        f"source {text!r}: expected a camera index (0), a device (/dev/video0) or a network "
        f"stream ({', '.join(s + '://' for s in NETWORK_SCHEMES)})"
    )


@dataclass
class LiveFrame:
    """A received frame: its number (from 0, dropped ones included), time (s after the first
    frame) and picture: a BGR image, or the decoded frame, converted to one on first use (a
    frame dropped unused is never converted)."""

    index: int
    t_s: float
    picture: Any

    @property
    def image(self) -> np.ndarray:
        """The frame as a BGR image."""
        if not isinstance(self.picture, np.ndarray):
            self.picture = self.picture.to_ndarray(format="bgr24")
        return self.picture


class LiveFrames:
    """The newest frames of a source, read on a thread; iterate to take them as they come.

    Frames are decoded as they arrive, dropped ones too (a stream's frames depend on the ones
    before), but converted to BGR only when taken.

    ``keep``: frames held for the caller at most (an older one is dropped for a newer);
    ``dropped`` counts the frames dropped so. Iteration ends when ``stop()`` is called, the
    source has given up, or (a camera too) it cannot be opened at first; ``error`` then says
    why. ``fps``: the stream's declared frame rate once opened (None if it has none).
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        keep: int = 2,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 3.0,
        give_up_s: float = 30.0,
        on_event: Callable[[str, str], None] = lambda kind, message: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec, self.keep, self.on_event, self.clock = spec, keep, on_event, clock
        self.open_timeout_s, self.read_timeout_s, self.give_up_s = (
            open_timeout_s,
            read_timeout_s,
            give_up_s,
        )
        self.dropped = 0
        self.frames = 0  # frames received
        self.digest = hashlib.sha256()  # of every packet received
        self.size_bytes = 0
        self.error: str | None = None
        self.fps: float | None = None
        self.opened = threading.Event()  # set once the source has been opened (or given up)
        self._waiting: deque[LiveFrame] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._done = False
        self._t0: float | None = None
        self._last_t_s = 0.0
        self._last_frame_at = 0.0  # clock() at the last frame
        self._thread = threading.Thread(target=self._run, name="live-source", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading; iteration ends after the frames already held."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        self.stop()
        self._thread.join(timeout=self.read_timeout_s + 2.0)

    def __iter__(self) -> Iterator[LiveFrame]:
        while True:
            with self._cond:
                while not self._waiting and not self._done and not self._stop.is_set():
                    self._cond.wait(0.5)
                if self._waiting:
                    frame = self._waiting.popleft()
                elif self._done or self._stop.is_set():
                    return
                else:
                    continue
            yield frame

    # -- the reader thread ---------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._read_with_reconnects()
        finally:
            self.opened.set()
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _read_with_reconnects(self) -> None:
        name = self.spec.text
        started = self.clock()
        pause = 0.5
        first = True
        while not self._stop.is_set():
            before = self.frames
            try:
                self._read_once()
                reason = f"source {name!r}: the stream ended"
            except SourceError as exc:
                if first and not self.spec.network:
                    self.error = str(exc)  # a camera that is not there: no point waiting
                    return
                reason = str(exc)
            if self.frames > before:
                pause = 0.5
            first = False
            if self._stop.is_set():
                return
            waited = self.clock() - max(started, self._last_frame_at)
            if waited >= self.give_up_s:
                self.error = f"{reason}; gave up after {waited:.0f} s without a frame"
                self.on_event("gave_up", self.error)
                return
            self.on_event("reconnecting", f"{reason}; reconnecting in {pause:.1f} s")
            self._stop.wait(pause)
            pause = min(pause * 2, 5.0)

    def _read_once(self) -> None:
        """Open the source and read it until it ends, fails or is stopped."""
        import av

        spec = self.spec
        try:
            container: Any = av.open(
                spec.url,
                format=spec.format,
                options=spec.options,
                timeout=(self.open_timeout_s, self.read_timeout_s),
            )
        except Exception as exc:
            raise SourceError(
                f"source {spec.text!r}: cannot open {spec.url}: {_reason(exc)}"
            ) from exc
        got = False
        opened_at = self.clock()
        try:
            if not container.streams.video:
                raise SourceError(f"source {spec.text!r}: {spec.url} holds no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            self.fps = float(rate) if rate else None
            self.opened.set()
            time_base = float(stream.time_base or 0)
            clock = _StreamClock(self, time_base)
            for packet in container.demux(stream):
                if self._stop.is_set():
                    break
                data = bytes(packet)
                self.digest.update(data)
                self.size_bytes += len(data)
                try:
                    decoded = packet.decode()
                except av.error.InvalidDataError:
                    # Joined mid-stream, the decoder has nothing to go on until the next
                    # keyframe (10 s apart on some cameras); a damaged packet, the next keyframe
                    # mends it. Reconnecting would only start that wait again, so wait here,
                    # as long as a reconnecting source would before giving up.
                    if self.clock() - max(opened_at, self._last_frame_at) < self.give_up_s:
                        continue
                    raise
                for av_frame in decoded:
                    if not got:
                        self._said_receiving(av_frame)
                    self._put(clock.time(av_frame.pts), av_frame)
                    got = True
        except SourceError:
            raise
        except Exception as exc:  # a dropped connection or a read timeout: reconnect
            if self._stop.is_set():
                return
            raise SourceError(f"source {spec.text!r}: {_reason(exc)}") from exc
        finally:
            container.close()

    def _said_receiving(self, av_frame: Any) -> None:
        what = f"{av_frame.width}x{av_frame.height}"
        what += f", {self.fps:g} frames/s" if self.fps else ""
        if self.frames:
            self.on_event("reconnected", f"source {self.spec.text!r}: receiving again ({what})")
        else:
            self.on_event("receiving", f"source {self.spec.text!r}: receiving ({what})")

    def arrival(self) -> float:
        """Now, in seconds after the session's first frame (0 before it)."""
        now = self._last_frame_at = self.clock()
        self._t0 = now if self._t0 is None else self._t0
        return now - self._t0

    def _put(self, t_s: float, picture: Any) -> None:
        t_s = max(t_s, self._last_t_s + 0.001) if self.frames else t_s
        self._last_t_s = t_s
        frame = LiveFrame(self.frames, t_s, picture)
        self.frames += 1
        with self._cond:
            if len(self._waiting) >= self.keep:
                self._waiting.popleft()
                self.dropped += 1
            self._waiting.append(frame)
            self._cond.notify_all()


class _StreamClock:
    """A connection's frame times: its first frame's arrival, then the stream's own timestamps
    (a stream's first frames come in a burst, after FFmpeg has probed them); arrival times
    where the stream has none."""

    def __init__(self, frames: LiveFrames, time_base: float) -> None:
        self.frames, self.time_base = frames, time_base
        self.start: tuple[float, int] | None = None

    def time(self, pts: int | None) -> float:
        if pts is None or not self.time_base:
            return self.frames.arrival()
        now = self.frames.arrival()
        if self.start is not None:
            t_s = self.start[0] + (pts - self.start[1]) * self.time_base
            if abs(t_s - now) <= REANCHOR_S:
                return t_s
        self.start = (now, pts)  # the first frame, or the sender restarted its clock
        return now


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "Immediate exit requested" in text:  # FFmpeg's words for PyAV's timeout
        return "no data within the timeout"
    return re.sub(r"\s+", " ", text.replace(os.linesep, " ")).strip()
