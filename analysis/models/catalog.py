"""Model presets and the networks they name: specs, configs, backends and precisions.

A preset names a person detector and a top-down pose model. Each model is an OpenMMLab config
shipped inside the installed mmdet / mmpose wheel, edited in code (:func:`detector_config`,
:func:`pose_config`), plus an official checkpoint (:class:`CheckpointSpec`: file name, URL on
download.openmmlab.com and the sha256 prefix that OpenMMLab puts in the file name).

Finding the checkpoints is :mod:`analysis.models.checkpoints`; building the models is
:mod:`analysis.models.loading`.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.models.errors import ModelError

if TYPE_CHECKING:
    from mmengine.config import Config

OPENMMLAB = "https://download.openmmlab.com"


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
    if module.__file__ is None:  # a namespace package: no wheel folder to look in
        raise ModelError(f"{package}: not an installed wheel (no __file__), so no configs")
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


def spec_for(
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


def check_precision(precision: str, backend: str) -> None:
    """bfloat16 runs only on the openvino backend (CPUs with AMX or AVX512-BF16)."""
    if precision not in PRECISIONS:
        raise ModelError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision != "fp32" and backend != "openvino":
        raise ModelError(f"precision {precision} needs --backend openvino (got {backend})")
