"""analysis.models.pose: batched RTMPose agrees with mmpose's ``inference_topdown`` on the same boxes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from analysis.models.pose import (
    bbox_center_scale,
    crop_people,
    flip_simcc,
    simcc_decode,
    to_frame,
    warp_matrix,
)
from tests.helpers import coco_images_and_boxes, shared_path

# --- pure functions with known answers -------------------------------------------------------


def test_center_scale_fixes_the_aspect_ratio() -> None:
    boxes = np.array([[10, 20, 110, 220], [0, 0, 300, 100]], np.float32)
    center, scale = bbox_center_scale(boxes, (192, 256))
    np.testing.assert_allclose(center, [[60, 120], [150, 50]])
    # Tall box: height 200*1.25 = 250 decides, width = 250*0.75. Wide box: width decides.
    np.testing.assert_allclose(scale, [[187.5, 250], [375, 500]])


def test_crop_maps_the_box_onto_the_input_and_back() -> None:
    frame = np.zeros((400, 600, 3), np.uint8)
    cv2.circle(frame, (300, 150), 3, (255, 255, 255), -1)  # a dot at the box centre
    box = np.array([[250, 50, 350, 250, 0.9]], np.float32)
    batch = crop_people([frame], [box], (192, 256))
    assert batch.images.shape == (1, 256, 192, 3) and batch.counts == [1]
    ys, xs = np.nonzero(batch.images[0, :, :, 0] > 128)
    # The box centre lands at the crop centre; the box is scaled by 256 / (200 * 1.25).
    assert abs(xs.mean() - 96) < 0.6 and abs(ys.mean() - 128) < 0.6
    # Any input-space point maps back through the inverse of the warp.
    mat = warp_matrix(batch.centers[0], batch.scales[0], (192, 256))
    pts = np.array([[[10.0, 20.0], [96.0, 128.0], [180.0, 250.0]]], np.float32)
    back = to_frame(pts, batch.centers, batch.scales, (192, 256))[0]
    forward = back @ mat[:, :2].T + mat[:, 2]
    np.testing.assert_allclose(forward, pts[0], atol=1e-3)


def test_crop_handles_empty_frames() -> None:
    frames = [np.zeros((50, 60, 3), np.uint8)] * 3
    boxes = [np.zeros((0, 5), np.float32), np.array([[1, 2, 30, 40]], np.float32), np.zeros((0,))]
    batch = crop_people(frames, boxes, (192, 256))
    assert batch.counts == [0, 1, 0] and batch.images.shape[0] == 1
    with pytest.raises(ValueError, match="2 frames but 3"):
        crop_people(frames[:2], boxes, (192, 256))
    boxes[2] = np.array([[1, 2, np.nan, 40]], np.float32)
    with pytest.raises(ValueError, match="frame 2: non-finite"):
        crop_people(frames, boxes, (192, 256))


def test_simcc_decode_known_peaks() -> None:
    x = np.full((1, 2, 384), -1.0, np.float32)
    y = np.full((1, 2, 512), -1.0, np.float32)
    x[0, 0, 100], y[0, 0, 300] = 0.8, 0.6
    x[0, 1, 10], y[0, 1, 20] = 0.5, -0.1  # not positive on one axis: mmpose marks it -1
    locs, vals = simcc_decode(x, y, 2.0)
    np.testing.assert_allclose(locs[0, 0], [50, 150])
    np.testing.assert_allclose(vals[0], [0.6, -0.1])
    np.testing.assert_allclose(locs[0, 1], [-0.5, -0.5])


def test_flip_simcc_mirrors_and_swaps() -> None:
    x = np.zeros((1, 3, 8), np.float32)
    x[0, 1, 2] = 1
    y = np.arange(3, dtype=np.float32).reshape(1, 3, 1)
    fx, fy = flip_simcc(x, y, [0, 2, 1])
    assert fx[0, 2, 5] == 1 and fx.sum() == 1
    np.testing.assert_array_equal(fy[0, :, 0], [0, 2, 1])


# --- agreement with mmpose on real images and boxes ---------------------------------------------


@pytest.fixture(scope="module")
def pose_models(tmp_path_factory: pytest.TempPathFactory):
    from analysis.models.loading import load_pose

    empty = tmp_path_factory.mktemp("no-models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(empty))
        kwargs = dict(
            backend="pytorch",
            models_dir=empty,
            allow_download=False,
            allow_random_weights=True,
            seed=0,
        )
        with pytest.warns(UserWarning, match="RANDOM"):
            plain = load_pose(**kwargs)
            flipped = load_pose(flip_test=True, **kwargs)
    return plain, flipped


def _reference(model, frame: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from mmpose.apis import inference_topdown

    if len(boxes) == 0:
        return np.zeros((0, 17, 2)), np.zeros((0, 17))
    samples = inference_topdown(model, frame, boxes[:, :4], bbox_format="xyxy")
    kpts = np.stack([s.pred_instances.keypoints[0] for s in samples])
    scores = np.stack([s.pred_instances.keypoint_scores[0] for s in samples])
    return kpts, scores


@pytest.mark.slow
def test_random_weights_are_recorded(pose_models) -> None:
    plain, flipped = pose_models
    assert plain.info["random_weights"] is True and plain.info["checkpoint"] is None
    assert plain.info["name"] == "rtmpose-t-256x192" and plain.info["backend"] == "pytorch"
    assert plain.info["flip_test"] is False and flipped.info["flip_test"] is True
    # Same seed, same weights.
    assert plain.info["sha256"] == flipped.info["sha256"]


@pytest.mark.slow
@pytest.mark.parametrize("which", ["plain", "flip_test"])
def test_keypoints_agree_with_inference_topdown(pose_models, which: str) -> None:
    est = pose_models[0] if which == "plain" else pose_models[1]
    frames, boxes = coco_images_and_boxes()
    ours = est(frames, boxes)  # every crop of every image in one forward pass
    n_points = 0
    for frame, b, (kpts, scores) in zip(frames, boxes, ours, strict=True):
        ref_k, ref_s = _reference(est.model, frame, b)
        assert kpts.shape == (len(b), 17, 2) and kpts.dtype == np.float32
        assert scores.shape == (len(b), 17) and scores.dtype == np.float32
        np.testing.assert_allclose(kpts, ref_k, atol=0.5)
        np.testing.assert_allclose(scores, ref_s, atol=1e-3)
        n_points += kpts.shape[0] * 17
    assert n_points >= 14 * 17
    # Not a degenerate agreement: the predictions spread over the crops.
    all_k = np.concatenate([k for k, _ in ours])
    assert np.ptp(all_k[..., 0]) > 50


@pytest.mark.slow
def test_video_frames_in_one_batch(pose_models) -> None:
    est = pose_models[0]
    cap = cv2.VideoCapture(str(shared_path("data", "videos", "two_people_1080p.mp4")))
    frames = [cap.read()[1] for _ in range(3)]
    cap.release()
    boxes = [
        np.array([[700, 150, 1000, 1000, 0.9], [1100, 200, 1400, 1050, 0.8]], np.float32)
        + np.float32([5 * i, 0, 5 * i, 0, 0])
        for i in range(3)
    ]
    ours = est(frames, boxes)
    for frame, b, (kpts, scores) in zip(frames, boxes, ours, strict=True):
        ref_k, ref_s = _reference(est.model, frame, b)
        np.testing.assert_allclose(kpts, ref_k, atol=0.5)
        np.testing.assert_allclose(scores, ref_s, atol=1e-3)
    crops = est.crop(frames, boxes)
    sx, sy = est.forward_batch(crops.images)
    assert sx.shape == (6, 17, 384) and sy.shape == (6, 17, 512)


@pytest.mark.slow
def test_no_boxes_gives_empty_arrays(pose_models) -> None:
    est = pose_models[0]
    out = est([np.zeros((40, 40, 3), np.uint8)] * 2, [np.zeros((0, 5), np.float32)] * 2)
    assert [k.shape for k, _ in out] == [(0, 17, 2), (0, 17, 2)]
    assert [s.shape for _, s in out] == [(0, 17), (0, 17)]


def test_missing_pose_checkpoint_without_opt_in(tmp_path: Path, monkeypatch) -> None:
    from analysis.models.errors import MissingCheckpointError
    from analysis.models.loading import load_pose

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(MissingCheckpointError, match="rtmpose-t_simcc-body7"):
        load_pose(models_dir=tmp_path, allow_download=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rtmpose-m-256x192", "rtmpose-l-384x288"])
def test_larger_presets_agree_with_inference_topdown(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The balanced and accurate pose models (random weights: no checkpoint here).
    from analysis.models.loading import load_pose

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.warns(UserWarning, match="RANDOM"):
        est = load_pose(
            name,
            backend="pytorch",
            models_dir=tmp_path,
            allow_download=False,
            allow_random_weights=True,
        )
    assert est.info["name"] == name
    frames, boxes = coco_images_and_boxes()
    (kpts, scores), *_ = est(frames[1:2], boxes[1:2])
    ref_k, ref_s = _reference(est.model, frames[1], boxes[1])
    np.testing.assert_allclose(kpts, ref_k, atol=0.5)
    np.testing.assert_allclose(scores, ref_s, atol=1e-3)
