"""Batched person detection: RTMDet from an OpenMMLab checkpoint (PyTorch or ONNX Runtime) or
an MMDeploy ONNX model directory.

One forward pass per batch of frames. Pre-processing is mmdet's test pipeline done on the
batch in numpy/cv2 (keep-ratio resize to the model's square input, pad with 114, normalise);
post-processing is mmdet's RTMDet ``predict_by_feat`` in numpy (per-level score filter and
top-k, distance decoding clipped to the resized image, rescale to frame pixels, NMS,
``max_per_img``). The network itself (normalisation included) is one graph that both backends
run: torch directly, onnxruntime from its export.

Output per frame: ``float32 (N, 5)`` rows ``x1, y1, x2, y2, score`` in frame pixels, persons
only, sorted by descending score, above ``score_thr``, at most ``max_people``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from analysis.models.catalog import DETECTOR_TEST_CFG, ONNX_BACKENDS, ModelSpec
from analysis.models.checkpoints import ResolvedCheckpoint
from analysis.models.mmdeploy import read_mmdeploy_dir

PAD_VALUE = 114


@dataclass(frozen=True)
class DetBatch:
    """Frames letterboxed into the detector's square input.

    ``images``: uint8 (N, H, W, 3) BGR canvases; ``scale_factors``: (N, 2) float
    (w_scale, h_scale) from frame to canvas; ``img_shapes``: (N, 2) (h, w) of the resized
    frame inside the canvas; ``ori_shapes``: (N, 2) frame (h, w).
    """

    images: np.ndarray
    scale_factors: np.ndarray
    img_shapes: np.ndarray
    ori_shapes: np.ndarray


def letterbox(frames: list[np.ndarray], size: tuple[int, int]) -> DetBatch:
    """mmdet ``Resize(scale=size, keep_ratio=True)`` + ``Pad(size=size, pad_val=114)``.

    ``size`` is (width, height) of the canvas. Uses cv2 bilinear resizing exactly as mmcv's
    ``imrescale`` does, so the canvases are bit-identical to mmdet's pipeline.
    """
    cw, ch = size
    out = np.full((len(frames), ch, cw, 3), PAD_VALUE, dtype=np.uint8)
    scale_factors = np.zeros((len(frames), 2), dtype=np.float64)
    img_shapes = np.zeros((len(frames), 2), dtype=np.int64)
    ori_shapes = np.zeros((len(frames), 2), dtype=np.int64)
    for i, frame in enumerate(frames):
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"frame {i}: expected uint8 BGR (H, W, 3), got {frame.dtype} {frame.shape}"
            )
        h, w = frame.shape[:2]
        # mmcv.rescale_size with a (long, short) edge pair, then _scale_size's rounding.
        factor = min(max(cw, ch) / max(h, w), min(cw, ch) / min(h, w))
        new_w, new_h = int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)
        if (new_w, new_h) == (w, h):
            resized = frame
        else:
            resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        out[i, :new_h, :new_w] = resized
        scale_factors[i] = (new_w / w, new_h / h)
        img_shapes[i] = (new_h, new_w)
        ori_shapes[i] = (h, w)
    return DetBatch(out, scale_factors, img_shapes, ori_shapes)


def mlvl_points(size: tuple[int, int], strides: tuple[int, ...]) -> tuple[np.ndarray, list[slice]]:
    """mmdet ``MlvlPointGenerator(offset=0)`` priors (x, y) for a (width, height) input.

    Row-major per level (y outer, x inner), levels concatenated; also the slice of each level.
    """
    w, h = size
    points, slices, start = [], [], 0
    for s in strides:
        fw, fh = int(np.ceil(w / s)), int(np.ceil(h / s))
        xs = np.arange(fw, dtype=np.float32) * s
        ys = np.arange(fh, dtype=np.float32) * s
        xx, yy = np.meshgrid(xs, ys)
        points.append(np.stack([xx.ravel(), yy.ravel()], axis=1))
        slices.append(slice(start, start + fw * fh))
        start += fw * fh
    return np.concatenate(points).astype(np.float32), slices


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS as mmcv's ``nms`` op (areas without +1, suppress when IoU > threshold).

    Returns the kept indices in descending score order.
    """
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        xx1 = np.maximum(x1[i], x1[rest])
        yy1 = np.maximum(y1[i], y1[rest])
        xx2 = np.minimum(x2[i], x2[rest])
        yy2 = np.minimum(y2[i], y2[rest])
        inter = np.maximum(xx2 - xx1, 0) * np.maximum(yy2 - yy1, 0)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > iou_threshold)]
    return np.asarray(keep, dtype=np.int64)


