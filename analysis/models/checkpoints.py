"""Finding a model's checkpoint on disk, or downloading it, and loading it into a module.

Checkpoint resolution (:func:`resolve_checkpoint`), first hit wins:

1. an explicit path given by the caller (``--detector`` / ``--pose``);
2. a models directory: the ``models_dir`` argument, else ``$POSECOACH_MODELS``;
3. the cache ``<cache>/models`` (:func:`cache_dir`: ``$XDG_CACHE_HOME/posecoach`` or the
   system's user cache, ``~/.cache/posecoach`` on Linux);
4. a download into the cache with a progress bar (``torch.hub.download_url_to_file``: to a
   temporary name, hash checked, renamed);
5. otherwise :class:`MissingCheckpointError`, naming every missing file, its URL and the
   directories where it may be put.

Random weights are used only with ``allow_random_weights=True`` and are recorded in
``.info['random_weights']``; without a checkpoint and without that opt-in, loading fails.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from analysis.models.catalog import CheckpointSpec, ModelSpec
from analysis.models.errors import ChecksumError, MissingCheckpointError, ModelError
from posecoach.store import file_sha256

#: Seconds a download may wait for the server before it counts as failed.
DOWNLOAD_TIMEOUT_S = 30.0


def cache_dir() -> Path:
    """posecoach's cache folder; not created here.

    ``$XDG_CACHE_HOME/posecoach`` when that is set (on every system, as before), else the
    system's user cache folder from platformdirs: ``~/.cache/posecoach`` on Linux,
    ``~/Library/Caches/posecoach`` on macOS, ``%LOCALAPPDATA%\\posecoach\\Cache`` on Windows.
    """
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "posecoach"
    return Path(user_cache_dir("posecoach", appauthor=False))


def models_cache_dir() -> Path:
    return cache_dir() / "models"


def _check_hash(path: Path, ckpt: CheckpointSpec) -> str:
    digest = file_sha256(path)
    if not digest.startswith(ckpt.sha256_prefix):
        raise ChecksumError(
            f"{path}: sha256 {digest[:16]}... does not start with {ckpt.sha256_prefix}, "
            f"the hash in the official name {ckpt.filename}; the file is corrupt or another "
            f"model (delete it, or pass it explicitly with --detector / --pose)"
        )
    return digest


def search_dirs(models_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where checkpoints are looked for, in order: models dir (argument or env), then cache."""
    dirs: list[Path] = []
    if models_dir is not None:
        dirs.append(Path(models_dir))
    elif os.environ.get("POSECOACH_MODELS"):
        dirs.append(Path(os.environ["POSECOACH_MODELS"]))
    dirs.append(models_cache_dir())
    return dirs


def download(ckpt: CheckpointSpec, dest_dir: Path, *, progress: bool = True) -> Path:
    """Download ``ckpt`` into ``dest_dir`` (torch.hub: a temporary name, hash checked, renamed).

    Raises ``urllib.error.URLError`` / ``OSError`` when the network fails and
    :class:`ChecksumError` on a hash mismatch; nothing is left behind in either case.
    """
    from torch.hub import download_url_to_file

    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / ckpt.filename
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            download_url_to_file(
                ckpt.url, str(final), hash_prefix=ckpt.sha256_prefix, progress=progress
            )
    except RuntimeError as exc:  # download_url_to_file's only RuntimeError: a wrong hash
        raise ChecksumError(
            f"{ckpt.url}: download refused, its sha256 does not start with "
            f"{ckpt.sha256_prefix} (the hash in the official name {ckpt.filename}); "
            f"not kept ({exc})"
        ) from exc
    return final


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Give new sockets a timeout while a download runs.

    torch.hub opens the URL without one, and a stalled connection would then hang the nightly
    run for good rather than fail and name the file to fetch by hand. Downloads happen while
    models load, before the decoding and analysis threads start.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """A checkpoint file on disk, its sha256 and where it came from."""

    path: Path
    sha256: str
    source: str  # "explicit", "models_dir", "cache", "download"


