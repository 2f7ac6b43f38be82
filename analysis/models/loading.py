"""Loading a preset's detector and pose model: backend chosen, checkpoint found, model built.

See :mod:`analysis.models.catalog` for the presets and backends and
:mod:`analysis.models.checkpoints` for where checkpoints are looked for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from analysis.models import detector as det
from analysis.models import pose as pose_mod
from analysis.models.catalog import (
    CheckpointSpec,
    ModelSpec,
    check_precision,
    choose_backend,
    spec_for,
)
from analysis.models.checkpoints import (
    ResolvedCheckpoint,
    is_mmdeploy_dir,
    resolve_checkpoints,
    resolve_model_checkpoint,
)
from analysis.models.detector import Detector
from analysis.models.errors import ModelError
from analysis.models.pose import PoseEstimator


def _openmmlab_checkpoint(
    task: str,
    spec: str | os.PathLike[str] | None,
    preset: str,
    backend: str,
    device: str,
    precision: str,
    **resolve: Any,
) -> tuple[str, ModelSpec, ResolvedCheckpoint | None]:
    """The backend, model and checkpoint (None: random weights) of an OpenMMLab model."""
    backend = choose_backend(backend, device)
    check_precision(precision, backend)
    model, explicit = spec_for(task, spec, preset)
    return backend, model, resolve_model_checkpoint(model, explicit, **resolve)


def load_detector(
    spec: str | os.PathLike[str] | None = None,
    *,
    preset: str = "fast",
    backend: str = "auto",
    device: str = "cpu",
    models_dir: str | os.PathLike[str] | None = None,
    allow_random_weights: bool = False,
    allow_download: bool = True,
    score_thr: float = 0.3,
    max_people: int | None = None,
    batch_size: int = 8,
    ort_threads: int = 2,
    precision: str = "fp32",
    seed: int = 0,
    progress: bool = True,
) -> Detector:
    """Load a person detector.

    Args:
        spec: None (the preset's detector), a model name from :data:`MODELS`, a checkpoint
            path, or an MMDeploy ONNX model directory.
        backend: ``"pytorch"``, ``"onnxruntime"``, ``"openvino"`` (CPU) or ``"auto"``
            (see :func:`choose_backend`).
        device: ``"cpu"`` or ``"cuda"`` (``"cuda:N"``).
        score_thr: boxes scoring below it are dropped (after NMS).
        max_people: keep at most this many boxes per frame (highest scores); None: all.
        precision: ``"fp32"``, or ``"bf16"`` with the openvino backend (moves boxes and
            keypoints slightly: an explicit choice, never a default).
        seed: torch seed for random weights (only with ``allow_random_weights``).
    """
    if spec is not None and is_mmdeploy_dir(spec):
        runtime = _mmdeploy_runtime(spec, backend, device, precision)
        return det.load_mmdeploy_detector(
            Path(spec),
            runtime=runtime,
            precision=precision,
            device=device,
            score_thr=score_thr,
            max_people=max_people,
            batch_size=batch_size,
            ort_threads=ort_threads,
        )
    backend, model, resolved = _openmmlab_checkpoint(
        "detector",
        spec,
        preset,
        backend,
        device,
        precision,
        models_dir=models_dir,
        allow_download=allow_download,
        allow_random_weights=allow_random_weights,
        progress=progress,
    )
    return det.load_openmmlab_detector(
        model,
        resolved,
        backend=backend,
        device=device,
        score_thr=score_thr,
        max_people=max_people,
        batch_size=batch_size,
        ort_threads=ort_threads,
        precision=precision,
        seed=seed,
    )


def load_pose(
    spec: str | os.PathLike[str] | None = None,
    *,
    preset: str = "fast",
    backend: str = "auto",
    device: str = "cpu",
    models_dir: str | os.PathLike[str] | None = None,
    allow_random_weights: bool = False,
    allow_download: bool = True,
    flip_test: bool = False,
    half: bool = False,
    batch_size: int = 16,
    ort_threads: int = 2,
    precision: str = "fp32",
    seed: int = 0,
    progress: bool = True,
) -> PoseEstimator:
    """Load a top-down COCO-17 pose model (arguments as :func:`load_detector`).

    ``spec`` may also be an MMDeploy ONNX directory of an RTMPose (SimCC) model.
    ``flip_test`` averages with the flipped crop, as the mmpose configs do by default.
    ``half`` runs the PyTorch backend in float16 (CUDA only). ``batch_size`` crops go through
    the network at once: on CPU small chunks are as fast or faster (cache-resident
    activations); on a GPU pass a larger one.
    """
    if spec is not None and is_mmdeploy_dir(spec):
        runtime = _mmdeploy_runtime(spec, backend, device, precision)
        return pose_mod.load_mmdeploy_pose(
            Path(spec),
            runtime=runtime,
            precision=precision,
            device=device,
            flip_test=flip_test,
            batch_size=batch_size,
            ort_threads=ort_threads,
        )
    backend, model, resolved = _openmmlab_checkpoint(
        "pose",
        spec,
        preset,
        backend,
        device,
        precision,
        models_dir=models_dir,
        allow_download=allow_download,
        allow_random_weights=allow_random_weights,
        progress=progress,
    )
    return pose_mod.load_openmmlab_pose(
        model,
        resolved,
        backend=backend,
        device=device,
        flip_test=flip_test,
        batch_size=batch_size,
        ort_threads=ort_threads,
        precision=precision,
        seed=seed,
        half=half,
    )


def load_models(
    preset: str = "fast",
    detector: str | os.PathLike[str] | None = None,
    pose: str | os.PathLike[str] | None = None,
    *,
    models_dir: str | os.PathLike[str] | None = None,
    allow_random_weights: bool = False,
    allow_download: bool = True,
    progress: bool = True,
    detector_kwargs: dict[str, Any] | None = None,
    pose_kwargs: dict[str, Any] | None = None,
    **common: Any,
) -> tuple[Detector, PoseEstimator]:
    """Load a preset's detector and pose model (each overridable by a path or model name).

    Both checkpoints are resolved first, so that offline one :class:`MissingCheckpointError`
    names every missing file. ``common`` (backend, device, ort_threads, precision, seed) goes to both
    loaders; ``detector_kwargs`` (score_thr, max_people, batch_size) and ``pose_kwargs``
    (flip_test, batch_size, half) to one each.
    """
    resolve: dict[str, Any] = {
        "models_dir": models_dir,
        "allow_download": allow_download,
        "progress": progress,
    }
    pending: list[CheckpointSpec] = []
    for task, spec in (("detector", detector), ("pose", pose)):
        if spec is not None and is_mmdeploy_dir(spec):
            continue
        model, explicit = spec_for(task, spec, preset)
        if explicit is None:
            pending.append(model.checkpoint)
    if not allow_random_weights:
        resolve_checkpoints(pending, **resolve)  # raises naming all that are missing
    det = load_detector(
        detector,
        preset=preset,
        allow_random_weights=allow_random_weights,
        **resolve,
        **common,
        **(detector_kwargs or {}),
    )
    est = load_pose(
        pose,
        preset=preset,
        allow_random_weights=allow_random_weights,
        **resolve,
        **common,
        **(pose_kwargs or {}),
    )
    return det, est


def _mmdeploy_runtime(spec: Any, backend: str, device: str, precision: str) -> str:
    """The ONNX runtime for an MMDeploy directory: the one asked for, or ``auto``'s CPU choice.

    With ``auto`` on CUDA (where ``auto`` means pytorch, which cannot run ONNX) it is onnxruntime,
    whose CUDA provider can.
    """
    runtime = choose_backend(backend, device)
    if runtime == "pytorch":
        if backend != "auto":
            raise ModelError(
                f"{spec}: an MMDeploy ONNX directory runs only with onnxruntime or openvino"
            )
        runtime = "onnxruntime"
    check_precision(precision, runtime)
    return runtime
