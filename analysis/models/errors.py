"""The errors of model loading: what went wrong names the file, model or setting at fault."""

from __future__ import annotations

from pathlib import Path


class ModelError(RuntimeError):
    """A model could not be loaded (bad spec, mismatching checkpoint, unavailable backend)."""


class MissingCheckpointError(ModelError, FileNotFoundError):
    """One or more checkpoints are neither on disk nor downloadable.

    ``missing`` lists ``(filename, url)`` pairs; ``searched`` the directories looked in.
    """

    def __init__(self, missing: list[tuple[str, str]], searched: list[Path], reasons: list[str]):
        self.missing = missing
        self.searched = searched
        self.reasons = reasons
        lines = ["model checkpoint(s) not found and could not be downloaded:"]
        for (filename, url), reason in zip(missing, reasons, strict=True):
            lines.append(f"  - {filename}\n      from {url}\n      ({reason})")
        lines.append("put the file(s) in one of:")
        lines.extend(f"  - {d}" for d in searched)
        if len(searched) < 2:
            lines.append("  - a folder of your choice, named by --models-dir or $POSECOACH_MODELS")
        lines.append(
            "or pass a checkpoint path with --detector / --pose "
            "(--allow-random-weights runs untrained models, for testing only)"
        )
        super().__init__("\n".join(lines))


class ChecksumError(ModelError):
    """A checkpoint's sha256 does not start with the prefix in its official file name."""


class ProviderUnavailableError(ModelError):
    """The inference runtime cannot run on the requested device (or precision)."""
