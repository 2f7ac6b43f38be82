"""Batched person detection: RTMDet from an OpenMMLab checkpoint (PyTorch or ONNX Runtime) or
an MMDeploy ONNX model directory.

One forward pass per batch of frames. Pre- and post-processing are mmdet's, in numpy
(:mod:`analysis.models.rtmdet`); the network itself (normalisation included) is one graph that
both backends run: torch directly, onnxruntime from its export.

Output per frame: a :class:`~analysis.models.detections.Detections` (boxes ``x1, y1, x2, y2``
in frame pixels and their scores), persons only, sorted by descending score, above
``score_thr``, at most ``max_people``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.models.catalog import DETECTOR_TEST_CFG, ONNX_BACKENDS, ModelSpec
from analysis.models.checkpoints import ResolvedCheckpoint
from analysis.models.detections import Detections
from analysis.models.mmdeploy import read_mmdeploy_dir
from analysis.models.rtmdet import DetBatch, RTMDetDecoder, letterbox


def _filter(boxes: np.ndarray, score_thr: float, max_people: int | None) -> Detections:
    boxes = boxes[boxes[:, 4] >= score_thr]
    boxes = boxes[np.argsort(-boxes[:, 4], kind="stable")]
    if max_people is not None:
        boxes = boxes[:max_people]
    return Detections.from_array(boxes)


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

    def postprocess(self, raw: Any, batch: DetBatch) -> list[Detections]:
        decoded = self.backend.decode(raw, batch, self.score_thr)
        return [_filter(b, self.score_thr, self.max_people) for b in decoded]

    def __call__(self, frames: list[np.ndarray]) -> list[Detections]:
        """The people in each frame: boxes in frame pixels and scores, best first."""
        out: list[Detections] = []
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
