"""A live session's record, shared by ``/api/live`` and ``posecoach live``: frames in, stored.

`LiveRecording.push` takes one processed frame (the decoded image, its number as received, its
time and the JPEG it came as, if it did): it runs the session's pose estimator (`LivePose`),
feeds the people to a `rules.online_session.OnlineSession`, keeps the frame for the session's
video (`analysis.io.session_video.SessionVideo`: the received JPEG muxed as it is, nothing
encoded on the live path) and answers the frame's reply. `store_live` stores the session as a
video with ``source = 'live'``: its video transcoded to H.264 in the save step (renamed into
place before any row names it), its ``keypoints`` and ``videos`` rows, scored as any video; `report_live` builds its reports.

The stored keypoints number frames as the recorded video does (the processed frames, 0, 1, ...;
a frame dropped unprocessed is in neither) and time them as it stamps them (milliseconds from
the first), so the reports find a keypoints row's frame in the file. Replies number frames as
received.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.io.jpeg_reduced import FrameScale, to_frame_pixels
from analysis.io.recording import time_ms
from analysis.io.session_video import SessionVideo
from posecoach import PIPELINE_VERSION
from posecoach.keypoints import KeyPoints
from posecoach.stage_times import StageTimes
from posecoach.store import Store, video_id_for
from posecoach.videos import VideoRow, read_video_rows, write_video_row
from rules.online_session import OnlineSession
from rules.schema import RuleFile

#: One person of a frame as a pose estimator gives it: track id, box ``x1, y1, x2, y2[, score]``
#: and the 17 COCO keypoints ``x, y, score`` in the frame's pixels, and optionally the model's
#: raw points (17, 2) before smoothing (stored as ``xy_raw``; else the keypoints are).
Person = (
    tuple[int, Sequence[float], np.ndarray] | tuple[int, Sequence[float], np.ndarray, np.ndarray]
)
#: The live pose estimator: a decoded BGR frame -> its people (tracked across calls).
LivePose = Callable[[np.ndarray], Sequence[Person]]

#: Rows of this many frames are joined into one `KeyPoints` (memory stays near the rows' own).
CHUNK_FRAMES = 256

#: Where a local store keeps its live sessions' videos: ``<store>/_live/<date>/<video_id>.mp4``.
LIVE_VIDEOS = "_live"


def live_video_dir(store: str | os.PathLike[str]) -> Path | None:
    """The folder of a store's live videos; None for a store that is not a local folder (its
    sessions are stored without a video)."""
    text = os.fspath(store)
    if "://" in text and not text.startswith("file://"):
        return None
    return Path(text.removeprefix("file://")).resolve() / LIVE_VIDEOS


def _finite(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def people_rows(frame: int, t_s: float, people: Sequence[Person]) -> KeyPoints:
    """The keypoints rows of one frame's people."""
    n = len(people)
    box = np.full((n, 5), 1.0, dtype=np.float32)
    kp = np.full((n, 17, 3), np.nan, dtype=np.float32)
    raw = np.full((n, 17, 2), np.nan, dtype=np.float32)
    for k, person in enumerate(people):
        values = np.asarray(person[1], dtype=np.float32).reshape(-1)
        box[k, : min(len(values), 5)] = values[:5]
        kp[k] = np.asarray(person[2], dtype=np.float32).reshape(17, 3)
        raw[k] = np.asarray(person[3]).reshape(17, 2) if len(person) > 3 else kp[k, :, :2]
    return KeyPoints(
        frame=np.full(n, frame),
        t_s=np.full(n, t_s),
        track_id=np.array([int(p[0]) for p in people], dtype=np.int64),
        box=box,
        xy=kp[:, :, :2],
        scores=kp[:, :, 2],
        xy_raw=raw,
    )


