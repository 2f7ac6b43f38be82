"""The installed stack runs OpenMMLab's own inference on configs shipped in the wheels.

Random weights here (no pretrained pose weights exist on these machines): these tests prove the
stack works end to end, not that the keypoints are right. The trained detector is checked
against ground truth below, through onnxruntime.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from analysis.models.catalog import detector_config, pose_config
from analysis.models.compat import ensure_openmmlab_compat
from analysis.models.loading import load_detector
from tests.helpers import iou, shared_path

pytestmark = pytest.mark.slow

IMAGE = ("data", "images", "coco", "000000197388.jpg")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    img = cv2.imread(str(shared_path(*IMAGE)))
    assert img is not None
    return img


def test_rtmdet_nano_person_random_weights_inference_detector(image: np.ndarray) -> None:
    ensure_openmmlab_compat()
    from mmdet.apis import inference_detector, init_detector

    torch.manual_seed(0)
    model = init_detector(detector_config("rtmdet-nano-person-320"), None, device="cpu")
    assert model.bbox_head.num_classes == 1  # a person-only head
    result = inference_detector(model, image)
    inst = result.pred_instances
    assert inst.bboxes.ndim == 2 and inst.bboxes.shape[1] == 4
    assert len(inst.bboxes) <= 100  # max_per_img of RTMPose's person-detector settings
    assert set(inst.labels.tolist()) <= {0}


def test_rtmpose_t_random_weights_inference_topdown(image: np.ndarray) -> None:
    ensure_openmmlab_compat()
    from mmpose.apis import inference_topdown, init_model

    torch.manual_seed(0)
    model = init_model(pose_config("rtmpose-t-256x192"), None, device="cpu")
    h, w = image.shape[:2]
    boxes = np.array([[0, 0, w / 2, h], [w / 2, 0, w, h]], np.float32)
    results = inference_topdown(model, image, boxes, bbox_format="xyxy")
    assert len(results) == 2
    for sample, box in zip(results, boxes, strict=True):
        kpts = sample.pred_instances.keypoints
        scores = sample.pred_instances.keypoint_scores
        assert kpts.shape == (1, 17, 2) and scores.shape == (1, 17)
        assert np.isfinite(kpts).all()
        # SimCC decoding maps back into the (padded) box around the crop
        cx, bw = (box[0] + box[2]) / 2, (box[2] - box[0]) * 1.25
        assert (np.abs(kpts[0, :, 0] - cx) <= bw).all()


def test_mmdeploy_onnx_detector_finds_every_annotated_person() -> None:
    model_dir = shared_path("models", "rtmdet-nano-person")
    root = shared_path("data", "images", "coco")
    detector = load_detector(model_dir, backend="onnxruntime", score_thr=0.3)
    assert detector.info["backend"] == "onnxruntime"
    meta = json.loads((root / "test_coco.json").read_text())
    names = {im["id"]: im["file_name"] for im in meta["images"]}
    frames = {n: cv2.imread(str(root / n)) for n in names.values()}
    found = dict(zip(frames, detector(list(frames.values())), strict=True))
    checked = 0
    for ann in meta["annotations"]:
        x, y, w, h = ann["bbox"]
        if w * h <= 32 * 32:
            continue
        dets = found[names[ann["image_id"]]]
        assert len(dets), f"nobody found in {names[ann['image_id']]}"
        best = iou(np.array([[x, y, x + w, y + h]], np.float32), dets.xyxy).max()
        assert best >= 0.5, f"annotation {ann['id']} in {names[ann['image_id']]}: IoU {best:.2f}"
        checked += 1
    assert checked == 12  # the people above 32x32 in test_coco.json
