"""ONNX export of our torch networks (cached by checkpoint hash) and ONNX Runtime sessions.

Exports are written under ``<cache>/onnx`` (see :func:`analysis.models.checkpoints.cache_dir`),
named after the model, the checkpoint's sha256 and a digest of the export settings, so a changed
checkpoint, input size, opset or torch version gives a new file and an unchanged one is reused.

Sessions: a requested execution provider that onnxruntime lacks is an error
(:class:`ProviderUnavailableError`), never a silent fall back to CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from analysis.models.catalog import check_precision
from analysis.models.checkpoints import cache_dir
from analysis.models.errors import ModelError, ProviderUnavailableError

# Bump when the exported graph changes for the same checkpoint and settings.
EXPORT_VERSION = 1
OPSET = 17
DEFAULT_ORT_THREADS = 2


def onnx_cache_dir() -> Path:
    return cache_dir() / "onnx"


def export_path(model_name: str, weights_sha256: str, settings: dict[str, Any]) -> Path:
    """Where the export of ``model_name`` with these weights and settings is cached."""
    import torch

    key = dict(settings, torch=torch.__version__, opset=OPSET, export_version=EXPORT_VERSION)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return onnx_cache_dir() / f"{model_name}-{weights_sha256[:16]}-{digest}.onnx"


def export_onnx(
    module: Any,
    sample: Any,
    path: Path,
    *,
    input_name: str,
    output_names: list[str],
) -> Path:
    """Export ``module`` (eval mode, CPU) with a dynamic batch axis; temp file, then rename."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    dynamic = {input_name: {0: "batch"}, **{name: {0: "batch"} for name in output_names}}
    try:
        with torch.no_grad():
            torch.onnx.export(
                module,
                (sample,),
                str(tmp),
                input_names=[input_name],
                output_names=output_names,
                dynamic_axes=dynamic,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def state_dict_sha256(module: Any) -> str:
    """A digest of a module's weights (for exports of randomly initialised models)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def providers_for(device: str) -> list[Any]:
    """The onnxruntime providers for ``device``; raises if CUDA is asked for and absent."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" or device.startswith("cuda:"):
        if "CUDAExecutionProvider" not in available:
            raise ProviderUnavailableError(
                f"device {device!r} requested with the onnxruntime backend, but this onnxruntime "
                f"has no CUDAExecutionProvider (available: {', '.join(available)}); install "
                "onnxruntime-gpu, or use --backend pytorch, or --device cpu"
            )
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
    raise ProviderUnavailableError(f"device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def make_session(
    path: Path,
    device: str = "cpu",
    threads: int = DEFAULT_ORT_THREADS,
    allow_spinning: bool = False,
    runtime: str = "onnxruntime",
    precision: str = "fp32",
    max_batch: int = 0,
) -> Any:
    """An onnxruntime InferenceSession on ``device`` with ``threads`` intra-op threads.

    ``allow_spinning``: let idle intra-op threads busy-wait for the next run (off by default:
    several sessions share the cores; see the comment below).
    ``runtime="openvino"``: the same file in OpenVINO behind the same session interface
    (:mod:`analysis.models.openvino_session`), where ``precision`` may be ``"bf16"`` and batch sizes
    up to ``max_batch`` are compiled at once (:meth:`OpenVinoSession.warm_up`).
    """
    if runtime == "openvino":
        from analysis.models.openvino_session import OpenVinoSession

        session = OpenVinoSession(path, device, threads, precision)
        session.warm_up(max_batch)
        return session
    if runtime != "onnxruntime":
        raise ProviderUnavailableError(
            f"{path}: runtime {runtime!r}: expected onnxruntime or openvino"
        )
    check_precision(precision, runtime)
    import onnxruntime as ort

    providers = providers_for(device)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if not allow_spinning:
        # The detector's and the pose model's sessions run in turn, next to the decoder thread
        # and the cropping; an idle pool thread spinning for work would take a core from them.
        # Measured on vtest (2 cores, back-to-back A/B runs): end to end within the machine's
        # noise (about 10%) of spinning, the detector's forward alone about 15% slower; off by
        # default so that an idle session does not burn a core another one needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{path}: onnxruntime cannot load the model: {exc}") from exc
    if device != "cpu" and session.get_providers()[0] != "CUDAExecutionProvider":
        # onnxruntime drops a provider whose libraries fail to load and carries on with CPU.
        raise ProviderUnavailableError(
            f"{path}: onnxruntime could not start the CUDA provider "
            f"(session providers: {session.get_providers()}); not falling back to CPU"
        )
    return session
