"""Finding a model's checkpoint on disk, or downloading it, and loading it into a module.

Checkpoint resolution (:func:`resolve_checkpoint`), first hit wins:

1. an explicit path given by the caller (``--detector`` / ``--pose``);
2. a models directory: the ``models_dir`` argument, else ``$POSECOACH_MODELS``;
3. the cache ``$XDG_CACHE_HOME/posecoach/models`` (``~/.cache/posecoach/models``);
4. a download into the cache with a progress bar (to a temporary name, hash checked, renamed);
5. otherwise :class:`MissingCheckpointError`, naming every missing file, its URL and the
   directories where it may be put.

Random weights are used only with ``allow_random_weights=True`` and are recorded in
``.info['random_weights']``; without a checkpoint and without that opt-in, loading fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.models.catalog import CheckpointSpec, ModelSpec
from analysis.models.errors import ChecksumError, MissingCheckpointError, ModelError
from posecoach.store import file_sha256

# The opener used for downloads; tests replace it to simulate the network.
_urlopen = urllib.request.urlopen
DOWNLOAD_TIMEOUT_S = 30.0


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/posecoach`` (default ``~/.cache/posecoach``); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "posecoach"


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
    """Download ``ckpt`` into ``dest_dir`` under a temporary name, check its hash, rename.

    Raises ``urllib.error.URLError`` / ``OSError`` when the network fails and
    :class:`ChecksumError` on a hash mismatch; nothing is left behind in either case.
    """
    from tqdm import tqdm

    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / ckpt.filename
    tmp = dest_dir / f".{ckpt.filename}.{os.getpid()}.part"
    h = hashlib.sha256()
    try:
        with _urlopen(ckpt.url, timeout=DOWNLOAD_TIMEOUT_S) as resp, open(tmp, "wb") as out:
            total = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
            with tqdm(
                total=int(total) if total else None,
                unit="B",
                unit_scale=True,
                desc=ckpt.filename,
                disable=not progress,
            ) as bar:
                while block := resp.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        digest = h.hexdigest()
        if not digest.startswith(ckpt.sha256_prefix):
            raise ChecksumError(
                f"{ckpt.url}: downloaded file has sha256 {digest[:16]}..., expected a hash "
                f"starting with {ckpt.sha256_prefix}; not kept"
            )
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final


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
