"""Model presets, checkpoint resolution and loading for the pose engine.

A preset names a person detector and a top-down pose model. Each model is an OpenMMLab config
shipped inside the installed mmdet / mmpose wheel, edited in code (:func:`detector_config`,
:func:`pose_config`), plus an official checkpoint (:class:`CheckpointSpec`: file name, URL on
download.openmmlab.com and the sha256 prefix that OpenMMLab puts in the file name).

Checkpoint resolution (:func:`resolve_checkpoint`), first hit wins:

1. an explicit path given by the caller (``--detector`` / ``--pose``);
2. a models directory: the ``models_dir`` argument, else ``$POSECOACH_MODELS``;
3. the cache ``$XDG_CACHE_HOME/posecoach/models`` (``~/.cache/posecoach/models``);
4. a download into the cache with a progress bar (to a temporary name, hash checked, renamed);
5. otherwise :class:`MissingCheckpointError`, naming every missing file, its URL and the
   directories where it may be put.

Random weights are used only with ``allow_random_weights=True`` and are recorded in
``.info['random_weights']``; without a checkpoint and without that opt-in, loading fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import platform
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posecoach.store import file_sha256

if TYPE_CHECKING:
    from mmengine.config import Config

    from analysis.models.detector import Detector
    from analysis.models.pose import PoseEstimator

OPENMMLAB = "https://download.openmmlab.com"
# The opener used for downloads; tests replace it to simulate the network.
_urlopen = urllib.request.urlopen
DOWNLOAD_TIMEOUT_S = 30.0


class ModelError(RuntimeError):
    """A model could not be loaded (bad spec, mismatching checkpoint, unavailable backend)."""


class MissingCheckpointError(ModelError, FileNotFoundError):
    """One or more checkpoints are neither on disk nor downloadable.

    ``missing`` lists ``(filename, url)`` pairs; ``searched`` the directories looked in.
    """

    def __init__(self, missing: list[tuple[str, str]], searched: list[Path], reasons: list[str]):
        self.missing = missing
        self.searched = searched
        self.reasons = reasons
        lines = ["model checkpoint(s) not found and could not be downloaded:"]
        for (filename, url), reason in zip(missing, reasons, strict=True):
            lines.append(f"  - {filename}\n      from {url}\n      ({reason})")
        lines.append("put the file(s) in one of:")
        lines.extend(f"  - {d}" for d in searched)
        if len(searched) < 2:
            lines.append("  - a folder of your choice, named by --models-dir or $POSECOACH_MODELS")
        lines.append(
            "or pass a checkpoint path with --detector / --pose "
            "(--allow-random-weights runs untrained models, for testing only)"
        )
        super().__init__("\n".join(lines))


class ChecksumError(ModelError):
    """A checkpoint's sha256 does not start with the prefix in its official file name."""


@dataclass(frozen=True)
class CheckpointSpec:
    """An official OpenMMLab checkpoint.

    ``sha256_prefix`` is the 8 hex digits OpenMMLab appends to the file name: the start of the
    file's sha256.
    """

    filename: str
    url: str
    sha256_prefix: str


@dataclass(frozen=True)
class ModelSpec:
    """One network: its name, the config it is built from and its official checkpoint.

    ``base_config`` is relative to the ``.mim/configs`` folder of the ``package`` wheel.
    ``input_size`` is (width, height) in pixels of the network input.
    """

    name: str
    task: str  # "detector" or "pose"
    package: str  # "mmdet" or "mmpose"
    base_config: str
    input_size: tuple[int, int]
    checkpoint: CheckpointSpec


@dataclass(frozen=True)
class Preset:
    """A detector + pose model pair."""

    name: str
    detector: str
    pose: str
    description: str


