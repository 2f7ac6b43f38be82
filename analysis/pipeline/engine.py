"""The pose engine: a video in, tracked, repaired and smoothed `KeyPoints` out.

Pipeline, per window of frames (decoding runs ahead in the reader thread of
:mod:`analysis.io.video`):

1. Person detection, batched over frames. With a detection interval ``k`` only every k-th frame
   is detected; the frames in between take their boxes from the previous frame's keypoints
   (as RTMPose's own pipeline does). A window holds several such chains of ``k`` frames, and
   the chains advance in lock-step, so every detector call and every pose call is batched
   across frames even when ``k > 1``. A chain that has nobody to follow detects again at once.
2. Top-down pose on all crops of the step's frames in one batched call.
3. Tracking (ByteTrack from the ``trackers`` package) in frame order.
4. Per track: left/right swap repair, then confidence-aware smoothing.

Models are loaded once per :class:`PoseEngine` and reused for every video.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.io.video import Frame, VideoInfo, open_source
from analysis.models.detections import Detections
from analysis.pipeline.boxes import boxes_from_keypoints, select_boxes, window_chains
from analysis.pipeline.config import Detector, EngineConfig, PoseEstimator, default_det_interval
from analysis.tracking.smoothing import effective_cutoff_hz, smooth_track
from analysis.tracking.tracker import LR_GROUPS, BoxTracker, repair_left_right
from posecoach import PIPELINE_VERSION
from posecoach.keypoints import KeyPoints
from posecoach.schema import COCO17

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


@dataclass
class PoseResult:
    """One analysed source.

    Attributes:
        info: the source's info, with the frame count and duration from the decode.
        keypoints: one row per (frame, track), sorted by frame, then track (the store's
            ``keypoints`` table is ``keypoints.to_frame(video_id)``).
        metadata: models, checkpoint hashes, parameters, ``random_weights``, timings.
    """

    info: VideoInfo
    keypoints: KeyPoints
    metadata: dict[str, Any]

    @property
    def n_tracks(self) -> int:
        return len(self.keypoints.track_ids())


@dataclass
class _FramePoses:
    """Per-frame output of the model stage, before tracking."""

    index: int
    t_s: float
    boxes: np.ndarray  # (N, 5) x1 y1 x2 y2 score
    keypoints: np.ndarray  # (N, 17, 2)
    scores: np.ndarray  # (N, 17)
    detected: bool
    det_frame: int  # the frame whose detections these boxes were carried from (self if detected)


@dataclass
class StageTimes:
    """Seconds spent per stage (wall clock, main thread)."""

    decode_wait: float = 0.0
    detect: float = 0.0
    pose: float = 0.0
    track: float = 0.0
    post: float = 0.0
    total: float = 0.0
    frames: int = 0
    detected_frames: int = 0
    crops: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


class PoseEngine:
    """Loads the models once; :meth:`analyze` runs the whole pipeline on one source.

    ``detector`` and ``pose`` may be given directly (any callables honouring the
    ``analysis.models.catalog`` contract); otherwise they are loaded from ``config``.
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        detector: Detector | None = None,
        pose: PoseEstimator | None = None,
    ):
        self.config = config or EngineConfig()
        if detector is None or pose is None:
            loaded_det, loaded_pose = _load_models(self.config)
            detector = detector or loaded_det
            pose = pose or loaded_pose
        self.detector = detector
        self.pose = pose
        # Heavy imports paid once, with the models, rather than inside the first video's run.
        import av  # noqa: F401
        import supervision  # noqa: F401
        import trackers  # noqa: F401

    @property
    def random_weights(self) -> bool:
        return bool(self.detector.info.get("random_weights")) or bool(
            self.pose.info.get("random_weights")
        )

    def model_metadata(self) -> dict[str, Any]:
        """Model names, checkpoints, hashes and backends of both models."""
        return {
            "detector": _jsonable(self.detector.info),
            "pose": _jsonable(self.pose.info),
            "random_weights": self.random_weights,
        }

    # -- the pipeline --------------------------------------------------------------------------
    def analyze(
        self,
        path: str | os.PathLike[str],
        progress: ProgressFn | None = None,
        images_fps: float | None = None,
    ) -> PoseResult:
        """Run detection, pose, tracking, repair and smoothing over one source.

        Args:
            path: a video file, an image, or a folder of images.
            progress: called as ``progress(frames_done, frames_expected)`` after each window.
            images_fps: frame rate of a folder of images that form a sequence (see
                :func:`analysis.io.video.open_source`).

        Raises:
            VideoError: the source cannot be read.
        """
        cfg = self.config
        times = StageTimes()
        start = time.perf_counter()
        source = open_source(path, queue_size=cfg.queue_size, images_fps=images_fps)
        info = source.info
        tracker = BoxTracker(info.fps, cfg.tracker, high_score=cfg.det_score_thr)
        interval = cfg.det_interval or default_det_interval(info.fps)
        window_len = interval * window_chains(cfg.batch_frames, interval)
        # Decode a whole window ahead while the models work on the current one.
        source.queue_size = max(cfg.queue_size, window_len)
        per_frame: list[_FramePoses] = []
        # detection frame -> indices of its boxes given to the pose model; their track ids are
        # read at the end, from the tracker's final assignments.
        kept_of: dict[int, np.ndarray] = {}

        with source:
            frames_iter = iter(source)
            while True:
                t0 = time.perf_counter()
                window: list[Frame] = []
                room = window_len
                if cfg.max_frames is not None:
                    room = min(room, cfg.max_frames - times.frames)
                for frame in frames_iter if room > 0 else ():
                    window.append(frame)
                    if len(window) == room:
                        break
                times.decode_wait += time.perf_counter() - t0
                if not window:
                    break
                per_frame.extend(self._run_window(window, interval, times, tracker, kept_of))
                times.frames += len(window)
                if progress is not None:
                    progress(times.frames, max(info.frames, times.frames))
                if len(window) < window_len or times.frames == cfg.max_frames:
                    break
            track_ids = tracker.finish()
            info = source.decoded_info()

        t0 = time.perf_counter()
        tracked = [(fp, track_ids[fp.det_frame][kept_of[fp.det_frame]]) for fp in per_frame]
        keypoints, post_meta = self._assemble(tracked, info)
        times.post += time.perf_counter() - t0
        times.total = time.perf_counter() - start
        metadata = {
            **self.model_metadata(),
            "engine": {**self.config.params(), "det_interval_used": interval},
            "smoothing": {
                **cfg.smoothing.as_dict(),
                "effective_cutoff_hz": effective_cutoff_hz(cfg.smoothing, info.fps),
            },
            "tracker": {"library": "trackers.ByteTrackTracker", **dataclasses.asdict(cfg.tracker)},
            "lr_repair": {"enabled": cfg.repair_lr, "groups": list(LR_GROUPS)},
            "pipeline_version": PIPELINE_VERSION,
            "source": dataclasses.asdict(info),
            "timings_s": times.as_dict(),
            **post_meta,
        }
        return PoseResult(info=info, keypoints=keypoints, metadata=metadata)

    def _run_window(
        self,
        window: Sequence[Frame],
        k: int,
        times: StageTimes,
        tracker: BoxTracker,
        kept_of: dict[int, np.ndarray],
    ) -> list[_FramePoses]:
        """Detection, tracking and pose over one window; per-frame poses in frame order.

        The window's length is a multiple of the detection interval ``k`` and frames are
        numbered from 0, so every chain of ``k`` frames starts on a detection frame. The chains'
        first frames are detected in one batch and tracked (in frame order) before any pose:
        ByteTrack uses low-score boxes to continue tracks; the pose model runs on the
        confident boxes (and, with ``pose_low_score_boxes``, on those continuing a track). Carried boxes are the same people by construction and
        take their ids from their chain's detection frame, so keypoints gone astray cannot
        break an identity.
        """
        cfg = self.config
        chains = [list(window[i : i + k]) for i in range(0, len(window), k)]
        heads = [chain[0] for chain in chains]
        t0 = time.perf_counter()
        detected = self.detector([f.image for f in heads])
        times.detect += time.perf_counter() - t0
        times.detected_frames += len(heads)

        t0 = time.perf_counter()
        chain_boxes: list[np.ndarray] = []
        for frame, found in zip(heads, detected, strict=True):
            t_s = frame.t_s if np.isfinite(frame.t_s) else None
            boxes, _, kept = track_detections(found, tracker, cfg, t_s, frame.index)
            kept_of[frame.index] = kept
            chain_boxes.append(boxes[kept])
        times.track += time.perf_counter() - t0
        anchors = list(chain_boxes)

        results: list[list[_FramePoses]] = [[] for _ in chains]
        for step in range(k):
            active = [c for c, chain in enumerate(chains) if step < len(chain)]
            if not active:
                break
            with_people = [c for c in active if len(chain_boxes[c]) > 0]
            outputs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            if with_people:
                t0 = time.perf_counter()
                pose_out = self.pose(
                    [chains[c][step].image for c in with_people],
                    [chain_boxes[c][:, :4] for c in with_people],
                )
                times.pose += time.perf_counter() - t0
                times.crops += sum(len(chain_boxes[c]) for c in with_people)
                outputs = dict(zip(with_people, pose_out, strict=True))
            for c in active:
                frame = chains[c][step]
                boxes = chain_boxes[c]
                kpts, scs = pose_arrays(outputs.get(c))
                results[c].append(
                    _FramePoses(frame.index, frame.t_s, boxes, kpts, scs, step == 0, heads[c].index)
                )
                if step + 1 < len(chains[c]):
                    h, w = frame.image.shape[:2]
                    chain_boxes[c] = boxes_from_keypoints(
                        kpts, scs, boxes, w, h, cfg.kpt_score_thr, anchor=anchors[c]
                    )
        return [fp for chain in results for fp in chain]

    def _assemble(
        self, per_frame: list[tuple[_FramePoses, np.ndarray]], info: VideoInfo
    ) -> tuple[KeyPoints, dict[str, Any]]:
        """Rows per (frame, track): raw values, then repair and smoothing per track."""
        cfg = self.config
        parts_idx, parts_t, parts_id, parts_box, parts_kp, parts_sc = [], [], [], [], [], []
        untracked = 0
        for fp, ids in per_frame:
            keep = ids >= 0
            untracked += int((~keep).sum())
            if not keep.any():
                continue
            n = int(keep.sum())
            parts_idx.append(np.full(n, fp.index, np.int64))
            parts_t.append(np.full(n, fp.t_s, np.float64))
            parts_id.append(ids[keep].astype(np.int64))
            parts_box.append(fp.boxes[keep])
            parts_kp.append(fp.keypoints[keep])
            parts_sc.append(fp.scores[keep])
        if not parts_idx:
            return KeyPoints.empty(), {"untracked_rows": untracked, "lr_swaps": {}}

        frame_idx = np.concatenate(parts_idx)
        t_s = np.concatenate(parts_t)
        track = np.concatenate(parts_id)
        boxes = np.concatenate(parts_box).astype(np.float32)
        raw = np.concatenate(parts_kp).astype(np.float64)
        scores = np.concatenate(parts_sc).astype(np.float64)
        order = np.lexsort((track, frame_idx))
        frame_idx, t_s, track = frame_idx[order], t_s[order], track[order]
        boxes, raw, scores = boxes[order], raw[order], scores[order]

        smooth = np.full_like(raw, np.nan)
        out_scores = scores.copy()
        swaps = dict.fromkeys(LR_GROUPS, 0)
        for tid in np.unique(track):
            rows = np.flatnonzero(track == tid)  # already in frame order
            kp, sc = raw[rows], scores[rows]
            if cfg.repair_lr:
                kp, sc, flipped = repair_left_right(kp, sc, min_score=cfg.smoothing.min_score)
                for g, name in enumerate(LR_GROUPS):
                    swaps[name] += int(flipped[:, g].sum())
            smooth[rows] = smooth_track(frame_idx[rows], kp, sc, info.fps, cfg.smoothing)
            out_scores[rows] = sc

        keypoints = KeyPoints(
            frame=frame_idx,
            t_s=t_s,
            track_id=track,
            box=boxes,
            xy=smooth,
            scores=out_scores,
            xy_raw=raw,
        )
        return keypoints, {"untracked_rows": untracked, "lr_swaps": swaps}


