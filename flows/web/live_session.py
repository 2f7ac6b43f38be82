"""One live session of ``/api/live`` without the WebSocket: frames in, replies out, then stored.

`LiveRecorder.process` takes one received JPEG (its number and time), decodes it with OpenCV
(a frame of 1080 lines or more at a reduced scale: `analysis.io.jpeg_reduced`) and hands it,
with its bytes and that scale, to `flows.live_store.LiveRecording.push` (the pose estimator,
`LivePose`, the online counters, the session's video: the JPEG kept as received, transcoded
once the session is saved), which answers the frame's reply. `store_live`
(`flows.live_store`, shared with ``posecoach live``) stores what the session saw as a video with
``source = 'live'``: its video file, ``videos`` and ``keypoints`` rows, scored as any video.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.io.jpeg_reduced import decode_reduced
from flows.live_store import LivePose, LiveRecording, Person, live_video_dir, store_live

__all__ = [
    "JPEG_MAGIC",
    "LivePose",
    "LiveRecorder",
    "LiveSetup",
    "Person",
    "is_jpeg",
    "live_video_dir",
    "store_live",
]

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


class LiveRecorder(LiveRecording):
    """A web session: `LiveRecording` fed with received JPEG frames."""

    def process(self, frame: int, t_s: float, data: bytes) -> dict[str, Any] | str:
        """The frame's reply (without ``latency_ms`` and ``dropped``), or why it was not read."""
        with self.times.timed("decode"):
            decoded = decode_reduced(data)
        if decoded is None:
            return "not a decodable JPEG frame"
        image, scale = decoded
        size = scale.size if scale is not None else (int(image.shape[1]), int(image.shape[0]))
        if self.shape is not None and size != self.shape:
            # The session's video, its rows and its reports have one frame size; a turned phone
            # would be stretched into it and its keypoints would not match the frames.
            (w, h), (sw, sh) = size, self.shape
            return (
                f"frame is {w}x{h}, the session's frames are {sw}x{sh}: a session keeps one frame "
                "size (turning the phone changes it); end this session and start another"
            )
        return self.push(frame, t_s, image, data, scale)