def _ckpt(path: str, sha_prefix: str) -> CheckpointSpec:
    return CheckpointSpec(Path(path).name, f"{OPENMMLAB}/{path}", sha_prefix)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "rtmdet-nano-person-320",
            "detector",
            "mmdet",
            "rtmdet/rtmdet_tiny_8xb32-300e_coco.py",
            (320, 320),
            _ckpt(
                "mmpose/v1/projects/rtmpose/rtmdet_nano_8xb32-100e_coco-obj365-person-05d8511e.pth",
                "05d8511e",
            ),
        ),
        ModelSpec(
            "rtmdet-m-person-640",
            "detector",
            "mmdet",
            "rtmdet/rtmdet_m_8xb32-300e_coco.py",
            (640, 640),
            _ckpt(
                "mmpose/v1/projects/rtmpose/rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth",
                "235e8209",
            ),
        ),
        ModelSpec(
            "rtmpose-t-256x192",
            "pose",
            "mmpose",
            "body_2d_keypoint/rtmpose/body8/rtmpose-t_8xb256-420e_body8-256x192.py",
            (192, 256),
            _ckpt(
                "mmpose/v1/projects/rtmposev1/"
                "rtmpose-t_simcc-body7_pt-body7_420e-256x192-026a1439_20230504.pth",
                "026a1439",
            ),
        ),
        ModelSpec(
            "rtmpose-m-256x192",
            "pose",
            "mmpose",
            "body_2d_keypoint/rtmpose/body8/rtmpose-m_8xb256-420e_body8-256x192.py",
            (192, 256),
            _ckpt(
                "mmpose/v1/projects/rtmposev1/"
                "rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.pth",
                "e48f03d0",
            ),
        ),
        ModelSpec(
            "rtmpose-l-384x288",
            "pose",
            "mmpose",
            "body_2d_keypoint/rtmpose/body8/rtmpose-l_8xb256-420e_body8-384x288.py",
            (288, 384),
            _ckpt(
                "mmpose/v1/projects/rtmposev1/"
                "rtmpose-l_simcc-body7_pt-body7_420e-384x288-3f5a1437_20230504.pth",
                "3f5a1437",
            ),
        ),
    ]
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("fast", "rtmdet-nano-person-320", "rtmpose-t-256x192", "RTMDet-nano + RTMPose-t"),
        Preset(
            "balanced", "rtmdet-m-person-640", "rtmpose-m-256x192", "RTMDet-m + RTMPose-m 256x192"
        ),
        Preset(
            "accurate", "rtmdet-m-person-640", "rtmpose-l-384x288", "RTMDet-m + RTMPose-l 384x288"
        ),
    ]
}

# RTMPose's deployment settings for its person detectors (MMDeploy pipeline.json of
# rtmdet-nano-person): candidates above 0.05 before NMS at IoU 0.6, at most 100 per image.
DETECTOR_TEST_CFG: dict[str, Any] = {
    "nms_pre": 1000,
    "min_bbox_size": 0,
    "score_thr": 0.05,
    "nms": {"type": "nms", "iou_threshold": 0.6},
    "max_per_img": 100,
}

_DETECTOR_EDITS: dict[str, dict[str, Any]] = {
    # RTMPose's RTMDet-nano person detector (mmpose projects/rtmpose/rtmdet/person), whose
    # config is not shipped in any wheel: rtmdet-tiny's layout narrowed and made depthwise.
    "rtmdet-nano-person-320": {
        "backbone": {
            "arch": "P5",
            "expand_ratio": 0.5,
            "deepen_factor": 0.33,
            "widen_factor": 0.25,
            "channel_attention": True,
            "use_depthwise": True,
            "act_cfg": {"type": "SiLU", "inplace": True},
        },
        "neck": {
            "in_channels": [64, 128, 256],
            "out_channels": 64,
            "num_csp_blocks": 1,
            "expand_ratio": 0.5,
            "use_depthwise": True,
        },
        "bbox_head": {
            "num_classes": 1,
            "in_channels": 64,
            "stacked_convs": 2,
            "feat_channels": 64,
            "with_objectness": False,
            "exp_on_reg": False,
            "share_conv": False,
            "use_depthwise": True,
            "pred_kernel_size": 1,
        },
    },
    "rtmdet-m-person-640": {"bbox_head": {"num_classes": 1}},
}


