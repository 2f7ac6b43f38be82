"""One live session of ``/api/live`` without the WebSocket: frames in, replies out, then stored.

`LiveRecorder.process` takes one received JPEG (its number and time), decodes it with OpenCV,
runs the app's pose estimator (`LivePose`) on it, feeds the people to a
`rules.online_session.OnlineSession` and answers the frame's reply. `store_live` stores what
the session saw as a video with ``source = 'live'`` (its ``videos`` and ``keypoints`` rows) and
scores it as any video.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import pandas as pd

from posecoach import PIPELINE_VERSION
from posecoach.keypoints import KeyPoints
from posecoach.store import Store, video_id_for
from posecoach.videos import VideoRow, write_video_row
from rules.online_session import OnlineSession
from rules.schema import RuleFile

#: One person of a frame as a pose estimator gives it: track id, box ``x1, y1, x2, y2[, score]``
#: and the 17 COCO keypoints ``x, y, score`` in the frame's pixels.
Person = tuple[int, Sequence[float], np.ndarray]
#: The live pose estimator: a decoded BGR frame -> its people (tracked across calls).
LivePose = Callable[[np.ndarray], Sequence[Person]]

JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class LiveSetup:
    """What the app runs live sessions with.

    ``pose``: the estimator (None: live sessions are refused). ``clock``: a frame's time, read
    once as each frame arrives (seconds; the session's first frame is 0). ``queue_frames``:
    frames waiting for the estimator at most; an older one is dropped for a newer.
    ``new_pose``: makes a session's own estimator (one that tracks, as
    `analysis.pipeline.live.LiveEstimator`, keeps state per session); used instead of ``pose``.
    ``models``: the ``videos`` columns of the estimator's models
    (`analysis.ingest.analyze.model_columns`: names, hashes, ``random_weights``), stored with
    each session as an analysed video's are.
    """

    pose: LivePose | None = None
    clock: Callable[[], float] = time.monotonic
    queue_frames: int = 2
    new_pose: Callable[[], LivePose] | None = None
    models: Mapping[str, Any] = field(default_factory=dict)

    def session_pose(self) -> LivePose | None:
        """The estimator of a new session (None: live sessions are refused)."""
        return self.new_pose() if self.new_pose is not None else self.pose


def is_jpeg(data: bytes) -> bool:
    """Whether a message starts as a JPEG does (the SOI marker and the next marker's byte)."""
    return data.startswith(JPEG_MAGIC)


def _finite(value: float, digits: int) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def _people_rows(frame: int, t_s: float, people: Sequence[Person]) -> KeyPoints:
    n = len(people)
    box = np.full((n, 5), 1.0, dtype=np.float32)
    kp = np.full((n, 17, 3), np.nan, dtype=np.float32)
    for k, (_, bbox, points) in enumerate(people):
        values = np.asarray(bbox, dtype=np.float32).reshape(-1)
        box[k, : min(len(values), 5)] = values[:5]
        kp[k] = np.asarray(points, dtype=np.float32).reshape(17, 3)
    return KeyPoints(
        frame=np.full(n, frame),
        t_s=np.full(n, t_s),
        track_id=np.array([int(p[0]) for p in people], dtype=np.int64),
        box=box,
        xy=kp[:, :, :2],
        scores=kp[:, :, 2],
        xy_raw=kp[:, :, :2].copy(),
    )


@dataclass
class LiveRecorder:
    """A session's counters and what it has seen so far (the rows to store, the bytes' hash)."""

    rule: RuleFile
    view: str
    pose: LivePose
    session: OnlineSession = field(init=False)
    rows: list[KeyPoints] = field(default_factory=list)
    cues: dict[int, str] = field(default_factory=dict)
    digest: Any = field(default_factory=hashlib.sha256)
    size_bytes: int = 0
    frames: int = 0  # frames received (processed or dropped)
    last_t_s: float = 0.0
    shape: tuple[int, int] | None = None  # width, height of the last decoded frame

    def __post_init__(self) -> None:
        self.session = OnlineSession(self.rule, self.view)

    def received(self, data: bytes, t_s: float) -> int:
        """Count a JPEG as it arrives (before any drop): its frame number."""
        self.digest.update(data)
        self.size_bytes += len(data)
        self.last_t_s = t_s
        self.frames += 1
        return self.frames - 1

    def process(self, frame: int, t_s: float, data: bytes) -> dict[str, Any] | str:
        """The frame's reply (without ``latency_ms`` and ``dropped``), or why it was not read."""
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return "not a decodable JPEG frame"
        self.shape = (int(image.shape[1]), int(image.shape[0]))
        rows = _people_rows(frame, t_s, self.pose(image))
        self.rows.append(rows)
        states = self.session.push(rows)
        people = []
        for k in range(len(rows)):
            tid = int(rows.track_id[k])
            state = states[tid]
            for rep in state.ended:
                self.cues[tid] = rep.cue
            points = [
                [_finite(x, 1), _finite(y, 1), _finite(s, 3)]
                for (x, y), s in zip(rows.xy[k], rows.scores[k], strict=True)
            ]
            people.append(
                {
                    "track_id": tid,
                    "bbox": [_finite(v, 1) for v in rows.box[k]],
                    "keypoints": points,
                    "reps": state.reps,
                    "phase": state.phase,
                    "cue": self.cues.get(tid, ""),
                }
            )
        return {"frame": frame, "t_s": round(t_s, 3), "people": people}


def store_live(
    store: Store,
    recorder: LiveRecorder,
    *,
    athlete: str,
    exercise: str,
    view: str | None,
    started: dt.datetime,
    rules_dir: str | None = None,
    models: Mapping[str, Any] | None = None,
) -> str:
    """Store a finished session as a video with ``source = 'live'``, scored; its video id.

    The id is that of the received JPEG bytes' sha256, as a file's is of its bytes. ``models``:
    the row's model columns (`LiveSetup.models`).
    """
    from rules.scoring import score_video

    recorder.session.finish()
    keypoints = KeyPoints.concat(recorder.rows) if recorder.rows else KeyPoints.empty()
    sha = recorder.digest.hexdigest()
    video_id = video_id_for(sha)
    n_tracks = len(np.unique(keypoints.track_id))
    duration = recorder.last_t_s
    row = VideoRow(
        video_id=video_id,
        date=started.astimezone(dt.UTC).date().isoformat(),
        path=f"live:{video_id}",
        sha256=sha,
        size_bytes=recorder.size_bytes,
        athlete=athlete,
        exercise=exercise,
        view=view,
        view_source="declared" if view else None,
        recorded_at=pd.Timestamp(started),
        source="live",
        codec="jpeg",
        fps=(recorder.frames - 1) / duration if duration > 0 else None,
        frames=recorder.frames,
        duration_s=duration,
        width=recorder.shape[0] if recorder.shape else None,
        height=recorder.shape[1] if recorder.shape else None,
        rotation=0,
        n_tracks=n_tracks,
        status="ok" if n_tracks else "empty",
        error=None if n_tracks else f"no person seen in {recorder.frames} frame(s)",
        backend="live",
        pipeline_version=PIPELINE_VERSION,
    )
    row = dataclasses.replace(row, **(models or {}))
    meta = {"video_id": video_id, "source": "live"}
    store.write(
        "keypoints", keypoints.to_frame(video_id), video_id=video_id, date=row.date, metadata=meta
    )
    score_video(store, video_id, rules_dir, video=row.to_dict(), keypoints=keypoints)
    write_video_row(store, dataclasses.replace(row, processed_at=pd.Timestamp.now(tz="UTC")))
    return video_id
