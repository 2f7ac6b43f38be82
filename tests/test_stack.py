"""The pinned OpenMMLab stack is installed the way scripts/setup.sh promises."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import subprocess
import sys

import pytest


def _installed(dist: str) -> bool:
    try:
        md.distribution(dist)
    except md.PackageNotFoundError:
        return False
    return True


@pytest.mark.parametrize(
    ("dist", "version"),
    [
        ("torch", "2.13.0"),
        ("mmcv", "2.1.0"),
        ("mmdet", "3.3.0"),
        ("mmpose", "1.3.2"),
        ("mmengine", "0.10.7"),
    ],
)
def test_pinned_versions(dist: str, version: str) -> None:
    assert md.version(dist).split("+")[0] == version


@pytest.mark.parametrize("dist", ["torchvision", "chumpy", "opencv-python"])
def test_unwanted_distributions_absent(dist: str) -> None:
    assert not _installed(dist), f"{dist} must not be installed (see README, 'Why these pins')"


def test_headless_opencv_owns_cv2() -> None:
    import cv2

    assert _installed("opencv-python-headless")
    # The GUI build links Qt; the headless one has no highgui window backend.
    assert "QT" not in cv2.getBuildInformation().split("GUI:")[1].split("\n")[1].upper()


def test_setuptools_keeps_pkg_resources() -> None:
    # mmengine resolves `mmdet::`/`mmpose::` config bases through pkg_resources (gone in 81).
    major = int(md.version("setuptools").split(".")[0])
    assert 77 <= major < 81
    assert importlib.util.find_spec("pkg_resources") is not None


def test_mmcv_compiled_ops_run() -> None:
    import torch
    from mmcv.ops import nms

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert dets.shape == (2, 5)


def test_mmdet_and_mmpose_apis_import() -> None:
    from analysis.models.compat import ensure_openmmlab_compat

    ensure_openmmlab_compat()
    import mmdet.apis
    import mmpose.apis

    assert callable(mmdet.apis.inference_detector)
    assert callable(mmpose.apis.inference_topdown)
    assert "torchvision" not in sys.modules


def test_numpy2_xtcocotools() -> None:
    import numpy as np
    from xtcocotools import mask

    rle = mask.encode(np.asfortranarray(np.ones((4, 4), dtype=np.uint8)))
    assert int(mask.area(rle)) == 16


def test_plain_import_fails_without_the_compat_fix() -> None:
    # Guards the reason analysis.models.compat exists: if this starts passing, the fix can go.
    proc = subprocess.run(
        [sys.executable, "-c", "import mmpose.apis"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode != 0
    assert "torchvision" in proc.stderr