def decode_rtmdet(
    scores: np.ndarray,
    distances: np.ndarray,
    priors: np.ndarray,
    level_slices: list[slice],
    batch: DetBatch,
    test_cfg: dict[str, Any],
    label: int = 0,
    clip_border: bool = True,
) -> list[np.ndarray]:
    """RTMDet ``predict_by_feat`` in numpy for one class.

    ``scores``: (N, P, C) sigmoid scores; ``distances``: (N, P, 4) left/top/right/bottom
    distances in canvas pixels (already times the stride). Returns per image float32 (M, 5)
    boxes in frame pixels of class ``label``, after NMS, descending score.
    """
    score_thr = float(test_cfg["score_thr"])
    nms_pre = int(test_cfg["nms_pre"])
    iou_thr = float(test_cfg["nms"]["iou_threshold"])
    max_per_img = int(test_cfg["max_per_img"])
    min_size = float(test_cfg.get("min_bbox_size", -1))
    results = []
    for i in range(scores.shape[0]):
        all_boxes, all_scores = [], []
        for sl in level_slices:
            s = scores[i, sl, label]
            idx = np.flatnonzero(s > score_thr)
            if idx.size == 0:
                continue
            vals = s[idx]
            order = np.argsort(-vals, kind="stable")[:nms_pre]
            idx, vals = idx[order], vals[order]
            pts = priors[sl][idx]
            d = distances[i, sl][idx]
            boxes = np.stack(
                [
                    pts[:, 0] - d[:, 0],
                    pts[:, 1] - d[:, 1],
                    pts[:, 0] + d[:, 2],
                    pts[:, 1] + d[:, 3],
                ],
                axis=1,
            )
            if clip_border:
                # mmdet's Pad sets img_shape to the padded canvas, so that is the clip bound.
                h, w = batch.images.shape[1:3]
                boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w)
                boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h)
            all_boxes.append(boxes)
            all_scores.append(vals)
        if not all_boxes:
            results.append(np.zeros((0, 5), dtype=np.float32))
            continue
        boxes = np.concatenate(all_boxes).astype(np.float32)
        vals = np.concatenate(all_scores).astype(np.float32)
        ws, hs = batch.scale_factors[i]
        boxes = boxes / np.array([ws, hs, ws, hs], dtype=np.float32)
        if min_size >= 0:
            ok = ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)
            boxes, vals = boxes[ok], vals[ok]
        keep = nms(boxes, vals, iou_thr)[:max_per_img]
        results.append(np.concatenate([boxes[keep], vals[keep, None]], axis=1).astype(np.float32))
    return results


def _filter(boxes: np.ndarray, score_thr: float, max_people: int | None) -> np.ndarray:
    boxes = boxes[boxes[:, 4] >= score_thr]
    boxes = boxes[np.argsort(-boxes[:, 4], kind="stable")]
    if max_people is not None:
        boxes = boxes[:max_people]
    return np.ascontiguousarray(boxes, dtype=np.float32)


