"""MMDeploy ONNX model directories (``deploy.json``, ``pipeline.json``, the ``.onnx`` it names).

What the detector and pose loaders both need from such a directory: the files checked and
named in every error, the pre-processing transforms, the normalisation, and the ``.info`` a
loaded model carries. What each task reads beyond that (resize, crop, decoder) stays with
its loader. (Telling such a directory from a checkpoint is ``analysis.models.checkpoints.is_mmdeploy_dir``.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.models.errors import ModelError

#: (mean, std, to_rgb) of the network's input, as MMDeploy's Normalize transform gives them.
Normalisation = tuple[np.ndarray, np.ndarray, bool]


@dataclass(frozen=True)
class MMDeployModel:
    """One MMDeploy directory, read and checked for its task."""

    directory: Path
    deploy: dict[str, Any]
    pipeline: dict[str, Any]
    onnx_path: Path

    @property
    def pipeline_file(self) -> Path:
        return self.directory / "pipeline.json"

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return list(self.pipeline.get("pipeline", {}).get("tasks", []))

    @property
    def transforms(self) -> list[dict[str, Any]]:
        """The pre-processing transforms, in order ([] when the pipeline has none)."""
        for task in self.tasks:
            if task.get("name") == "Preprocess" or task.get("module") == "Transform":
                return list(task.get("transforms", []))
        return []

    @property
    def max_batch(self) -> int:
        # Exports are often traced at batch 1 and fail on larger batches; deploy.json says.
        return max(1, int(self.deploy["models"][0].get("batch_size", 1)))

    def normalisation(self) -> Normalisation:
        """The Normalize transform's (mean, std, to_rgb); identity when there is none."""
        mean, std, to_rgb = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], False
        for t in self.transforms:
            if t["type"].lower() == "normalize":
                mean, std, to_rgb = t["mean"], t["std"], bool(t.get("to_rgb", False))
        return np.asarray(mean, np.float32), np.asarray(std, np.float32), to_rgb

    def error(self, problem: str) -> ModelError:
        """A :class:`ModelError` naming this directory's pipeline.json."""
        return ModelError(f"{self.pipeline_file}: {problem}")

    def info(
        self,
        task: str,
        device: str,
        ort_threads: int,
        runtime: str = "onnxruntime",
        precision: str = "fp32",
        **extra: Any,
    ) -> dict[str, Any]:
        """The ``.info`` of a model loaded from this directory (``extra`` per task)."""
        from posecoach.store import file_sha256

        return {
            "task": task,
            "name": f"mmdeploy:{self.directory.name}",
            "config": str(self.pipeline_file),
            "checkpoint": str(self.onnx_path),
            "checkpoint_source": "explicit",
            "sha256": file_sha256(self.onnx_path),
            "backend": runtime,
            "precision": precision,
            "device": device,
            "random_weights": False,
            **extra,
            "onnx": str(self.onnx_path),
            "ort_threads": ort_threads,
        }


def read_mmdeploy_dir(directory: str | os.PathLike[str], task: str) -> MMDeployModel:
    """Read ``directory`` and check that it holds an MMDeploy model of ``task``.

    Args:
        task: MMDeploy's task name in deploy.json: ``Detector`` or ``PoseDetector``.

    Raises:
        ModelError: naming the file and the problem (another task, a missing ONNX file).
    """
    directory = Path(directory)
    deploy = json.loads((directory / "deploy.json").read_text())
    pipeline = json.loads((directory / "pipeline.json").read_text())
    if deploy.get("task") != task:
        raise ModelError(f"{directory / 'deploy.json'}: task {deploy.get('task')!r}, not {task}")
    onnx_path = directory / deploy["models"][0]["net"]
    if not onnx_path.is_file():
        raise ModelError(f"{onnx_path}: ONNX file named in deploy.json does not exist")
    return MMDeployModel(directory, deploy, pipeline, onnx_path)