@dataclass
class LiveRecording:
    """A session's counters and what it has seen so far (rows, video, the bytes' hash).

    ``video_dir``: where the session's video is written (None: no video is kept).
    """

    rule: RuleFile
    view: str | None  # declared; None: each track's estimated (`rules.online_track`)
    pose: LivePose
    video_dir: Path | None = None
    session: OnlineSession = field(init=False)
    video: SessionVideo | None = field(init=False, default=None)
    rows: list[KeyPoints] = field(default_factory=list)  # the latest frames' rows
    chunks: list[KeyPoints] = field(default_factory=list)  # the earlier ones, joined
    last: KeyPoints = field(default_factory=KeyPoints.empty)  # the last frame's rows
    last_stamp: float = 0.0  # the last frame's time as recorded (s)
    times: StageTimes = field(default_factory=StageTimes)  # ms: record, rules (and decode)
    cues: dict[int, str] = field(default_factory=dict)
    digest: Any = field(default_factory=hashlib.sha256)
    size_bytes: int = 0
    frames: int = 0  # frames received (processed or dropped)
    processed: int = 0  # frames processed: the recorded video's frames
    last_t_s: float = 0.0
    shape: tuple[int, int] | None = None  # width, height of the last processed frame
    _first_ms: int | None = field(init=False, default=None)
    _last_ms: int = field(init=False, default=-1)

    def __post_init__(self) -> None:
        self.session = OnlineSession(self.rule, self.view)
        if self.video_dir is not None:
            self.video = SessionVideo(self.video_dir)

    def received(self, data: bytes, t_s: float) -> int:
        """Count a frame's bytes as they arrive (before any drop): its frame number."""
        self.digest.update(data)
        self.size_bytes += len(data)
        self.last_t_s = t_s
        self.frames += 1
        return self.frames - 1

    def _stamp(self, t_s: float) -> float:
        """The frame's time as recorded: whole ms from the first processed frame, increasing."""
        ms = time_ms(t_s)
        self._first_ms = ms if self._first_ms is None else self._first_ms
        ms = max(ms - self._first_ms, self._last_ms + 1)
        self._last_ms = ms
        return ms / 1000.0

    def push(
        self,
        frame: int,
        t_s: float,
        image: np.ndarray,
        jpeg: bytes | None = None,
        scale: FrameScale | None = None,
    ) -> dict[str, Any]:
        """Process one decoded frame (``jpeg``: the bytes it was decoded from, kept as they are
        for the video; ``scale``: how, where ``image`` is the JPEG decoded at a reduced scale):
        its reply (without ``latency_ms`` and ``dropped``). Replies, rows and the recorded size
        are in the received frame's pixels either way: the estimator sees ``image`` and its
        people are mapped back (`analysis.io.jpeg_reduced.to_frame_pixels`)."""
        size = scale.size if scale is not None else (int(image.shape[1]), int(image.shape[0]))
        self.shape = size
        people = self.pose(image)
        if scale is not None:
            people = to_frame_pixels(people, scale.factor)
        with self.times.timed("record"):
            stamp = self._stamp(t_s)
            if self.video is not None:
                self.video.write(image, stamp, jpeg, size)
            self.last_stamp = stamp
            rows = self.last = people_rows(self.processed, stamp, people)
            self.processed += 1
            self.rows.append(rows)
            if len(self.rows) >= CHUNK_FRAMES:  # a frame's own arrays cost more than its rows
                self.chunks.append(KeyPoints.concat(self.rows))
                self.rows = []
        with self.times.timed("rules"):
            return self._reply(frame, t_s, rows)

    def _reply(self, frame: int, t_s: float, rows: KeyPoints) -> dict[str, Any]:
        states = self.session.push(rows)
        replies = []
        for k in range(len(rows)):
            tid = int(rows.track_id[k])
            state = states[tid]
            for rep in state.ended:
                self.cues[tid] = rep.cue
            # As Python floats first: numpy scalars make this the reply's dearest part.
            points = [
                [_finite(x, 1), _finite(y, 1), _finite(s, 3)]
                for (x, y), s in zip(rows.xy[k].tolist(), rows.scores[k].tolist(), strict=True)
            ]
            replies.append(
                {
                    "track_id": tid,
                    "bbox": [_finite(v, 1) for v in rows.box[k].tolist()],
                    "keypoints": points,
                    "reps": state.reps,
                    "phase": state.phase,
                    "cue": self.cues.get(tid, ""),
                    "view": self.session.view_of(tid),
                }
            )
        return {"frame": frame, "t_s": round(t_s, 3), "people": replies}

    def keypoints(self) -> KeyPoints:
        """Every processed frame's rows."""
        parts = [*self.chunks, *self.rows]
        return KeyPoints.concat(parts) if parts else KeyPoints.empty()

    def timing(self) -> dict[str, dict[str, float]]:
        """Where the session's time went, ms per call of each stage (`StageTimes.summary`):
        the estimator's own stages when it times them, then record, rules and the video's
        (keep: muxing, within record; jpeg_encode, for frames that came decoded, within
        record; transcode, in the save step)."""
        times = getattr(self.pose, "times", None)
        ours = times.merged(self.times) if isinstance(times, StageTimes) else self.times
        return ours.merged(self.video.times if self.video is not None else None).summary()

    def close(self) -> None:
        """Drop the session's video (a session that is not stored)."""
        if self.video is not None:
            self.video.abort()


