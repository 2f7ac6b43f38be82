"""How far the analysis of a video has got: a small record per video beside the claims.

``<store>/_progress/<video_id>.json`` holds ``{"frames_done", "frames_total", "updated_at"}``.
The worker analysing the video writes it (`ProgressRecorder`, the engine's progress callback)
and removes it when the video is done; the web app reads it (`read_progress`) for a video whose
claim is held. It lives in the store, not in the web app's memory, because the analysis may run
in a worker process or on a work pool's machine that shares only the store.

A record is replaced whole, never written in place: locally under a hidden temporary name and
renamed (``os.replace``, atomic on POSIX), on an object store in one PUT. So a reader sees the
previous record or the next, never half of one. Writes are throttled (`MIN_INTERVAL_S`): a long
video calls the engine's callback thousands of times, and a status page polls every few
seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import posixpath
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from posecoach.store import Store

log = logging.getLogger("posecoach.flows")

PROGRESS_DIR = "_progress"
#: Seconds between two writes of one video's record (the first and the last are always written).
MIN_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Progress:
    """Frames analysed of a video so far, of those it is expected to have."""

    frames_done: int
    frames_total: int
    updated_at: str

    @property
    def fraction(self) -> float:
        """``frames_done / frames_total`` in 0..1 (0 for a video of unknown length)."""
        if self.frames_total <= 0:
            return 0.0
        return min(1.0, max(0.0, self.frames_done / self.frames_total))


def progress_path(store: Store, video_id: str) -> str:
    store.file_path("videos", video_id, "2000-01-01")  # validates the id: no path escapes
    return posixpath.join(store.root, PROGRESS_DIR, f"{video_id}.json")


def write_progress(store: Store, video_id: str, frames_done: int, frames_total: int) -> None:
    """Replace the video's record, atomically."""
    path = progress_path(store, video_id)
    payload = json.dumps(
        {
            "frames_done": int(frames_done),
            "frames_total": int(frames_total),
            "updated_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    ).encode()
    directory = posixpath.dirname(path)
    store.fs.makedirs(directory, exist_ok=True)
    if not store.local:
        store.fs.pipe_file(path, payload)  # one PUT: the object is replaced whole
        return
    tmp = posixpath.join(directory, f".{video_id}.json.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def read_progress(store: Store, video_id: str) -> Progress | None:
    """The video's record, or None when there is none (or it cannot be read as one)."""
    try:
        with store.fs.open(progress_path(store, video_id), "rb") as fh:
            data = json.loads(fh.read().decode())
        return Progress(
            frames_done=int(data["frames_done"]),
            frames_total=int(data["frames_total"]),
            updated_at=str(data["updated_at"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not ours, or from an older PoseCoach: no progress rather than an error


def clear_progress(store: Store, video_id: str) -> None:
    """Remove the video's record (the analysis is over, or about to start afresh)."""
    with contextlib.suppress(FileNotFoundError):
        store.fs.rm(progress_path(store, video_id))


class ProgressRecorder:
    """The engine's ``progress(frames_done, frames_total)`` callback, recording into the store.

    Writes the first call, then at most one call every ``min_interval_s`` seconds, and the call
    that first reaches the total. A failed write is not the analysis's failure: it is dropped.
    """

    def __init__(
        self,
        store: Store,
        video_id: str,
        *,
        min_interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.video_id = video_id
        self.min_interval_s = MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self.clock = clock
        self.writes = 0
        self._last: float | None = None
        self._reached = False

    def __call__(self, frames_done: int, frames_total: int) -> None:
        now = self.clock()
        # The total is the container's count or an estimate: past it, throttled again.
        final = frames_done >= frames_total and not self._reached
        if not final and self._last is not None and now - self._last < self.min_interval_s:
            return
        try:
            write_progress(self.store, self.video_id, frames_done, frames_total)
        except Exception as exc:  # e.g. an object store's hiccup: the next call tries again
            log.warning("progress of %s not recorded: %s", self.video_id, exc)
            return
        self._last = now
        self._reached = self._reached or frames_done >= frames_total
        self.writes += 1
