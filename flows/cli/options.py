"""The model options, defined once for every command that runs the models.

``posecoach analyze``, ``run`` and ``serve`` (and what comes next: a web app, live coaching) take
the same ``--preset --detector --pose --backend --precision --device --det-interval --det-thr
--max-people --allow-random-weights --models-dir``. An option left unset is absent from
`engine_options`, so `analysis.pipeline.config.EngineConfig`'s default applies: the defaults live
in one place, the engine's config, and the help texts here only name them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# The EngineConfig fields these options set, in the order of the help text.
MODEL_OPTIONS = (
    "preset",
    "detector",
    "pose",
    "backend",
    "precision",
    "device",
    "det_interval",
    "det_score_thr",
    "max_people",
    "allow_random_weights",
    "models_dir",
)

# Kept literal (not imported from analysis.models) so that ``posecoach run --help`` does not pay
# for importing the model code; tests check them against the catalog.
BACKEND_CHOICES = ("auto", "pytorch", "onnxruntime", "openvino")
PRECISION_CHOICES = ("fp32", "bf16")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model options as one argument group; unset ones keep EngineConfig's defaults."""
    group = parser.add_argument_group("models")
    group.add_argument("--preset", help="model preset: fast | balanced | accurate (default fast)")
    group.add_argument("--detector", help="detector checkpoint file or MMDeploy ONNX folder")
    group.add_argument("--pose", help="pose checkpoint file or MMDeploy ONNX folder")
    group.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        help="inference backend (default auto: openvino on x86-64 CPUs, onnxruntime on other "
        "CPUs, pytorch on CUDA)",
    )
    group.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        help="bf16: bfloat16 networks with --backend openvino on CPUs with AMX or AVX512-BF16 "
        "(faster; keypoints move slightly, see the README). Default fp32",
    )
    group.add_argument("--device", help="cpu | cuda (default cpu; with cuda, one worker per GPU)")
    group.add_argument(
        "--det-interval",
        type=int,
        metavar="K",
        help="detect people every K-th frame (default: about 6 times a second, K=5 at 30 fps)",
    )
    group.add_argument(
        "--det-thr", dest="det_score_thr", type=float, help="detection score threshold (0.5)"
    )
    group.add_argument("--max-people", type=int, help="cap on people per frame (default 10)")
    group.add_argument(
        "--allow-random-weights",
        action="store_true",
        default=None,
        help="run without trained pose weights when none are found (output is meaningless; "
        "recorded as random_weights=true; for testing only)",
    )
    group.add_argument("--models-dir", help="folder of checkpoints searched before the cache")


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The set model options as a plain dict (JSON-friendly: it becomes a flow parameter)."""
    out: dict[str, Any] = {k: getattr(args, k, None) for k in MODEL_OPTIONS}
    for key in ("detector", "pose", "models_dir"):
        if out[key] and Path(out[key]).exists():
            out[key] = str(Path(out[key]).resolve())  # workers may run in another directory
    return {k: v for k, v in out.items() if v is not None}


def positive_float(text: str) -> float:
    """An argparse ``type`` for seconds and the like: a number above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be more than 0")
    return value
