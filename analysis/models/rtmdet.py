"""RTMDet's pre- and post-processing in numpy, as mmdet does it, without mmdet.

Pre-processing is mmdet's test pipeline done on a batch in numpy/cv2 (keep-ratio resize to the
model's square input, pad with 114): :func:`letterbox`. Post-processing is mmdet's RTMDet
``predict_by_feat`` (per-level score filter and top-k, distance decoding clipped to the canvas,
rescale to frame pixels, NMS, ``max_per_img``): :func:`decode_rtmdet` and
:class:`RTMDetDecoder`, shared by every backend that runs the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

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