@dataclass
class Detector:
    """A loaded person detector (see the module docstring for the output).

    ``forward_batch(images)`` runs the network alone on letterboxed uint8 canvases (the
    benchmark's model-forward floor); ``__call__`` does the whole of it.
    """

    backend: Any
    input_size: tuple[int, int]
    score_thr: float = 0.3
    max_people: int | None = None
    batch_size: int = 8
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = None  # the mmdet model when built (reference path, export)

    def preprocess(self, frames: list[np.ndarray]) -> DetBatch:
        return letterbox(frames, self.input_size)

    def forward_batch(self, images: np.ndarray) -> Any:
        """Network outputs for a uint8 (N, H, W, 3) batch of canvases (backend-specific)."""
        return self.backend.forward(images)

    def postprocess(self, raw: Any, batch: DetBatch) -> list[np.ndarray]:
        decoded = self.backend.decode(raw, batch, self.score_thr)
        return [_filter(b, self.score_thr, self.max_people) for b in decoded]

    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Boxes per frame: float32 (N, 5) ``x1, y1, x2, y2, score`` in frame pixels."""
        out: list[np.ndarray] = []
        for start in range(0, len(frames), self.batch_size):
            batch = self.preprocess(frames[start : start + self.batch_size])
            out.extend(self.postprocess(self.forward_batch(batch.images), batch))
        return out


# --- the network as one graph: uint8 canvases in, sigmoid scores and distances out -------------


def detector_net(model: Any) -> Any:
    """Wrap an mmdet RTMDet as ``uint8 (N, H, W, 3) BGR -> (scores (N, P, C), dist (N, P, 4))``.

    Normalisation is the model's own ``data_preprocessor`` (mean, std, channel order).
    """
    import torch

    from analysis.models.netinput import Uint8Input

    class DetectorNet(Uint8Input):
        def __init__(self, det: Any) -> None:
            super().__init__(det.data_preprocessor)
            self.det = det

        def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.normalise(images)
            cls_scores, bbox_preds = self.det.bbox_head(self.det.extract_feat(x))
            n = x.shape[0]
            scores = torch.cat(
                [c.permute(0, 2, 3, 1).reshape(n, -1, c.shape[1]) for c in cls_scores], 1
            )
            dist = torch.cat([b.permute(0, 2, 3, 1).reshape(n, -1, 4) for b in bbox_preds], 1)
            return scores.sigmoid(), dist

    return DetectorNet(model).eval()


@dataclass
class RTMDetDecoder:
    """The numpy post-processing shared by both backends of an mmdet RTMDet."""

    input_size: tuple[int, int]
    strides: tuple[int, ...]
    test_cfg: dict[str, Any]
    priors: np.ndarray = field(init=False)
    slices: list[slice] = field(init=False)

    def __post_init__(self) -> None:
        self.priors, self.slices = mlvl_points(self.input_size, self.strides)

    def decode(
        self, raw: tuple[np.ndarray, np.ndarray], batch: DetBatch, min_score: float = 0.0
    ) -> list[np.ndarray]:
        """mmdet's post-processing; candidates below ``min_score`` are dropped up front.

        Dropping them changes nothing above ``min_score``: in greedy NMS a box only suppresses
        lower-scored boxes, and the per-level top-k and ``max_per_img`` keep the best first.
        """
        scores, dist = raw
        cfg = dict(self.test_cfg, score_thr=max(float(self.test_cfg["score_thr"]), min_score))
        return decode_rtmdet(scores, dist, self.priors, self.slices, batch, cfg)


class TorchDetectorBackend:
    def __init__(self, net: Any, decoder: RTMDetDecoder, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.net = net.to(self.device)
        self.decoder = decoder

    def forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
            scores, dist = self.net(x)
        return scores.float().cpu().numpy(), dist.float().cpu().numpy()

    def decode(self, raw: Any, batch: DetBatch, min_score: float = 0.0) -> list[np.ndarray]:
        return self.decoder.decode(raw, batch, min_score)


class OrtDetectorBackend:
    def __init__(self, session: Any, decoder: RTMDetDecoder) -> None:
        self.session = session
        self.decoder = decoder
        self.input_name = session.get_inputs()[0].name

    def forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, dist = self.session.run(None, {self.input_name: np.ascontiguousarray(images)})
        return scores, dist

    def decode(self, raw: Any, batch: DetBatch, min_score: float = 0.0) -> list[np.ndarray]:
        return self.decoder.decode(raw, batch, min_score)


def build_mmdet_model(
    spec: ModelSpec, resolved: ResolvedCheckpoint | None, device: str, seed: int
) -> Any:
    """``init_detector`` on our config; weights from ``resolved`` (strictly) or random."""
    import warnings

    import torch

    from analysis.models.catalog import detector_config
    from analysis.models.checkpoints import load_state_dict_checked
    from analysis.models.compat import ensure_openmmlab_compat

    ensure_openmmlab_compat()
    from mmdet.apis import init_detector

    cfg = detector_config(spec.name)
    with torch.random.fork_rng(), warnings.catch_warnings():
        torch.manual_seed(seed)
        warnings.simplefilter("ignore")
        model = init_detector(cfg, checkpoint=None, device="cpu", palette="none")
    if resolved is not None:
        load_state_dict_checked(model, resolved.path, spec.name)
    model.dataset_meta = {"classes": ("person",)}
    return model.to(device).eval()


def load_openmmlab_detector(
    spec: ModelSpec,
    resolved: ResolvedCheckpoint | None,
    *,
    backend: str,
    device: str,
    score_thr: float,
    max_people: int | None,
    batch_size: int,
    ort_threads: int,
    precision: str = "fp32",
    seed: int = 0,
) -> Detector:
    """A :class:`Detector` for an mmdet RTMDet model (``resolved`` None: random weights)."""
    from analysis.models import onnx_export

    test_cfg = dict(DETECTOR_TEST_CFG)
    decoder = RTMDetDecoder(spec.input_size, (8, 16, 32), test_cfg)
    info: dict[str, Any] = {
        "task": "detector",
        "name": spec.name,
        "config": f"{spec.package}::{spec.base_config} (edited in analysis.models.catalog)",
        "checkpoint": str(resolved.path) if resolved else None,
        "checkpoint_source": resolved.source if resolved else None,
        "sha256": resolved.sha256 if resolved else None,
        "backend": backend,
        "precision": precision,
        "device": device,
        "random_weights": resolved is None,
        "input_size": list(spec.input_size),
        "test_cfg": test_cfg,
        "score_thr": score_thr,
        "max_people": max_people,
    }
    model = None
    exported = backend in ONNX_BACKENDS
    if exported and resolved is not None:
        path = onnx_export.export_path(spec.name, resolved.sha256, _export_settings(spec))
    else:
        model = build_mmdet_model(spec, resolved, "cpu" if exported else device, seed)
        if exported:
            digest = onnx_export.state_dict_sha256(model)
            info["sha256"] = digest
            path = onnx_export.export_path(spec.name, digest, _export_settings(spec))
    if backend == "pytorch":
        runner: Any = TorchDetectorBackend(detector_net(model), decoder, device)
        return Detector(runner, spec.input_size, score_thr, max_people, batch_size, info, model)
    if not path.is_file():
        if model is None:
            model = build_mmdet_model(spec, resolved, "cpu", seed)
        w, h = spec.input_size
        sample = _sample_canvas(h, w)
        onnx_export.export_onnx(
            detector_net(model), sample, path, input_name="images", output_names=["scores", "dist"]
        )
    info["onnx"] = str(path)
    info["ort_threads"] = ort_threads
    session = onnx_export.make_session(
        path, device, ort_threads, runtime=backend, precision=precision, max_batch=batch_size
    )
    return Detector(
        OrtDetectorBackend(session, decoder),
        spec.input_size,
        score_thr,
        max_people,
        batch_size,
        info,
    )


def _export_settings(spec: ModelSpec) -> dict[str, Any]:
    return {"input": "uint8-nhwc-bgr", "size": list(spec.input_size), "outputs": "sigmoid+dist"}


def _sample_canvas(h: int, w: int) -> Any:
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 255, (2, h, w, 3), dtype=torch.uint8, generator=gen)


# --- MMDeploy ONNX directories ------------------------------------------------------------------


@dataclass
class MMDeployDetectorBackend:
    """An MMDeploy ``end2end.onnx`` detector: normalised float input, ``dets``/``labels`` out.

    Boxes come out in canvas pixels after the graph's own NMS; they are rescaled to the frame
    and clipped to it (as mmdet clips to the resized image).
    """

    session: Any
    mean: np.ndarray
    std: np.ndarray
    to_rgb: bool
    max_batch: int = 1
    person_label: int = 0

    def forward(self, images: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(dets, labels) per image; the graph is run ``max_batch`` images at a time."""
        x = images.astype(np.float32)
        if self.to_rgb:
            x = x[..., ::-1]
        x = ((x - self.mean) / self.std).transpose(0, 3, 1, 2)
        name = self.session.get_inputs()[0].name
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for start in range(0, len(x), self.max_batch):
            chunk = np.ascontiguousarray(x[start : start + self.max_batch])
            dets, labels = self.session.run(None, {name: chunk})[:2]
            out.extend(zip(dets, labels, strict=True))
        return out

    def decode(self, raw: Any, batch: DetBatch, min_score: float = 0.0) -> list[np.ndarray]:
        out = []
        for i, (dets, labels) in enumerate(raw):
            d = dets[(labels == self.person_label) & (dets[:, 4] > 0)].astype(np.float32)
            ws, hs = batch.scale_factors[i]
            d[:, :4] /= np.array([ws, hs, ws, hs], dtype=np.float32)
            h, w = batch.ori_shapes[i]
            d[:, 0:4:2] = np.clip(d[:, 0:4:2], 0, w)
            d[:, 1:4:2] = np.clip(d[:, 1:4:2], 0, h)
            out.append(d[np.argsort(-d[:, 4], kind="stable")])
        return out