def config_path(package: str, relative: str) -> Path:
    """The absolute path of a config shipped in an installed wheel (``<pkg>/.mim/configs``)."""
    import importlib

    module = importlib.import_module(package)
    path = Path(module.__file__).parent / ".mim" / "configs" / relative
    if not path.is_file():
        raise ModelError(f"{path}: config not found in the installed {package} wheel")
    return path


def model_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ModelError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None


def detector_config(name: str) -> Config:
    """The mmengine Config of a detector in :data:`MODELS`, ready for ``init_detector``."""
    from mmengine.config import Config

    spec = model_spec(name)
    cfg = Config.fromfile(str(config_path(spec.package, spec.base_config)))
    edits = _DETECTOR_EDITS[name]
    for part, values in edits.items():
        cfg.model[part].update(values)
    # No pretrained-backbone download when the model is built.
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.num_classes = 1
    cfg.model.test_cfg = dict(DETECTOR_TEST_CFG)
    size = spec.input_size
    cfg.test_pipeline = [
        {"type": "LoadImageFromFile", "backend_args": None},
        {"type": "Resize", "scale": size, "keep_ratio": True},
        {"type": "Pad", "size": size, "pad_val": {"img": (114, 114, 114)}},
        {
            "type": "PackDetInputs",
            "meta_keys": ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"),
        },
    ]
    cfg.test_dataloader.dataset.pipeline = cfg.test_pipeline
    cfg.test_dataloader.dataset.metainfo = {"classes": ("person",)}
    cfg.val_dataloader = cfg.test_dataloader
    return cfg


def pose_config(name: str, *, flip_test: bool = False) -> Config:
    """The mmengine Config of a pose model in :data:`MODELS`, ready for ``init_model``.

    ``flip_test`` averages the prediction with that of the horizontally flipped crop (the
    configs' default; twice the compute). Off by default here.
    """
    from mmengine.config import Config

    spec = model_spec(name)
    cfg = Config.fromfile(str(config_path(spec.package, spec.base_config)))
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg = {"flip_test": bool(flip_test)}
    return cfg


# --- checkpoint resolution --------------------------------------------------------------------


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/posecoach`` (default ``~/.cache/posecoach``); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "posecoach"


def models_cache_dir() -> Path:
    return cache_dir() / "models"


def _check_hash(path: Path, ckpt: CheckpointSpec) -> str:
    digest = file_sha256(path)
    if not digest.startswith(ckpt.sha256_prefix):
        raise ChecksumError(
            f"{path}: sha256 {digest[:16]}... does not start with {ckpt.sha256_prefix}, "
            f"the hash in the official name {ckpt.filename}; the file is corrupt or another "
            f"model (delete it, or pass it explicitly with --detector / --pose)"
        )
    return digest


