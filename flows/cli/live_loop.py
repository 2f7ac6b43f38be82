"""The loop of ``posecoach live``: a source's frames through a live session, its events printed.

`run_live` takes the newest frames of an `analysis.io.live_source.LiveFrames` (older ones are
dropped while the models run), pushes each through a `flows.live_store.LiveRecording` (pose,
online counters, the session's video) and prints, one line each as they happen, every counted
rep and every finished rep's cue (`EventPrinter`; JSON lines with ``--json``), and the source's
drops and reconnections. It ends when the source ends or gives up, or when ``stop`` is called
(Ctrl-C, ``--duration``); the caller stores the recording.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from analysis.io.drawing import outlined_text, track_color
from analysis.io.live_source import LiveFrames
from analysis.io.overlay import draw_rows
from analysis.io.recording import FrameRecorder
from flows.live_store import LivePose, LiveRecording
from rules.online_records import LiveRep
from rules.schema import RuleFile


@dataclass
class EventPrinter:
    """Prints a session's events, one line each: text for people (events of the source on
    ``err``), or one JSON object a line, all on ``out``."""

    json_lines: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def _emit(self, event: dict[str, Any], text: str, stream: TextIO | None = None) -> None:
        if self.json_lines:
            print(json.dumps(event), file=self.out, flush=True)
        else:
            print(text, file=stream or self.out, flush=True)

    def rep(self, t_s: float, track_id: int, reps: int) -> None:
        event = {"event": "rep", "t_s": round(t_s, 2), "track_id": track_id, "reps": reps}
        self._emit(event, f"{t_s:8.2f} s  #{track_id}  rep {reps}")

    def cue(self, t_s: float, track_id: int, rep: LiveRep) -> None:
        event = {
            "event": "cue",
            "t_s": round(t_s, 2),
            "track_id": track_id,
            "rep": rep.index + 1,
            "kind": rep.kind,
            "duration_s": round(rep.duration_s, 2),
            "cue": rep.cue,
        }
        self._emit(event, f"{t_s:8.2f} s  #{track_id}  rep {rep.index + 1}: {rep.cue or 'ok'}")

    def source(self, kind: str, message: str) -> None:
        self._emit({"event": kind, "message": message}, f"posecoach live: {message}", self.err)

    def saved(
        self,
        video_id: str,
        recording: LiveRecording,
        dropped: int,
        path: str,
        report: Path | None = None,
    ) -> None:
        """The stored session, last: its counts, its video and its report page (if built)."""
        reps = {tid: len(r) for tid, r in recording.session.reps.items()}
        event = {
            "event": "saved",
            "video_id": video_id,
            "frames": recording.frames,
            "processed": recording.processed,
            "dropped": dropped,
            "reps": {str(t): n for t, n in reps.items()},
            "video": path,
            "report": str(report) if report is not None else None,
        }
        counted = ", ".join(f"#{t}: {n}" for t, n in reps.items()) or "nobody seen"
        self._emit(
            event,
            f"saved {video_id}: {recording.processed} of {recording.frames} frames analysed "
            f"({dropped} dropped while the models ran), reps {counted}; video {path}; "
            f"report {report or 'not built'}",
        )


@dataclass
class LiveRun:
    """What `run_live` leaves: the recording (None: no frame came) and the overlay written."""

    recording: LiveRecording | None
    overlay: Path | None = None


def run_live(
    frames: LiveFrames,
    make_pose: Callable[[float | None], LivePose],
    rule: RuleFile,
    *,
    view: str | None,
    video_dir: Path | None,
    printer: EventPrinter,
    duration_s: float | None = None,
    overlay: Path | None = None,
) -> LiveRun:
    """Run a session over ``frames`` until they end (or ``frames.stop()``; ``duration_s`` after
    the first frame). ``make_pose(fps)``: the session's estimator, made once the stream's frame
    rate is known (None: the stream does not say)."""
    recording: LiveRecording | None = None
    drawn = FrameRecorder(overlay.parent) if overlay is not None else None
    timer: threading.Timer | None = None
    seen = 0
    counted: dict[int, int] = {}
    cued: dict[int, int] = {}
    try:
        for frame in frames:
            if duration_s is not None and frame.t_s >= duration_s:
                frames.stop()
                break
            if recording is None:
                recording = LiveRecording(rule, view, make_pose(frames.fps), video_dir)
                if duration_s is not None:
                    timer = threading.Timer(duration_s, frames.stop)
                    timer.daemon = True
                    timer.start()
            # Frames dropped unprocessed count as received (the session's frame numbers).
            recording.frames = frame.index
            image = frame.image
            if recording.shape is not None and image.shape[1::-1] != recording.shape:
                # A stream back at another size after a reconnect: the session's video and rows
                # have one frame size, so its frames are brought to it.
                image = cv2.resize(image, recording.shape, interpolation=cv2.INTER_AREA)
            reply = recording.push(recording.received(b"", frame.t_s), frame.t_s, image)
            seen = frame.index + 1
            for person in reply["people"]:
                tid, reps = person["track_id"], person["reps"]
                if reps > counted.get(tid, 0):
                    printer.rep(frame.t_s, tid, reps)
                counted[tid] = reps
            _print_ended(printer, recording, frame.t_s, counted, cued)
            if drawn is not None:
                drawn.write(_overlay(frame.image, recording, reply), recording.last_stamp)
    finally:
        if timer is not None:
            timer.cancel()
        frames.close()
    if recording is not None:
        # A rep on its way back when the session stops ends here, as it does offline: say it
        # (and a track's that ended unseen), so the lines add up to what is stored.
        recording.session.finish()
        _print_ended(printer, recording, recording.last_t_s, counted, cued)
        recording.frames = max(seen, frames.frames)
        recording.digest, recording.size_bytes = frames.digest, frames.size_bytes
    written = None
    if drawn is not None and overlay is not None:
        written = drawn.finish(overlay) if recording is not None else None
        if written is None:
            drawn.abort()
    return LiveRun(recording, written)


def _print_ended(
    printer: EventPrinter,
    recording: LiveRecording,
    t_s: float,
    counted: dict[int, int],
    cued: dict[int, int],
) -> None:
    """Print each rep ended since the last call: its count where no reply counted it yet (a
    track finished unseen, or by the session's end), then its cue."""
    for tid, ended in recording.session.reps.items():
        for n in range(counted.get(tid, 0) + 1, len(ended) + 1):
            printer.rep(t_s, tid, n)
        counted[tid] = max(counted.get(tid, 0), len(ended))
        for rep in ended[cued.get(tid, 0) :]:
            printer.cue(t_s, tid, rep)
        cued[tid] = len(ended)


def _overlay(image: np.ndarray, recording: LiveRecording, reply: dict[str, Any]) -> np.ndarray:
    """The frame with each person's box, skeleton and count drawn (a copy: the session's own
    video keeps the frame as it came)."""
    out = image.copy()
    rows = recording.last
    if len(rows):
        draw_rows(out, rows, 0.3)
    scale = max(0.5, min(out.shape[:2]) / 720)
    thick = max(1, round(scale * 2))
    for k, person in enumerate(reply["people"]):
        tid = person["track_id"]
        text = f"#{tid}  reps {person['reps']}  {person['phase']}"
        y = int((k + 1) * 34 * scale)
        outlined_text(out, text, (10, y), scale, track_color(tid), thick)
    return out