def track_detections(
    found: Detections, tracker: BoxTracker, cfg: EngineConfig, t_s: float | None, frame: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track one detection frame: its boxes (N, 5) best first, their ids known now (-1: none
    yet) and the indices of the boxes the pose model gets.

    ByteTrack uses low-score boxes to continue tracks; the pose model runs on the confident
    boxes (and, with ``pose_low_score_boxes``, on those continuing a track).
    """
    boxes = select_boxes(found.as_array(), cfg.tracker.low_score, len(found))
    ids = tracker.update(boxes, t_s, frame=frame)
    # select_boxes sorted by score, so the first max_people kept are the best.
    confident = boxes[:, 4] >= cfg.det_score_thr
    kept = np.flatnonzero(confident | (ids >= 0) if cfg.pose_low_score_boxes else confident)
    return boxes, ids, kept[: cfg.max_people]


def pose_arrays(output: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """One frame's pose output as (N, 17, 2) keypoints and (N, 17) scores (None: nobody)."""
    if output is None:
        return np.zeros((0, len(COCO17), 2), np.float32), np.zeros((0, len(COCO17)), np.float32)
    kpts = np.asarray(output[0], dtype=np.float32).reshape(-1, len(COCO17), 2)
    return kpts, np.asarray(output[1], dtype=np.float32).reshape(-1, len(COCO17))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _load_models(config: EngineConfig) -> tuple[Detector, PoseEstimator]:
    """Build the detector and pose model from the config via ``analysis.models.loading``.

    Both checkpoints are resolved before either model is built, so that offline one error names
    every missing file.
    """
    from analysis.models.loading import load_models

    return load_models(
        config.preset,
        config.detector,
        config.pose,
        models_dir=config.models_dir,
        allow_random_weights=config.allow_random_weights,
        backend=config.backend,
        device=config.device,
        precision=config.precision,
        detector_kwargs={
            # Boxes down to the tracker's low score: ByteTrack uses them to continue tracks.
            "score_thr": min(config.det_score_thr, config.tracker.low_score),
            "max_people": None,
            "batch_size": config.batch_frames,
        },
    )