def search_dirs(models_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where checkpoints are looked for, in order: models dir (argument or env), then cache."""
    dirs: list[Path] = []
    if models_dir is not None:
        dirs.append(Path(models_dir))
    elif os.environ.get("POSECOACH_MODELS"):
        dirs.append(Path(os.environ["POSECOACH_MODELS"]))
    dirs.append(models_cache_dir())
    return dirs


def download(ckpt: CheckpointSpec, dest_dir: Path, *, progress: bool = True) -> Path:
    """Download ``ckpt`` into ``dest_dir`` under a temporary name, check its hash, rename.

    Raises ``urllib.error.URLError`` / ``OSError`` when the network fails and
    :class:`ChecksumError` on a hash mismatch; nothing is left behind in either case.
    """
    from tqdm import tqdm

    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / ckpt.filename
    tmp = dest_dir / f".{ckpt.filename}.{os.getpid()}.part"
    h = hashlib.sha256()
    try:
        with _urlopen(ckpt.url, timeout=DOWNLOAD_TIMEOUT_S) as resp, open(tmp, "wb") as out:
            total = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
            with tqdm(
                total=int(total) if total else None,
                unit="B",
                unit_scale=True,
                desc=ckpt.filename,
                disable=not progress,
            ) as bar:
                while block := resp.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        digest = h.hexdigest()
        if not digest.startswith(ckpt.sha256_prefix):
            raise ChecksumError(
                f"{ckpt.url}: downloaded file has sha256 {digest[:16]}..., expected a hash "
                f"starting with {ckpt.sha256_prefix}; not kept"
            )
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint file on disk, its sha256 and where it came from."""

    path: Path
    sha256: str
    source: str  # "explicit", "models_dir", "cache", "download"


def resolve_checkpoint(
    ckpt: CheckpointSpec,
    *,
    explicit: str | os.PathLike[str] | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
    progress: bool = True,
) -> ResolvedCheckpoint:
    """Find ``ckpt`` on disk or download it (see the module docstring for the order).

    An explicit path is used as given (its hash is recorded, not checked: it may be a
    fine-tuned model); files found by name in a directory must match the official hash.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ModelError(f"{path}: checkpoint file does not exist")
        return ResolvedCheckpoint(path, file_sha256(path), "explicit")
    dirs = search_dirs(models_dir)
    for i, d in enumerate(dirs):
        candidate = d / ckpt.filename
        if candidate.is_file():
            source = "cache" if i == len(dirs) - 1 else "models_dir"
            return ResolvedCheckpoint(candidate, _check_hash(candidate, ckpt), source)
    if not allow_download:
        raise MissingCheckpointError([(ckpt.filename, ckpt.url)], dirs, ["downloads disabled"])
    try:
        path = download(ckpt, models_cache_dir(), progress=progress)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise MissingCheckpointError(
            [(ckpt.filename, ckpt.url)], dirs, [f"download failed: {exc}"]
        ) from exc
    return ResolvedCheckpoint(path, file_sha256(path), "download")


def resolve_checkpoints(
    ckpts: list[CheckpointSpec],
    *,
    models_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
    progress: bool = True,
) -> list[ResolvedCheckpoint]:
    """Resolve several checkpoints; one :class:`MissingCheckpointError` names all missing."""
    found: list[ResolvedCheckpoint] = []
    missing: list[tuple[str, str]] = []
    reasons: list[str] = []
    for ckpt in ckpts:
        try:
            found.append(
                resolve_checkpoint(
                    ckpt, models_dir=models_dir, allow_download=allow_download, progress=progress
                )
            )
        except MissingCheckpointError as exc:
            missing.extend(exc.missing)
            reasons.extend(exc.reasons)
    if missing:
        raise MissingCheckpointError(missing, search_dirs(models_dir), reasons)
    return found


# --- loading ----------------------------------------------------------------------------------


def is_mmdeploy_dir(path: str | os.PathLike[str]) -> bool:
    """An MMDeploy ONNX model directory: deploy.json + pipeline.json + an .onnx file."""
    p = Path(path)
    return p.is_dir() and (p / "deploy.json").is_file() and (p / "pipeline.json").is_file()


def _spec_for(
    task: str, spec: str | os.PathLike[str] | None, preset_name: str
) -> tuple[ModelSpec, Path | None]:
    """(model, explicit checkpoint path or None) for a --detector / --pose value."""
    default = model_spec(getattr(preset(preset_name), task if task == "pose" else "detector"))
    if spec is None:
        return default, None
    text = str(spec)
    if text in MODELS:
        found = MODELS[text]
        if found.task != task:
            raise ModelError(f"{text!r} is a {found.task} model, not a {task} model")
        return found, None
    path = Path(text)
    # An official file name says which architecture it fits, whatever the preset.
    for candidate in MODELS.values():
        if candidate.task == task and candidate.checkpoint.filename == path.name:
            return candidate, path
    return default, path


def resolve_model_checkpoint(
    model: ModelSpec,
    explicit: Path | None,
    *,
    models_dir: str | os.PathLike[str] | None,
    allow_download: bool,
    allow_random_weights: bool,
    progress: bool = True,
) -> ResolvedCheckpoint | None:
    """The checkpoint of ``model``, or None for random weights (only when opted in)."""
    try:
        return resolve_checkpoint(
            model.checkpoint,
            explicit=explicit,
            models_dir=models_dir,
            allow_download=allow_download,
            progress=progress,
        )
    except MissingCheckpointError:
        if not allow_random_weights:
            raise
        warnings.warn(
            f"{model.name}: no checkpoint ({model.checkpoint.filename}); using RANDOM weights "
            "as requested (allow_random_weights=True): the output is meaningless",
            stacklevel=3,
        )
        return None


def load_state_dict_checked(module: Any, path: Path, model_name: str) -> int:
    """Load an mmengine checkpoint into ``module``; every model weight must be in it.

    Returns the number of checkpoint entries the model did not use (e.g. EMA copies).
    """
    from analysis.models.compat import ensure_openmmlab_compat

    ensure_openmmlab_compat()
    from mmengine.runner import CheckpointLoader

    try:
        ckpt = CheckpointLoader.load_checkpoint(str(path), map_location="cpu")
    except Exception as exc:  # a corrupt file raises anything from pickle/zip
        raise ModelError(f"{path}: cannot read checkpoint: {exc}") from exc
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ModelError(f"{path}: not a checkpoint (no state_dict)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelError(f"{path}: checkpoint does not fit model {model_name}: {exc}") from exc
    if result.missing_keys:
        shown = ", ".join(result.missing_keys[:5])
        raise ModelError(
            f"{path}: checkpoint does not fit model {model_name}: "
            f"{len(result.missing_keys)} weights missing ({shown}, ...)"
        )
    return len(result.unexpected_keys)


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
    model, explicit = _spec_for(task, spec, preset)
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
    from analysis.models import detector as det
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
    from analysis.models import pose as pose_mod
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
    resolve = {
        "models_dir": models_dir,
        "allow_download": allow_download,
        "progress": progress,
    }
    pending: list[CheckpointSpec] = []
    for task, spec in (("detector", detector), ("pose", pose)):
        if spec is not None and is_mmdeploy_dir(spec):
            continue
        model, explicit = _spec_for(task, spec, preset)
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


BACKENDS = ("pytorch", "onnxruntime", "openvino", "auto")
# Backends that run our ONNX exports (and MMDeploy ONNX directories).
ONNX_BACKENDS = ("onnxruntime", "openvino")
PRECISIONS = ("fp32", "bf16")


def choose_backend(backend: str, device: str, *, machine: str | None = None) -> str:
    """Resolve ``"auto"``: pytorch on CUDA; on CPU openvino on x86-64, else onnxruntime.

    On the x86-64 CPUs measured (README, Figures) OpenVINO runs the same float32 exports with
    the same results as onnxruntime and the least overhead around them (total within 1.12x of
    the networks' own time against 1.38x); on ARM its CPU plugin is younger than onnxruntime's,
    so onnxruntime stays there. ``machine`` (``platform.machine()`` by default) is for tests.
    """
    if backend not in BACKENDS:
        raise ModelError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not (device == "cpu" or device == "cuda" or device.startswith("cuda:")):
        raise ModelError(f"device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    if backend != "auto":
        return backend
    if device != "cpu":
        return "pytorch"
    machine = (machine or platform.machine()).lower()
    if machine in ("x86_64", "amd64") and importlib.util.find_spec("openvino") is not None:
        return "openvino"
    return "onnxruntime"


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


def check_precision(precision: str, backend: str) -> None:
    """bfloat16 runs only on the openvino backend (CPUs with AMX or AVX512-BF16)."""
    if precision not in PRECISIONS:
        raise ModelError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision != "fp32" and backend != "openvino":
        raise ModelError(f"precision {precision} needs --backend openvino (got {backend})")
