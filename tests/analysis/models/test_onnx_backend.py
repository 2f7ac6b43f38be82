"""ONNX Runtime backend: exports agree with PyTorch, are cached, and never fall back silently."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.helpers import DET_CKPT, coco_images, coco_images_and_boxes, shared_path, video_frames


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root))
        yield root


@pytest.fixture(scope="module")
def detectors(cache):
    from analysis.models.loading import load_detector

    ckpt = shared_path(*DET_CKPT)
    common = dict(score_thr=0.05, allow_download=False)
    return (
        load_detector(ckpt, backend="pytorch", **common),
        load_detector(ckpt, backend="onnxruntime", **common),
    )


def random_pose(cache: Path, **kwargs):
    """RTMPose-t with seed-0 random weights (no trained checkpoint is reachable), offline."""
    from analysis.models.loading import load_pose

    with pytest.warns(UserWarning, match="RANDOM"):
        return load_pose(
            models_dir=cache, allow_download=False, allow_random_weights=True, seed=0, **kwargs
        )


@pytest.fixture(scope="module")
def poses(cache):
    return (
        random_pose(cache, backend="pytorch", flip_test=False),
        random_pose(cache, backend="onnxruntime", flip_test=False),
    )


def _match(a: np.ndarray, b: np.ndarray, atol_px: float, atol_score: float) -> None:
    assert len(a) == len(b), f"{len(a)} vs {len(b)} boxes"
    np.testing.assert_allclose(a[:, :4], b[:, :4], atol=atol_px)
    np.testing.assert_allclose(a[:, 4], b[:, 4], atol=atol_score)


@pytest.mark.slow
def test_detector_onnx_agrees_with_pytorch(detectors) -> None:
    torch_det, ort_det = detectors
    assert ort_det.info["backend"] == "onnxruntime" and ort_det.info["ort_threads"] == 2
    assert ort_det.info["sha256"] == torch_det.info["sha256"]
    frames = [img for _, img in coco_images()] + video_frames() + video_frames("vtest.avi", (5,))
    a, b = torch_det(frames), ort_det(frames)
    assert sum(len(x) for x in a) > 10
    for x, y in zip(a, b, strict=True):
        x, y = x.as_array(), y.as_array()
        # Boxes near the 0.05 cut could flip sides on float noise; compare the confident ones.
        _match(x[x[:, 4] > 0.06], y[y[:, 4] > 0.06], 1.0, 1e-3)


@pytest.mark.slow
def test_export_is_cached_by_checkpoint_hash(detectors, cache) -> None:
    from analysis.models.loading import load_detector

    _, ort_det = detectors
    onnx = Path(ort_det.info["onnx"])
    assert onnx.parent == cache / "posecoach" / "onnx"
    assert ort_det.info["sha256"][:16] in onnx.name
    mtime = os.stat(onnx).st_mtime_ns
    again = load_detector(shared_path(*DET_CKPT), backend="onnxruntime", allow_download=False)
    assert again.info["onnx"] == str(onnx) and os.stat(onnx).st_mtime_ns == mtime
    assert again.model is None  # a cached export needs no torch model


@pytest.mark.slow
def test_sessions_do_not_spin_by_default(detectors) -> None:
    from analysis.models.onnx_export import make_session

    key = "session.intra_op.allow_spinning"
    _, ort_det = detectors
    assert ort_det.backend.session.get_session_options().get_session_config_entry(key) == "0"
    spinning = make_session(Path(ort_det.info["onnx"]), allow_spinning=True)
    with pytest.raises(Exception, match="does not have configuration"):
        spinning.get_session_options().get_session_config_entry(key)  # onnxruntime's default


@pytest.mark.slow
def test_pose_onnx_agrees_with_pytorch(poses) -> None:
    torch_pose, ort_pose = poses
    assert ort_pose.info["backend"] == "onnxruntime"
    assert ort_pose.info["sha256"] == torch_pose.info["sha256"]
    frames, boxes = coco_images_and_boxes()
    for (ka, sa), (kb, sb) in zip(torch_pose(frames, boxes), ort_pose(frames, boxes), strict=True):
        np.testing.assert_allclose(ka, kb, atol=0.5)
        np.testing.assert_allclose(sa, sb, atol=1e-3)
    crops = torch_pose.crop(frames, boxes).images
    xa, ya = torch_pose.forward_batch(crops)
    xb, yb = ort_pose.forward_batch(crops)
    np.testing.assert_allclose(xa, xb, atol=1e-3)
    np.testing.assert_allclose(ya, yb, atol=1e-3)


@pytest.mark.slow
def test_mmdeploy_directory_agrees_with_the_checkpoint(detectors) -> None:
    from analysis.models.catalog import choose_backend
    from analysis.models.loading import load_detector

    torch_det = detectors[0]
    mmdeploy = load_detector(shared_path("models", "rtmdet-nano-person"), score_thr=0.3)
    assert mmdeploy.info["backend"] == choose_backend("auto", "cpu")
    assert mmdeploy.info["name"] == "mmdeploy:rtmdet-nano-person"
    frames = [img for _, img in coco_images()]
    ref = torch_det(frames)
    got = mmdeploy(frames)
    for r, g in zip(ref, got, strict=True):
        r, g = r.as_array(), g.as_array()
        _match(r[r[:, 4] >= 0.3], g, 1.0, 1e-3)
    assert sum(len(g) for g in got) >= 10
    with pytest.raises(Exception, match="only with onnxruntime"):
        load_detector(shared_path("models", "rtmdet-nano-person"), backend="pytorch")


def test_cuda_provider_missing_is_an_error() -> None:
    from analysis.models.errors import ProviderUnavailableError
    from analysis.models.onnx_export import providers_for

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(ProviderUnavailableError, match="no CUDAExecutionProvider"):
        providers_for("cuda")
    with pytest.raises(ProviderUnavailableError, match="no CUDAExecutionProvider"):
        providers_for("cuda:1")
    assert providers_for("cpu") == ["CPUExecutionProvider"]


def test_mmdeploy_detector_refuses_cuda_without_provider() -> None:
    from analysis.models.errors import ProviderUnavailableError
    from analysis.models.loading import load_detector

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with pytest.raises(ProviderUnavailableError):
        load_detector(shared_path("models", "rtmdet-nano-person"), device="cuda")


@pytest.mark.gpu
def test_cuda_pose_matches_cpu(poses, cache) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from analysis.models.loading import load_pose

    gpu = load_pose(
        backend="pytorch",
        device="cuda",
        models_dir=cache,
        allow_download=False,
        allow_random_weights=True,
        seed=0,
    )
    frames, boxes = coco_images_and_boxes()
    for (ka, sa), (kb, sb) in zip(poses[0](frames, boxes), gpu(frames, boxes), strict=True):
        np.testing.assert_allclose(ka, kb, atol=0.5)
        np.testing.assert_allclose(sa, sb, atol=1e-3)


def _write_mmdeploy_pose_dir(model, directory: Path) -> None:
    """An MMDeploy-style RTMPose directory (float NCHW input, SDK pipeline.json) for ``model``."""
    import json

    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model.head.forward(self.model.extract_feat(x))

    directory.mkdir()
    with torch.no_grad():
        torch.onnx.export(
            Net().eval(),
            (torch.zeros(1, 3, 256, 192),),
            str(directory / "end2end.onnx"),
            input_names=["input"],
            output_names=["simcc_x", "simcc_y"],
            opset_version=17,
            dynamo=False,
        )  # a fixed batch of 1, as some SDK exports have
    deploy = {"task": "PoseDetector", "models": [{"name": "topdown", "net": "end2end.onnx"}]}
    transforms = [
        {"type": "LoadImageFromFile"},
        {"type": "TopDownGetBboxCenterScale", "padding": 1.25, "image_size": [192, 256]},
        {"type": "TopDownAffine", "image_size": [192, 256]},
        {
            "type": "Normalize",
            "mean": [123.675, 116.28, 103.53],
            "std": [58.395, 57.12, 57.375],
            "to_rgb": True,
        },
        {"type": "ImageToTensor", "keys": ["img"]},
    ]
    pipeline = {
        "pipeline": {
            "tasks": [
                {
                    "type": "Task",
                    "module": "Transform",
                    "name": "Preprocess",
                    "transforms": transforms,
                },
                {"type": "Task", "module": "Net", "name": "topdown"},
                {
                    "type": "Task",
                    "module": "mmpose",
                    "name": "postprocess",
                    "component": "SimCCLabelDecode",
                    "params": {"simcc_split_ratio": 2.0, "use_dark": False},
                },
            ]
        }
    }
    (directory / "deploy.json").write_text(json.dumps(deploy))
    (directory / "pipeline.json").write_text(json.dumps(pipeline))


@pytest.mark.slow
def test_mmdeploy_pose_directory_agrees_with_pytorch(poses, tmp_path: Path) -> None:
    from analysis.models.loading import load_pose

    torch_pose = poses[0]
    directory = tmp_path / "rtmpose-t-mmdeploy"
    _write_mmdeploy_pose_dir(torch_pose.model, directory)
    mmdeploy = load_pose(directory, backend="onnxruntime")
    assert mmdeploy.info["backend"] == "onnxruntime"
    assert mmdeploy.info["name"] == "mmdeploy:rtmpose-t-mmdeploy"
    assert mmdeploy.backend.max_batch == 1
    frames, boxes = coco_images_and_boxes()
    for (ka, sa), (kb, sb) in zip(torch_pose(frames, boxes), mmdeploy(frames, boxes), strict=True):
        np.testing.assert_allclose(ka, kb, atol=0.5)
        np.testing.assert_allclose(sa, sb, atol=1e-3)


# -- OpenVINO: the same exports behind the same session interface ------------------------------
@pytest.fixture(scope="module")
def ov_models(cache, detectors, poses):
    """openvino fp32 detector and pose model (after ``detectors``/``poses``: shared exports)."""
    from analysis.models.loading import load_detector

    pose = random_pose(cache, backend="openvino", flip_test=False)
    det = load_detector(
        shared_path(*DET_CKPT), backend="openvino", score_thr=0.05, allow_download=False
    )
    return det, pose


@pytest.mark.slow
def test_openvino_agrees_with_pytorch_on_the_same_export(detectors, poses, ov_models) -> None:
    ov_det, ov_pose = ov_models
    assert (ov_det.info["backend"], ov_det.info["precision"]) == ("openvino", "fp32")
    assert ov_det.info["onnx"] == detectors[1].info["onnx"]  # one export, two runtimes
    assert ov_pose.info["onnx"] == poses[1].info["onnx"]
    frames = [img for _, img in coco_images()] + video_frames("vtest.avi", (5,))
    a, b = detectors[0](frames), ov_det(frames)
    assert sum(len(x) for x in a) > 10
    for x, y in zip(a, b, strict=True):
        x, y = x.as_array(), y.as_array()
        _match(x[x[:, 4] > 0.06], y[y[:, 4] > 0.06], 1.0, 1e-3)
    frames, boxes = coco_images_and_boxes()
    for (ka, sa), (kb, sb) in zip(poses[0](frames, boxes), ov_pose(frames, boxes), strict=True):
        np.testing.assert_allclose(ka, kb, atol=0.5)
        np.testing.assert_allclose(sa, sb, atol=1e-3)


@pytest.mark.slow
def test_openvino_runs_mmdeploy_directories(detectors) -> None:
    from analysis.models.loading import load_detector

    mmdeploy = load_detector(
        shared_path("models", "rtmdet-nano-person"), backend="openvino", score_thr=0.3
    )
    assert (mmdeploy.info["backend"], mmdeploy.info["precision"]) == ("openvino", "fp32")
    frames = [img for _, img in coco_images()]
    for r, g in zip(detectors[0](frames), mmdeploy(frames), strict=True):
        r, g = r.as_array(), g.as_array()
        _match(r[r[:, 4] >= 0.3], g, 1.0, 1e-3)


@pytest.mark.slow
def test_bf16_moves_keypoints_little_and_is_recorded(cache, poses, ov_models) -> None:
    """bfloat16 is a real change of numbers (the outputs differ) that stays small for nearly
    every keypoint. With random weights SimCC's curves have many near-equal peaks, so a few
    keypoints jump to another peak; trained networks have one sharp peak per keypoint."""
    from analysis.models.openvino_session import cpu_supports_bf16

    if not cpu_supports_bf16():
        pytest.skip("this CPU has no native bfloat16 (AMX or AVX512-BF16)")
    bf16 = random_pose(cache, backend="openvino", precision="bf16")
    assert bf16.info["precision"] == "bf16"
    frames, boxes = coco_images_and_boxes()
    crops = poses[0].crop(frames, boxes).images
    ref, got = ov_models[1].forward_batch(crops), bf16.forward_batch(crops)
    assert not np.array_equal(ref[0], got[0])  # really ran in bfloat16
    dist = [
        np.linalg.norm(ka - kb, axis=-1)
        for (ka, _), (kb, _) in zip(ov_models[1](frames, boxes), bf16(frames, boxes), strict=True)
    ]
    dist = np.concatenate(dist).ravel()
    assert np.median(dist) <= 0.5
    assert np.mean(dist <= 2.0) >= 0.9


def test_bf16_needs_openvino_and_cuda_is_refused(tmp_path: Path) -> None:
    from analysis.models.errors import ModelError, ProviderUnavailableError
    from analysis.models.loading import load_pose
    from analysis.models.onnx_export import make_session

    with pytest.raises(ModelError, match="bf16 needs --backend openvino"):
        load_pose(backend="onnxruntime", precision="bf16", allow_download=False)
    with pytest.raises(ModelError, match="precision 'fp16'"):
        load_pose(backend="openvino", precision="fp16", allow_download=False)
    with pytest.raises(ProviderUnavailableError, match="CPU only"):
        make_session(tmp_path / "none.onnx", "cuda", runtime="openvino")


def test_bf16_on_a_cpu_without_it_is_an_error(monkeypatch, tmp_path: Path) -> None:
    from analysis.models import openvino_session
    from analysis.models.errors import ProviderUnavailableError

    monkeypatch.setattr(openvino_session, "cpu_supports_bf16", lambda: False)
    with pytest.raises(ProviderUnavailableError, match="no native bfloat16"):
        openvino_session.OpenVinoSession(tmp_path / "none.onnx", precision="bf16")