def resolve_checkpoint(
    ckpt: CheckpointSpec,
    *,
    explicit: str | os.PathLike[str] | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
    progress: bool = True,
) -> ResolvedCheckpoint:
    """Find ``ckpt`` on disk or download it (see the module docstring for the order).

    An explicit path is used as given (its hash is recorded, not checked: it may be a
    fine-tuned model); files found by name in a directory must match the official hash.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ModelError(f"{path}: checkpoint file does not exist")
        return ResolvedCheckpoint(path, file_sha256(path), "explicit")
    dirs = search_dirs(models_dir)
    for i, d in enumerate(dirs):
        candidate = d / ckpt.filename
        if candidate.is_file():
            source = "cache" if i == len(dirs) - 1 else "models_dir"
            return ResolvedCheckpoint(candidate, _check_hash(candidate, ckpt), source)
    if not allow_download:
        raise MissingCheckpointError([(ckpt.filename, ckpt.url)], dirs, ["downloads disabled"])
    try:
        path = download(ckpt, models_cache_dir(), progress=progress)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise MissingCheckpointError(
            [(ckpt.filename, ckpt.url)], dirs, [f"download failed: {exc}"]
        ) from exc
    return ResolvedCheckpoint(path, file_sha256(path), "download")


def resolve_checkpoints(
    ckpts: list[CheckpointSpec],
    *,
    models_dir: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
    progress: bool = True,
) -> list[ResolvedCheckpoint]:
    """Resolve several checkpoints; one :class:`MissingCheckpointError` names all missing."""
    found: list[ResolvedCheckpoint] = []
    missing: list[tuple[str, str]] = []
    reasons: list[str] = []
    for ckpt in ckpts:
        try:
            found.append(
                resolve_checkpoint(
                    ckpt, models_dir=models_dir, allow_download=allow_download, progress=progress
                )
            )
        except MissingCheckpointError as exc:
            missing.extend(exc.missing)
            reasons.extend(exc.reasons)
    if missing:
        raise MissingCheckpointError(missing, search_dirs(models_dir), reasons)
    return found


def is_mmdeploy_dir(path: str | os.PathLike[str]) -> bool:
    """An MMDeploy ONNX model directory: deploy.json + pipeline.json + an .onnx file."""
    p = Path(path)
    return p.is_dir() and (p / "deploy.json").is_file() and (p / "pipeline.json").is_file()


def resolve_model_checkpoint(
    model: ModelSpec,
    explicit: Path | None,
    *,
    models_dir: str | os.PathLike[str] | None,
    allow_download: bool,
    allow_random_weights: bool,
    progress: bool = True,
) -> ResolvedCheckpoint | None:
    """The checkpoint of ``model``, or None for random weights (only when opted in)."""
    try:
        return resolve_checkpoint(
            model.checkpoint,
            explicit=explicit,
            models_dir=models_dir,
            allow_download=allow_download,
            progress=progress,
        )
    except MissingCheckpointError:
        if not allow_random_weights:
            raise
        warnings.warn(
            f"{model.name}: no checkpoint ({model.checkpoint.filename}); using RANDOM weights "
            "as requested (allow_random_weights=True): the output is meaningless",
            stacklevel=3,
        )
        return None


def load_state_dict_checked(module: Any, path: Path, model_name: str) -> int:
    """Load an mmengine checkpoint into ``module``; every model weight must be in it.

    Returns the number of checkpoint entries the model did not use (e.g. EMA copies).
    """
    from analysis.models.compat import ensure_openmmlab_compat

    ensure_openmmlab_compat()
    from mmengine.runner import CheckpointLoader

    try:
        ckpt = CheckpointLoader.load_checkpoint(str(path), map_location="cpu")
    except Exception as exc:  # a corrupt file raises anything from pickle/zip
        raise ModelError(f"{path}: cannot read checkpoint: {exc}") from exc
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ModelError(f"{path}: not a checkpoint (no state_dict)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ModelError(f"{path}: checkpoint does not fit model {model_name}: {exc}") from exc
    if result.missing_keys:
        shown = ", ".join(result.missing_keys[:5])
        raise ModelError(
            f"{path}: checkpoint does not fit model {model_name}: "
            f"{len(result.missing_keys)} weights missing ({shown}, ...)"
        )
    return len(result.unexpected_keys)
