"""Helpers of the flow tests: building inboxes, the real models' options, reading a store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[2]


def copy_into(inbox: Path, rel: str, source: Path) -> Path:
    """Copy a file into an inbox (a copy, not a link: links out of the inbox are refused)."""
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    return dest


def corrupt_copy(inbox: Path, rel: str, source: Path, keep_bytes: int = 3000) -> Path:
    """A truncated copy: a valid MP4 header (so it is sniffed as a video) and no usable frames."""
    dest = inbox / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(source.read_bytes()[:keep_bytes])
    return dest


def real_engine_options(models_dir: Path) -> dict[str, Any]:
    """The trained RTMDet-nano person detector from ../shared and RTMPose-t on random weights."""
    detector = shared_path("models", "rtmdet-nano-person-mmdet", "rtmdet_nano_320_person.pth")
    return {
        "preset": "fast",
        "detector": str(detector),
        "allow_random_weights": True,  # no pose checkpoint on these machines: plumbing only
        "models_dir": str(models_dir),
        "device": "cpu",
    }


def store_files(store: Path) -> dict[str, int]:
    """Every file under a store (hidden temporaries included) -> its modification time (ns)."""
    return {
        p.relative_to(store).as_posix(): p.stat().st_mtime_ns
        for p in store.rglob("*")
        if p.is_file()
    }


def run_cli(args: list[str], env: dict[str, str], timeout: float = 600):
    """``posecoach <args>`` in a fresh interpreter; returns the CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "flows.cli.main", *args],
        cwd=REPO,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def model_args(options: dict[str, Any]) -> list[str]:
    """``posecoach run`` arguments for engine options."""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value not in (None, False):
            out += [flag, str(value)]
    return out
