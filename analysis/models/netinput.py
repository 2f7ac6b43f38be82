"""The input stage shared by the exported networks: uint8 NHWC BGR in, normalised NCHW out.

Putting the model's own ``data_preprocessor`` normalisation inside the graph lets the detector
and the pose model take uint8 images straight from OpenCV, on either backend. Imported lazily
(it needs torch), by `analysis.models.detector` and `analysis.models.pose`.
"""

from __future__ import annotations

from typing import Any

import torch


class Uint8Input(torch.nn.Module):
    """Base of the network wrappers: mean, std and channel order of ``data_preprocessor``."""

    # Buffers (register_buffer below), declared so they type as tensors, not as any attribute.
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, data_preprocessor: Any) -> None:
        super().__init__()
        self.register_buffer("mean", data_preprocessor.mean.detach().clone().view(1, 3, 1, 1))
        self.register_buffer("std", data_preprocessor.std.detach().clone().view(1, 3, 1, 1))
        self.bgr_to_rgb = bool(getattr(data_preprocessor, "_channel_conversion", False))

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> (N, 3, H, W) in the buffers' dtype.

        In float16 mode the buffers are float16: normalise in float32, then cast.
        """
        x = images.permute(0, 3, 1, 2).float()
        if self.bgr_to_rgb:
            x = x[:, [2, 1, 0]]
        return ((x - self.mean.float()) / self.std.float()).to(self.mean.dtype)
