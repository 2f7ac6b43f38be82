"""analysis.models.compat: numpy metadata in checkpoints loads under weights_only, nothing else does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis.models.compat import ensure_openmmlab_compat


class _Arbitrary:
    """A class that weights_only loading must keep refusing."""


def _write_checkpoint(path: Path, meta: dict) -> None:
    state = {"layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    torch.save({"state_dict": state, "meta": meta}, path)


def _numpy_meta() -> dict:
    return {
        "dataset_meta": {"sigmas": np.array([0.026, 0.025], dtype=np.float32)},
        "epoch": np.int64(420),
        "lr": np.float64(4e-3),
        "flags": np.array([True, False]),
    }


def test_numpy_checkpoint_fails_without_fix(tmp_path: Path) -> None:
    # In a fresh interpreter without the fix: the torch >= 2.6 failure this module exists for.
    ckpt = tmp_path / "numpy_meta.pth"
    _write_checkpoint(ckpt, _numpy_meta())
    code = textwrap.dedent(
        f"""
        from mmengine.runner import CheckpointLoader
        CheckpointLoader.load_checkpoint({str(ckpt)!r}, map_location="cpu")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "weights_only" in proc.stderr or "Unsupported global" in proc.stderr


def test_numpy_checkpoint_loads_with_fix(tmp_path: Path) -> None:
    ensure_openmmlab_compat()
    from mmengine.runner import CheckpointLoader, load_checkpoint

    ckpt = tmp_path / "numpy_meta.pth"
    _write_checkpoint(ckpt, _numpy_meta())
    loaded = CheckpointLoader.load_checkpoint(str(ckpt), map_location="cpu")
    np.testing.assert_array_equal(
        loaded["meta"]["dataset_meta"]["sigmas"], np.array([0.026, 0.025], dtype=np.float32)
    )
    assert loaded["meta"]["epoch"] == 420
    assert loaded["meta"]["flags"].tolist() == [True, False]

    model = torch.nn.Module()
    model.layer = torch.nn.Linear(3, 2, bias=False)
    load_checkpoint(model, str(ckpt), map_location="cpu")
    assert torch.equal(model.layer.weight, torch.arange(6, dtype=torch.float32).reshape(2, 3))


def test_weights_only_still_refuses_arbitrary_objects(tmp_path: Path) -> None:
    ensure_openmmlab_compat()
    from mmengine.runner import CheckpointLoader

    ckpt = tmp_path / "hostile.pth"
    _write_checkpoint(ckpt, {"payload": _Arbitrary()})
    with pytest.raises(Exception, match="weights_only|Unsupported global"):
        CheckpointLoader.load_checkpoint(str(ckpt), map_location="cpu")


def test_compat_does_not_fake_torchvision() -> None:
    ensure_openmmlab_compat()
    import importlib.util

    import mmpose.apis  # noqa: F401

    assert importlib.util.find_spec("torchvision") is None
    assert "torchvision" not in sys.modules
    from mmpose.visualization import simcc_vis

    with pytest.raises(ImportError, match="torchvision is not installed"):
        simcc_vis.ToPILImage()
