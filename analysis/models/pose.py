"""Batched top-down pose: RTMPose (SimCC) from an OpenMMLab checkpoint (PyTorch or ONNX Runtime)
or an MMDeploy ONNX model directory.

All crops of all given frames go through the network together (chunked by ``batch_size``).
The crop is mmpose's ``GetBBoxCenterScale(padding=1.25)`` + ``TopdownAffine`` (aspect ratio
fixed to the input's, the same float32 arithmetic, ``cv2.getAffineTransform`` +
``cv2.warpAffine`` bilinear); decoding is ``SimCCLabel.decode`` (argmax per axis, score = the
smaller of the two maxima, ``-1`` where it is not positive) mapped back to frame pixels as
``TopdownPoseEstimator.add_pred_to_datasample`` does, all vectorised in numpy. The optional
flip test averages with the horizontally flipped crop as ``RTMCCHead.predict`` does.

Output per frame: ``(keypoints float32 (N, 17, 2) in frame pixels, scores float32 (N, 17))``;
scores are the raw SimCC maxima (not probabilities; higher is more confident).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analysis.models.catalog import ONNX_BACKENDS, ModelSpec
from analysis.models.checkpoints import ResolvedCheckpoint
from analysis.models.errors import ModelError
from analysis.models.mmdeploy import read_mmdeploy_dir

BBOX_PADDING = 1.25
# COCO-17 left/right pairs: the index each keypoint takes in the mirrored image.
COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


@dataclass(frozen=True)
class CropBatch:
    """Crops of people cut out of frames for the pose network.

    ``images``: uint8 (M, H, W, 3) BGR; ``centers``/``scales``: float32 (M, 2) of the crop
    region in frame pixels (scale = its width and height after the aspect-ratio fix);
    ``counts``: crops per frame, in frame order.
    """

    images: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    counts: list[int]


def bbox_center_scale(
    boxes: np.ndarray, input_size: tuple[int, int], padding: float = BBOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """mmpose ``bbox_xyxy2cs`` + ``TopdownAffine._fix_aspect_ratio`` in float32.

    ``boxes``: (M, 4+) x1, y1, x2, y2 in pixels. Returns centers and scales, float32 (M, 2).
    """
    b = np.asarray(boxes, dtype=np.float32)[:, :4]
    scale = (b[:, 2:] - b[:, :2]) * padding
    center = (b[:, 2:] + b[:, :2]) * 0.5
    aspect = input_size[0] / input_size[1]
    w, h = scale[:, :1], scale[:, 1:]
    scale = np.where(w > h * aspect, np.hstack([w, w / aspect]), np.hstack([h * aspect, h]))
    return center.astype(np.float32), scale.astype(np.float32)


def warp_matrix(center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """mmpose ``get_warp_matrix(center, scale, rot=0, output_size)`` (3 points, float32)."""
    dst_w, dst_h = input_size
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src_dir = np.array([scale[0] * -0.5, 0.0])
    dst_dir = np.array([dst_w * -0.5, 0.0])
    src[0, :] = center
    src[1, :] = center + src_dir
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    for pts in (src, dst):
        direction = pts[0] - pts[1]
        pts[2, :] = pts[1] + np.r_[-direction[1], direction[0]]
    return cv2.getAffineTransform(src, dst)  # both float32 (3, 2) already


def _as_boxes(b: np.ndarray) -> np.ndarray:
    a = np.asarray(b, dtype=np.float32)
    if a.size == 0:
        return np.zeros((0, 4), dtype=np.float32)
    if a.ndim != 2 or a.shape[1] < 4:
        raise ValueError(f"boxes: expected (N, 4) or (N, 5), got {a.shape}")
    return a[:, :4]


def crop_people(
    frames: list[np.ndarray],
    boxes: list[np.ndarray],
    input_size: tuple[int, int],
    padding: float = BBOX_PADDING,
) -> CropBatch:
    """Affine crops of every box of every frame, in frame order, at ``input_size`` (w, h).

    Each box is enlarged by ``padding`` and to the input's aspect ratio; the crop is black
    where it leaves the frame.
    """
    if len(frames) != len(boxes):
        raise ValueError(f"{len(frames)} frames but {len(boxes)} box arrays")
    w, h = input_size
    counts = [int(len(b)) for b in boxes]
    total = sum(counts)
    images = np.zeros((total, h, w, 3), dtype=np.uint8)
    if total == 0:
        empty = np.zeros((0, 2), dtype=np.float32)
        return CropBatch(images, empty, empty, counts)
    stacked = np.concatenate([_as_boxes(b) for b in boxes])
    bad = ~np.isfinite(stacked).all(axis=1)
    if bad.any():
        frame_of = np.repeat(np.arange(len(boxes)), counts)
        raise ValueError(f"boxes of frame {int(frame_of[bad][0])}: non-finite coordinates")
    centers, scales = bbox_center_scale(stacked, input_size, padding)
    k = 0
    for frame, n in zip(frames, counts, strict=True):
        for _ in range(n):
            mat = warp_matrix(centers[k], scales[k], input_size)
            cv2.warpAffine(frame, mat, (w, h), dst=images[k], flags=cv2.INTER_LINEAR)
            k += 1
    return CropBatch(images, centers, scales, counts)


def simcc_decode(
    simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float
) -> tuple[np.ndarray, np.ndarray]:
    """mmpose ``get_simcc_maximum`` + ``/ simcc_split_ratio``: input-space (M, K, 2), (M, K)."""
    x_locs = np.argmax(simcc_x, axis=-1)
    y_locs = np.argmax(simcc_y, axis=-1)
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    vals = np.minimum(np.max(simcc_x, axis=-1), np.max(simcc_y, axis=-1)).astype(np.float32)
    locs[vals <= 0.0] = -1
    return locs / np.float32(split_ratio), vals


def to_frame(
    keypoints: np.ndarray, centers: np.ndarray, scales: np.ndarray, input_size: tuple[int, int]
) -> np.ndarray:
    """Input-space keypoints (M, K, 2) back to frame pixels (``add_pred_to_datasample``)."""
    size = np.asarray(input_size, dtype=np.float64)
    out = keypoints / size * scales[:, None, :] + centers[:, None, :] - 0.5 * scales[:, None, :]
    return out.astype(np.float32)


def flip_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, flip_indices: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """mmpose ``flip_vectors``: predictions on mirrored crops back to the original side."""
    return simcc_x[:, flip_indices, ::-1], simcc_y[:, flip_indices]


@dataclass
class PoseEstimator:
    """A loaded top-down pose model (see the module docstring for the output).

    ``forward_batch(crops)`` runs the network alone on uint8 crops (the benchmark's floor).
    """

    backend: Any
    input_size: tuple[int, int]
    split_ratio: float = 2.0
    flip_test: bool = False
    flip_indices: list[int] = field(default_factory=lambda: list(COCO_FLIP_INDICES))
    batch_size: int = 16
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = None  # the mmpose model when built (reference path, export)
    padding: float = BBOX_PADDING

    def crop(self, frames: list[np.ndarray], boxes: list[np.ndarray]) -> CropBatch:
        return crop_people(frames, boxes, self.input_size, self.padding)

    def forward_batch(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SimCC outputs (M, K, Wx), (M, K, Wy) for uint8 (M, H, W, 3) crops, chunked."""
        xs, ys = [], []
        for start in range(0, len(crops), self.batch_size):
            chunk = crops[start : start + self.batch_size]
            x, y = self.backend.forward(chunk)
            if self.flip_test:
                fx, fy = self.backend.forward(np.ascontiguousarray(chunk[:, :, ::-1]))
                fx, fy = flip_simcc(fx, fy, self.flip_indices)
                x, y = (x + fx) * 0.5, (y + fy) * 0.5
            xs.append(x)
            ys.append(y)
        return np.concatenate(xs), np.concatenate(ys)

    def decode(
        self, simcc: tuple[np.ndarray, np.ndarray], batch: CropBatch
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        locs, vals = simcc_decode(simcc[0], simcc[1], self.split_ratio)
        kpts = to_frame(locs, batch.centers, batch.scales, self.input_size)
        out, start = [], 0
        for n in batch.counts:
            out.append((kpts[start : start + n], vals[start : start + n]))
            start += n
        return out

    def __call__(
        self, frames: list[np.ndarray], boxes: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per frame: keypoints float32 (N, 17, 2) in frame pixels and scores float32 (N, 17).

        ``boxes[i]``: (N, 4) or (N, 5) x1, y1, x2, y2[, score] for ``frames[i]``.
        """
        batch = self.crop(frames, boxes)
        if len(batch.images) == 0:
            k = len(self.flip_indices)
            return [(np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)) for _ in frames]
        return self.decode(self.forward_batch(batch.images), batch)


# --- the network as one graph: uint8 crops in, SimCC vectors out --------------------------------


def pose_net(model: Any) -> Any:
    """Wrap an mmpose top-down SimCC model as ``uint8 (M, H, W, 3) BGR -> (simcc_x, simcc_y)``.

    Normalisation is the model's own ``data_preprocessor`` (mean, std, BGR to RGB).
    """
    import torch

    from analysis.models.netinput import Uint8Input

    class PoseNet(Uint8Input):
        def __init__(self, pose: Any) -> None:
            super().__init__(pose.data_preprocessor)
            self.pose = pose

        def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.normalise(crops)
            simcc_x, simcc_y = self.pose.head.forward(self.pose.extract_feat(x))
            return simcc_x, simcc_y

    return PoseNet(model).eval()


class TorchPoseBackend:
    def __init__(self, net: Any, device: str, half: bool = False) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.half = half
        self.net = net.to(self.device)
        if half:
            self.net = self.net.half()

    def forward(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device)
            sx, sy = self.net(x)
        return sx.float().cpu().numpy(), sy.float().cpu().numpy()


class OrtPoseBackend:
    def __init__(self, session: Any, normalise: tuple[np.ndarray, np.ndarray, bool] | None = None):
        self.session = session
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        # MMDeploy graphs take normalised float NCHW; ours take the uint8 crops as they are.
        self.normalise = normalise
        # A graph traced with a fixed batch dimension runs that many crops at a time.
        self.max_batch = inp.shape[0] if isinstance(inp.shape[0], int) else None

    def forward(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(crops)
        if self.normalise is not None:
            mean, std, to_rgb = self.normalise
            f = x.astype(np.float32)
            if to_rgb:
                f = f[..., ::-1]
            x = np.ascontiguousarray(((f - mean) / std).transpose(0, 3, 1, 2))
        if self.max_batch is None or len(x) <= self.max_batch:
            sx, sy = self.session.run(None, {self.input_name: x})[:2]
            return sx, sy
        parts = [
            self.session.run(None, {self.input_name: x[i : i + self.max_batch]})[:2]
            for i in range(0, len(x), self.max_batch)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def build_mmpose_model(
    spec: ModelSpec,
    resolved: ResolvedCheckpoint | None,
    device: str,
    seed: int,
    flip_test: bool = False,
) -> Any:
    """mmpose ``init_model`` on our config; weights from ``resolved`` (strictly) or random."""
    import warnings

    import torch

    from analysis.models.catalog import pose_config
    from analysis.models.checkpoints import load_state_dict_checked
    from analysis.models.compat import ensure_openmmlab_compat

    ensure_openmmlab_compat()
    from mmpose.apis import init_model

    cfg = pose_config(spec.name, flip_test=flip_test)
    with torch.random.fork_rng(), warnings.catch_warnings():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")
        model = init_model(cfg, checkpoint=None, device="cpu")
    if resolved is not None:
        load_state_dict_checked(model, resolved.path, spec.name)
    return model.to(device).eval()


def _codec(cfg: Any) -> tuple[float, tuple[int, int]]:
    codec = cfg.codec
    if codec.get("type") != "SimCCLabel":
        raise ModelError(f"pose model codec {codec.get('type')!r}: only SimCCLabel is supported")
    if codec.get("use_dark", False) or codec.get("decode_visibility", False):
        raise ModelError("SimCCLabel with use_dark / decode_visibility is not supported")
    return float(codec.get("simcc_split_ratio", 2.0)), tuple(codec["input_size"])


def load_openmmlab_pose(
    spec: ModelSpec,
    resolved: ResolvedCheckpoint | None,
    *,
    backend: str,
    device: str,
    flip_test: bool,
    batch_size: int,
    ort_threads: int,
    precision: str = "fp32",
    seed: int = 0,
    half: bool = False,
) -> PoseEstimator:
    """A :class:`PoseEstimator` for an mmpose RTMPose model (``resolved`` None: random)."""
    from analysis.models import onnx_export
    from analysis.models.catalog import pose_config

    if half and (backend != "pytorch" or device == "cpu"):
        raise ModelError("half precision needs --backend pytorch on a CUDA device")
    cfg = pose_config(spec.name, flip_test=flip_test)
    split_ratio, input_size = _codec(cfg)
    settings = {"input": "uint8-nhwc-bgr", "size": list(input_size), "outputs": "simcc"}
    model = None
    flip_indices = list(COCO_FLIP_INDICES)
    exported = backend in ONNX_BACKENDS
    cached = (
        exported
        and resolved is not None
        and onnx_export.export_path(spec.name, resolved.sha256, settings).is_file()
    )
    if not cached:
        model = build_mmpose_model(spec, resolved, "cpu" if exported else device, seed, flip_test)
        flip_indices = list(model.dataset_meta.get("flip_indices", COCO_FLIP_INDICES))
    info: dict[str, Any] = {
        "task": "pose",
        "name": spec.name,
        "config": f"{spec.package}::{spec.base_config} (edited in analysis.models.catalog)",
        "checkpoint": str(resolved.path) if resolved else None,
        "checkpoint_source": resolved.source if resolved else None,
        "sha256": resolved.sha256 if resolved else onnx_export.state_dict_sha256(model),
        "backend": backend,
        "precision": precision,
        "device": device,
        "random_weights": resolved is None,
        "input_size": list(input_size),
        "flip_test": flip_test,
        "bbox_padding": BBOX_PADDING,
    }
    common: dict[str, Any] = {
        "input_size": input_size,
        "split_ratio": split_ratio,
        "flip_test": flip_test,
        "flip_indices": flip_indices,
        "batch_size": batch_size,
        "info": info,
        "model": model,
    }
    if backend == "pytorch":
        if half:
            info["half"] = True
        return PoseEstimator(TorchPoseBackend(pose_net(model), device, half), **common)
    path = onnx_export.export_path(spec.name, info["sha256"], settings)
    if not path.is_file():
        assert model is not None
        w, h = input_size
        import torch

        gen = torch.Generator().manual_seed(0)
        sample = torch.randint(0, 255, (2, h, w, 3), dtype=torch.uint8, generator=gen)
        onnx_export.export_onnx(
            pose_net(model), sample, path, input_name="crops", output_names=["simcc_x", "simcc_y"]
        )
    info["onnx"] = str(path)
    info["ort_threads"] = ort_threads
    session = onnx_export.make_session(
        path, device, ort_threads, runtime=backend, precision=precision, max_batch=batch_size
    )
    return PoseEstimator(OrtPoseBackend(session), **common)


def load_mmdeploy_pose(
    directory: Path,
    *,
    runtime: str = "onnxruntime",
    precision: str = "fp32",
    device: str,
    flip_test: bool,
    batch_size: int,
    ort_threads: int,
) -> PoseEstimator:
    """A :class:`PoseEstimator` for an MMDeploy RTMPose ONNX directory."""
    from analysis.models import onnx_export

    model = read_mmdeploy_dir(directory, "PoseDetector")
    input_size: tuple[int, int] | None = None
    padding = BBOX_PADDING
    for t in model.transforms:
        kind = t["type"].lower()
        if kind == "topdownaffine":
            if t.get("use_udp", False):
                raise model.error("UDP crops are not supported")
            size = t.get("image_size", t.get("input_size"))
            if size is None or len(size) != 2:
                raise model.error(f"TopDownAffine: image_size {size!r}: expected [width, height]")
            input_size = (int(size[0]), int(size[1]))
        elif kind in ("topdowngetbboxcenterscale", "getbboxcenterscale"):
            padding = float(t.get("padding", BBOX_PADDING))
    if input_size is None:
        raise model.error("no TopDownAffine (input size unknown)")
    split_ratio = 2.0
    for task in model.tasks:
        params = task.get("params", {})
        if task.get("component", "").startswith("SimCC") or "simcc_split_ratio" in params:
            if params.get("use_dark", False):
                raise model.error("SimCC DARK decoding unsupported")
            split_ratio = float(params.get("simcc_split_ratio", split_ratio))
        elif task.get("module") == "mmpose" and "component" in task:
            raise model.error(
                f"decoder {task['component']!r} is not SimCC; "
                "only RTMPose (SimCC) MMDeploy models are supported"
            )
    session = onnx_export.make_session(
        model.onnx_path, device, ort_threads, runtime=runtime, precision=precision,
        max_batch=batch_size,
    )  # fmt: skip
    normalise = model.normalisation()
    info = model.info(
        "pose", device, ort_threads, runtime, precision,
        input_size=list(input_size), flip_test=flip_test, bbox_padding=padding,
    )  # fmt: skip
    return PoseEstimator(
        OrtPoseBackend(session, normalise),
        input_size,
        split_ratio,
        flip_test,
        list(COCO_FLIP_INDICES),
        batch_size,
        info,
        padding=padding,
    )