def load_mmdeploy_detector(
    directory: Path,
    *,
    runtime: str = "onnxruntime",
    precision: str = "fp32",
    device: str,
    score_thr: float,
    max_people: int | None,
    batch_size: int,
    ort_threads: int,
) -> Detector:
    """A :class:`Detector` for an MMDeploy ONNX directory (deploy.json, pipeline.json, onnx)."""
    from analysis.models import onnx_export

    model = read_mmdeploy_dir(directory, "Detector")
    size = None
    for t in model.transforms:
        if t["type"] == "Resize":
            if not t.get("keep_ratio", False):
                raise model.error("only keep_ratio Resize is supported")
            size = tuple(int(v) for v in t["size"])
        elif t["type"] == "Pad" and "size" in t and tuple(t["size"]) != size:
            raise model.error(f"Pad size {t['size']} != Resize {size}")
    if size is None:
        raise model.error("no Resize transform (input size unknown)")
    # pipeline.json gives the size as (height, width); the RTMDet exports are square anyway.
    input_size = (size[1], size[0])
    session = onnx_export.make_session(
        model.onnx_path, device, ort_threads, runtime=runtime, precision=precision
    )
    backend = MMDeployDetectorBackend(session, *model.normalisation(), model.max_batch)
    info = model.info(
        "detector", device, ort_threads, runtime, precision,
        input_size=list(input_size), score_thr=score_thr, max_people=max_people,
    )  # fmt: skip
    return Detector(backend, input_size, score_thr, max_people, batch_size, info)