def live_video_id(sha256: str, athlete: str, started: dt.datetime) -> str:
    """The video id of a live session of ``athlete`` started at ``started`` (one per session)."""
    key = f"live\n{athlete}\n{started.astimezone(dt.UTC).isoformat()}\n{sha256}"
    return video_id_for(hashlib.sha256(key.encode()).hexdigest())


def store_live(
    store: Store,
    recording: LiveRecording,
    *,
    athlete: str,
    exercise: str,
    view: str | None,
    started: dt.datetime,
    rules_dir: str | None = None,
    models: Mapping[str, Any] | None = None,
) -> str:
    """Store a finished session as a video with ``source = 'live'``, scored; its video id.

    The id is derived from the athlete, the start and the received bytes' sha256 (the row's
    ``sha256``): unlike a file's, a session's bytes do not make it the same video as another's
    (two sessions of nothing but a black frame, or none, would share one). ``models``: the
    row's model columns (`analysis.ingest.analyze.model_columns`). The video, when frames were
    kept, is transcoded here (`SessionVideo.finish`, about 10 ms a frame at 540 lines) and
    renamed to ``<video_dir>/<date>/<video_id>.mp4`` before any row names it, so the H.264 file
    is in place when this returns (the web's ``saved`` reply comes after); a session whose video
    could not be written is stored without one.
    """
    from rules.scoring import score_video

    recording.session.finish()
    keypoints = recording.keypoints()
    sha = recording.digest.hexdigest()
    video_id = live_video_id(sha, athlete, started)
    date = started.astimezone(dt.UTC).date().isoformat()
    path: Path | None = None
    if recording.video is not None and recording.video_dir is not None:
        path = recording.video.finish(recording.video_dir / date / f"{video_id}.mp4")
    n_tracks = len(np.unique(keypoints.track_id))
    spans = recording.session.spans if view is None else {}
    frames = recording.processed
    duration = (recording._last_ms / 1000.0) if frames else 0.0
    row = VideoRow(
        video_id=video_id,
        date=date,
        path=str(path) if path is not None else f"live:{video_id}",
        sha256=sha,
        size_bytes=recording.size_bytes,
        athlete=athlete,
        exercise=exercise,
        view=view,
        view_source="declared" if view else None,
        recorded_at=pd.Timestamp(started),
        source="live",
        codec=recording.video.codec if path is not None and recording.video else None,
        fps=(frames - 1) / duration if duration > 0 else None,
        frames=frames,
        duration_s=duration,
        width=recording.shape[0] if recording.shape else None,
        height=recording.shape[1] if recording.shape else None,
        rotation=0,
        n_tracks=n_tracks,
        status="ok" if n_tracks else "empty",
        error=None if n_tracks else f"no person seen in {recording.frames} frame(s)",
        backend="live",
        pipeline_version=PIPELINE_VERSION,
    )
    row = dataclasses.replace(row, **(models or {}))
    meta: dict[str, Any] = {"video_id": video_id, "source": "live"}
    if spans:  # what the cues were judged in: scoring judges each rep in it (`live_views`)
        meta["live_views"] = {str(t): [list(s) for s in v] for t, v in spans.items()}
    store.write(
        "keypoints", keypoints.to_frame(video_id), video_id=video_id, date=date, metadata=meta
    )
    result = score_video(store, video_id, rules_dir, video=row.to_dict(), keypoints=keypoints)
    if view is None and result.video_view != "unknown":
        # The view the cues were judged in, as scoring tells it again on a re-score.
        row = row.with_view(result.video_view, "estimated")
    write_video_row(store, dataclasses.replace(row, processed_at=pd.Timestamp.now(tz="UTC")))
    # The server's (or the command's) log: what the session cost, for whoever runs it.
    print(
        f"posecoach live: stored {video_id}: {frames} of {recording.frames} frames processed; "
        f"ms per call {json.dumps(recording.timing())}",
        file=sys.stderr,
        flush=True,
    )
    return video_id


def report_live(
    store: Store,
    reports: str | os.PathLike[str],
    video_id: str,
    video_roots: Sequence[str | os.PathLike[str]] = (),
) -> Path | None:
    """Build the reports a stored session adds to, as naming a person does
    (`reports.build.build_video_reports`: its page, its night, its athlete's page, the index);
    its page, None when none was built (a session that is not stored, or failed). Shared by
    ``/api/live`` and ``posecoach live``."""
    from reports.build import build_video_reports

    rows = read_video_rows(store, [video_id])
    if not rows or rows[0].status == "failed":
        return None
    row = rows[0]
    page = build_video_reports(store, reports, video_id, row.date,
                               [row.athlete] if row.athlete else [], video_roots=video_roots)  # fmt: skip
    return page if page.is_file() else None
