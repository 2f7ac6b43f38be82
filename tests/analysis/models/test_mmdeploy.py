"""MMDeploy directories: read, checked, and refused with the file and the problem named.

Written here as small JSON files (the ONNX file's bytes are never read before the checks), so
these run without ../shared; the shared RTMDet directory is run for real in test_onnx_backend.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.models.checkpoints import is_mmdeploy_dir
from analysis.models.detector import load_mmdeploy_detector
from analysis.models.errors import ModelError
from analysis.models.mmdeploy import read_mmdeploy_dir
from analysis.models.pose import load_mmdeploy_pose

NORMALIZE = {"type": "Normalize", "mean": [1.0, 2.0, 3.0], "std": [4.0, 5.0, 6.0], "to_rgb": True}


def _write(directory: Path, task: str, transforms: list[dict], *, tasks: list[dict] = (),
           net: str = "end2end.onnx", batch_size: int = 1) -> Path:  # fmt: skip
    directory.mkdir(parents=True)
    deploy = {"task": task, "models": [{"net": net, "batch_size": batch_size}]}
    (directory / "deploy.json").write_text(json.dumps(deploy))
    pipeline = {"pipeline": {"tasks": [{"name": "Preprocess", "transforms": transforms}, *tasks]}}
    (directory / "pipeline.json").write_text(json.dumps(pipeline))
    (directory / "end2end.onnx").write_bytes(b"not read before the checks")
    return directory


def _load_detector(directory: Path):
    kw = dict(device="cpu", score_thr=0.3, max_people=None, batch_size=8, ort_threads=1)
    return load_mmdeploy_detector(directory, **kw)


def _load_pose(directory: Path):
    return load_mmdeploy_pose(directory, device="cpu", flip_test=False, batch_size=4, ort_threads=1)


def test_a_directory_is_read_with_its_transforms_normalisation_and_batch(tmp_path: Path) -> None:
    resize = {"type": "Resize", "keep_ratio": True, "size": [640, 640]}
    d = _write(tmp_path / "det", "Detector", [resize, NORMALIZE], batch_size=4)
    assert is_mmdeploy_dir(d) and not is_mmdeploy_dir(d / "deploy.json")
    model = read_mmdeploy_dir(d, "Detector")
    assert model.onnx_path == d / "end2end.onnx"
    assert [t["type"] for t in model.transforms] == ["Resize", "Normalize"]
    mean, std, to_rgb = model.normalisation()
    np.testing.assert_array_equal(mean, [1, 2, 3])
    np.testing.assert_array_equal(std, [4, 5, 6])
    assert to_rgb is True and mean.dtype == np.float32
    assert model.max_batch == 4
    info = model.info("detector", "cpu", 2, input_size=[640, 640])
    assert info["name"] == "mmdeploy:det" and info["config"] == str(d / "pipeline.json")
    assert info["input_size"] == [640, 640] and info["random_weights"] is False


def test_no_normalize_means_identity(tmp_path: Path) -> None:
    model = read_mmdeploy_dir(_write(tmp_path / "d", "Detector", []), "Detector")
    mean, std, to_rgb = model.normalisation()
    assert mean.tolist() == [0, 0, 0] and std.tolist() == [1, 1, 1] and to_rgb is False
    assert model.max_batch == 1


def test_another_task_is_refused_naming_deploy_json(tmp_path: Path) -> None:
    d = _write(tmp_path / "seg", "Segmentation", [])
    with pytest.raises(ModelError, match=r"deploy\.json: task 'Segmentation', not PoseDetector"):
        _load_pose(d)
    with pytest.raises(ModelError, match=r"not Detector"):
        _load_detector(d)


def test_a_missing_onnx_file_is_named(tmp_path: Path) -> None:
    d = _write(tmp_path / "det", "Detector", [], net="model.onnx")
    with pytest.raises(ModelError, match=r"model\.onnx: ONNX file named in deploy\.json"):
        _load_detector(d)


@pytest.mark.parametrize(
    ("transforms", "problem"),
    [
        ([{"type": "Resize", "keep_ratio": False, "size": [640, 640]}], "only keep_ratio Resize"),
        (
            [
                {"type": "Resize", "keep_ratio": True, "size": [640, 640]},
                {"type": "Pad", "size": [320, 320]},
            ],
            r"Pad size \[320, 320\] != Resize \(640, 640\)",
        ),
        ([NORMALIZE], "no Resize transform"),
    ],
)
def test_detector_pipelines_it_cannot_reproduce_are_refused(
    tmp_path: Path, transforms: list[dict], problem: str
) -> None:
    d = _write(tmp_path / "det", "Detector", transforms)
    with pytest.raises(ModelError, match=rf"pipeline\.json: {problem}"):
        _load_detector(d)


AFFINE = {"type": "TopdownAffine", "image_size": [192, 256]}


@pytest.mark.parametrize(
    ("transforms", "tasks", "problem"),
    [
        ([{**AFFINE, "use_udp": True}], [], "UDP crops are not supported"),
        ([NORMALIZE], [], "no TopDownAffine"),
        (
            [AFFINE],
            [{"component": "SimCCLabel", "params": {"use_dark": True}}],
            "SimCC DARK decoding unsupported",
        ),
        (
            [AFFINE],
            [{"module": "mmpose", "component": "TopdownHeatmapSimpleHeadDecode"}],
            "decoder 'TopdownHeatmapSimpleHeadDecode' is not SimCC",
        ),
    ],
)
def test_pose_pipelines_it_cannot_reproduce_are_refused(
    tmp_path: Path, transforms: list[dict], tasks: list[dict], problem: str
) -> None:
    d = _write(tmp_path / "pose", "PoseDetector", transforms, tasks=tasks)
    with pytest.raises(ModelError, match=rf"pipeline\.json: {problem}"):
        _load_pose(d)
