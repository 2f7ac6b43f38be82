"""Per-frame pose for live sessions: one camera frame in, its tracked people out.

:class:`LiveEstimator` is the engine's pipeline one frame at a time, with the state of one
session (tracker, boxes carried between detections): detection every k-th frame, boxes carried
from the keypoints in between (:func:`analysis.pipeline.boxes.boxes_from_keypoints`), pose on the
boxes, identities from :class:`analysis.tracking.tracker.BoxTracker` on the detections. It uses
the engine's own steps (:func:`analysis.pipeline.engine.track_detections`, ``pose_arrays``), so
live and offline boxes and ids agree. The offline smoothing and left/right repair look ahead;
live keypoints are smoothed causally instead (:class:`analysis.tracking.causal.KeypointSmoother`,
One Euro per track and keypoint), and each person comes with the model's raw points too.

Live ids are those known at the frame: ByteTrack confirms a new person on their second
detection, so someone who appears is reported from the next detection frame on (k frames later).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from analysis.pipeline.boxes import boxes_from_keypoints
from analysis.pipeline.config import Detector, EngineConfig, PoseEstimator, default_det_interval
from analysis.pipeline.engine import PoseEngine, pose_arrays, track_detections
from analysis.tracking.causal import KeypointSmoother
from analysis.tracking.tracker import BoxTracker
from posecoach.stage_times import StageTimes

#: A camera's usual frame rate (browsers' getUserMedia default), for the detection interval
#: when the config leaves it to the rate and for the tracker's buffer.
LIVE_FPS = 30.0

#: One person: track id, box ``x1, y1, x2, y2, score``, keypoints (17, 3) ``x, y, score``
#: (smoothed; NaN where the score is low) and the model's raw points (17, 2).
LivePerson = tuple[int, list[float], np.ndarray, np.ndarray]


class LiveEstimator:
    """One session's per-frame estimator: ``estimator(bgr_image) -> [(track_id, box, kp)]``.

    Frames are numbered in the order of the calls; a frame's time is ``clock()`` at the call
    (seconds), so dropped frames count as the time they took. ``lock`` (shared by the sessions
    of one pair of models) serialises the model calls.
    """

    def __init__(
        self,
        detector: Detector,
        pose: PoseEstimator,
        config: EngineConfig,
        fps: float = LIVE_FPS,
        clock: Callable[[], float] = time.monotonic,
        lock: threading.Lock | None = None,
        smoother: KeypointSmoother | None = None,
        smooth: bool = True,
    ) -> None:
        self.detector, self.pose, self.config, self.clock = detector, pose, config, clock
        self.smoother = (smoother or KeypointSmoother()) if smooth else None
        #: ms per call: detect (the detector, every k-th frame), track (ByteTrack on its
        #: detections), pose, carry_smooth (boxes carried by the keypoints, One Euro).
        self.times = StageTimes()
        self.interval = config.det_interval or default_det_interval(fps)
        self.tracker = BoxTracker(fps, config.tracker, high_score=config.det_score_thr)
        self.lock = lock or threading.Lock()
        self.frames = 0
        self._boxes = np.zeros((0, 5), np.float32)  # the boxes of the next frame's pose
        self._anchors = self._boxes  # the boxes of the last detection
        self._ids = np.zeros(0, np.int32)  # their track ids (-1: not confirmed yet)

    def __call__(self, image: np.ndarray) -> list[LivePerson]:
        cfg = self.config
        frame, t_s = self.frames, float(self.clock())
        self.frames += 1
        times = self.times
        with self.lock:
            if frame % self.interval == 0 or not len(self._boxes):
                with times.timed("detect"):
                    found = self.detector([image])[0]
                with times.timed("track"):
                    boxes, ids, kept = track_detections(found, self.tracker, cfg, t_s, frame)
                self._boxes = self._anchors = boxes[kept]
                self._ids = ids[kept]
            boxes, ids = self._boxes, self._ids
            with times.timed("pose"):
                output = self.pose([image], [boxes[:, :4]])[0] if len(boxes) else None
        with times.timed("carry_smooth"):
            kpts, scores = pose_arrays(output)
            h, w = image.shape[:2]
            self._boxes = boxes_from_keypoints(
                kpts, scores, boxes, w, h, cfg.kpt_score_thr, anchor=self._anchors
            )
            people: list[LivePerson] = []
            for i in np.flatnonzero(ids >= 0):
                tid, raw = int(ids[i]), kpts[i]
                xy = (
                    raw
                    if self.smoother is None
                    else self.smoother(tid, t_s, raw, scores[i], boxes[i])
                )
                kp = np.concatenate([xy, scores[i][:, None]], axis=1).astype(np.float32)
                people.append((tid, boxes[i].tolist(), kp, raw))
        return people


def live_estimators(engine: PoseEngine, fps: float = LIVE_FPS) -> Callable[[], LiveEstimator]:
    """A factory of per-session estimators over one engine's loaded models (and its config)."""
    lock = threading.Lock()
    return lambda: LiveEstimator(engine.detector, engine.pose, engine.config, fps, lock=lock)
