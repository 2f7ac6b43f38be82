"""OpenVINO behind the small part of ``onnxruntime.InferenceSession`` the backends use.

The detector and pose backends talk to a session through ``get_inputs()`` and
``run(None, feed)``; this adapter gives them OpenVINO's CPU runtime over the same exported ONNX
files (and MMDeploy ONNX files), so the pre- and post-processing stay the very same code.

Why OpenVINO beside onnxruntime: on Intel CPUs with AMX (Sapphire Rapids and later) it runs the
networks in bfloat16, about twice as fast as float32 for RTMPose-t. OpenVINO picks bfloat16 by
itself on such CPUs; here float32 is pinned unless ``precision="bf16"`` is asked for, because
bfloat16 moves keypoints (see the README's figures) and that must be a user's choice.
Imported lazily: the package is needed only with ``--backend openvino``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.models.catalog import PRECISIONS, check_precision
from analysis.models.errors import ModelError, ProviderUnavailableError

_OV_PRECISION = {"fp32": "f32", "bf16": "bf16"}
assert set(_OV_PRECISION) == set(PRECISIONS)


@dataclass(frozen=True)
class InputInfo:
    name: str
    shape: list[int | str]


def cpu_supports_bf16() -> bool:
    """Whether OpenVINO's CPU plugin runs bfloat16 natively here (AVX512-BF16 or AMX)."""
    import openvino as ov

    caps = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in caps


class OpenVinoSession:
    """An OpenVINO compiled model with ``get_inputs()`` and ``run()`` like onnxruntime's."""

    def __init__(
        self, path: Path, device: str = "cpu", threads: int = 2, precision: str = "fp32"
    ) -> None:
        if device != "cpu":
            raise ProviderUnavailableError(
                f"device {device!r} requested with the openvino backend, which runs on the CPU "
                "only here; use --backend pytorch or onnxruntime for CUDA"
            )
        check_precision(precision, "openvino")
        try:
            import openvino as ov
        except ImportError as exc:
            raise ProviderUnavailableError(
                "the openvino backend needs the openvino package (pip install openvino)"
            ) from exc
        if precision == "bf16" and not cpu_supports_bf16():
            # OpenVINO would emulate it slowly; asking for speed and getting a slowdown is an
            # error, not a fallback.
            raise ProviderUnavailableError(
                "precision bf16 requested, but this CPU has no native bfloat16 (AVX512-BF16 or "
                "AMX); use --precision fp32"
            )
        core = ov.Core()
        try:
            model = core.read_model(str(path))
            self._compiled = core.compile_model(
                model,
                "CPU",
                {
                    "INFERENCE_PRECISION_HINT": _OV_PRECISION[precision],
                    "INFERENCE_NUM_THREADS": int(threads),
                    "PERFORMANCE_HINT": "LATENCY",
                },
            )
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own
            raise ModelError(f"{path}: openvino cannot load the model: {exc}") from exc
        self._request = self._compiled.create_infer_request()
        self.precision = precision
        self._inputs = [
            InputInfo(
                port.get_any_name(),
                [d.get_length() if d.is_static else "dynamic" for d in port.get_partial_shape()],
            )
            for port in self._compiled.inputs
        ]
        self._outputs = list(self._compiled.outputs)

    def warm_up(self, max_batch: int) -> None:
        """Run every batch size up to ``max_batch`` once on zeros.

        OpenVINO compiles kernels for each new input shape on first sight (measured on
        RTMPose-t, 2 cores: sizes 1-16 take 2.0 s the first time in bfloat16 and 0.5 s after,
        1.2 s and 0.75 s in float32); the engine's batches take every size up to its batch size,
        so this is paid once at load rather than inside the first video.
        """
        first = self._inputs[0]
        dims = first.shape[1:]
        if not all(isinstance(d, int) for d in dims) or not isinstance(first.shape[0], str):
            return  # a static batch (nothing to compile later) or unknown image dims
        dtype = self._compiled.inputs[0].get_element_type().to_dtype()
        for n in range(1, max_batch + 1):
            # int(): the dims are ints (checked above); the shape's type also allows names
            self._request.infer({first.name: np.zeros((n, *map(int, dims)), dtype)})

    def get_inputs(self) -> list[InputInfo]:
        return list(self._inputs)

    def run(self, output_names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        # share_outputs=False (the default) copies: the request's buffers are reused next run.
        result = self._request.infer(feed)
        return [np.asarray(result[port]) for port in self._outputs]
