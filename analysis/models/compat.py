"""Make the 2023-era OpenMMLab releases work on current torch and numpy, from code, not by hand.

Two incompatibilities are handled here (see README, "Why these pins"):

1. ``mmpose.apis`` imports torchvision through one module,
   ``mmpose/visualization/simcc_vis.py`` (``from torchvision.transforms import ToPILImage``).
   We never install torchvision (its PyPI wheel is a CUDA build that fails against CPU torch),
   so that module is imported once with a placeholder ``ToPILImage`` that raises a clear error
   if anyone calls it; the placeholder is removed from ``sys.modules`` right after, so other
   libraries still see that torchvision is absent.
2. torch >= 2.6 loads checkpoints with ``weights_only=True`` and mmengine does not say
   otherwise, so checkpoints whose ``meta`` holds numpy arrays or scalars fail with
   ``Unsupported global: numpy._core.multiarray._reconstruct``. The numpy reconstruction
   functions and dtypes are allow-listed with ``torch.serialization.add_safe_globals``:
   ``weights_only`` stays on, only plain numpy data becomes loadable.

Call :func:`ensure_openmmlab_compat` before importing ``mmpose.apis``; it is idempotent.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any

_done = False


def _missing_torchvision(*_args: object, **_kwargs: object) -> None:
    raise ImportError(
        "torchvision is not installed (PoseCoach runs without it); "
        "mmpose's SimCC heatmap visualiser needs it and is unavailable"
    )


def _import_simcc_vis_without_torchvision() -> None:
    if "mmpose.visualization.simcc_vis" in sys.modules:
        return
    if importlib.util.find_spec("torchvision") is not None:
        return
    fake = types.ModuleType("torchvision")
    fake_transforms = types.ModuleType("torchvision.transforms")
    fake_transforms.ToPILImage = _missing_torchvision  # type: ignore[attr-defined]
    fake.transforms = fake_transforms  # type: ignore[attr-defined]
    sys.modules["torchvision"] = fake
    sys.modules["torchvision.transforms"] = fake_transforms
    try:
        importlib.import_module("mmpose.visualization.simcc_vis")
    finally:
        del sys.modules["torchvision"]
        del sys.modules["torchvision.transforms"]


def numpy_safe_globals() -> list[Callable[..., Any]]:
    """The numpy callables and dtypes a checkpoint's plain numpy metadata pickles to."""
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[no-redef]
    dtype_classes = [
        getattr(np.dtypes, name)
        for name in dir(np.dtypes)
        if name.endswith("DType") and isinstance(getattr(np.dtypes, name), type)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


def _allow_numpy_in_checkpoints() -> None:
    import torch.serialization

    # A fresh list takes the item type add_safe_globals declares (a list type is invariant).
    torch.serialization.add_safe_globals(list(numpy_safe_globals()))


def ensure_openmmlab_compat() -> None:
    """Apply both fixes once per process (before ``import mmpose.apis``)."""
    global _done
    if _done:
        return
    _allow_numpy_in_checkpoints()
    _import_simcc_vis_without_torchvision()
    _done = True
