"""The engine's settings and the contracts its two models honour.

:class:`EngineConfig` says how to build and run :class:`analysis.pipeline.engine.PoseEngine`;
:class:`Detector` and :class:`PoseEstimator` are what it calls (the batched contract of
``analysis.models.catalog``), so stand-ins and other runtimes plug in unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from analysis.models.detections import Detections
from analysis.tracking.smoothing import SmoothingParams
from analysis.tracking.tracker import TrackerParams

#: By default people are detected about 6 times a second: every 5th frame at 30 fps (RTMPose's
#: published pipeline figure detects every 5th frame), every 10th at 60 fps, every 2nd at 10 fps.
#: Between detections the boxes follow the keypoints, and identities come from the tracker on
#: the detections alone, which needs them often enough in real time, not in frames.
DEFAULT_DET_RATE_HZ = 6.0


def default_det_interval(fps: float | None, rate_hz: float = DEFAULT_DET_RATE_HZ) -> int:
    """Frames between detections for a video at ``fps`` (1 for stills or unknown rates)."""
    if fps is None or not math.isfinite(fps) or fps <= 0:
        return 1
    return max(1, round(fps / rate_hz))


class Detector(Protocol):
    info: dict[str, Any]

    def __call__(self, frames: list[np.ndarray]) -> list[Detections]: ...


class PoseEstimator(Protocol):
    info: dict[str, Any]

    def __call__(
        self, frames: list[np.ndarray], boxes: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]: ...


@dataclass(frozen=True)
class EngineConfig:
    """How to build and run the engine.

    Attributes:
        preset: model preset name (see ``analysis.models.catalog``), e.g. ``fast`` or ``balanced``.
        detector: detector checkpoint path or MMDeploy ONNX directory overriding the preset's.
        pose: pose checkpoint path or MMDeploy ONNX directory overriding the preset's.
        backend: ``pytorch``, ``onnxruntime``, ``openvino`` (CPU) or ``auto`` (see
            :func:`analysis.models.catalog.choose_backend`).
        precision: ``fp32``, or ``bf16`` with the openvino backend on a CPU with AMX or
            AVX512-BF16 (about 1.5x faster end to end; moves keypoints, see the README).
        device: ``cpu`` or ``cuda`` (``cuda:1``...).
        det_interval: detect every k-th frame (1 = every frame); None (default) picks it
            from the frame rate (:func:`default_det_interval`, about 6 detections a second).
        det_score_thr: detections below this score are dropped.
        kpt_score_thr: keypoints at or above this score shape the box carried to the next frame.
        max_people: at most this many people (highest detection scores) per frame.
        batch_frames: frames per detector call and per pose call (whose crops are batched);
            a window holds ``det_interval`` times as many frames (at most 64).
        queue_size: frames decoded ahead of inference, at least a window (bounds memory).
        max_frames: analyse only the first N frames (previews, tests); None: all.
        allow_random_weights: allow models without trained weights (recorded in the output).
        models_dir: a folder of checkpoints searched before the cache.
        pose_low_score_boxes: also run pose on boxes below ``det_score_thr`` that continue a
            track (ByteTrack's second association). Off by default: those boxes keep the
            track's identity alive through a dip in the detector's confidence, but cost pose
            time for uncertain people (the short gap they leave is interpolated by smoothing).
        repair_lr: repair left/right swaps per track.
        smoothing: smoothing parameters.
        tracker: tracker parameters.
    """

    preset: str = "fast"
    detector: str | None = None
    pose: str | None = None
    backend: str = "auto"
    precision: str = "fp32"
    device: str = "cpu"
    det_interval: int | None = None
    det_score_thr: float = 0.5
    kpt_score_thr: float = 0.3
    max_people: int = 10
    batch_frames: int = 16
    queue_size: int = 16
    max_frames: int | None = None
    allow_random_weights: bool = False
    models_dir: str | None = None
    pose_low_score_boxes: bool = False
    repair_lr: bool = True
    smoothing: SmoothingParams = field(default_factory=SmoothingParams)
    tracker: TrackerParams = field(default_factory=TrackerParams)

    def __post_init__(self) -> None:
        if self.det_interval is not None and self.det_interval < 1:
            raise ValueError(f"EngineConfig.det_interval: expected >= 1, got {self.det_interval}")
        if self.max_people < 1:
            raise ValueError(f"EngineConfig.max_people: expected >= 1, got {self.max_people}")
        if self.batch_frames < 1:
            raise ValueError(f"EngineConfig.batch_frames: expected >= 1, got {self.batch_frames}")

    def params(self) -> dict[str, Any]:
        """The settings that shape the output, for the metadata."""
        out = dataclasses.asdict(self)
        out.pop("smoothing")
        out.pop("tracker")
        return out
