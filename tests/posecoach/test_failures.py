"""Failures that are the machine's (retried) against failures that are the file's (recorded)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from analysis.ingest.analyze import analyze_into_store
from analysis.io.video import VideoError
from analysis.pipeline.engine import EngineConfig, PoseEngine
from posecoach.failures import error_text, is_retryable, is_transient
from posecoach.schema import RETRYABLE
from posecoach.store import Store
from tests.helpers import Person, RectDetector, RectPose, write_video


class OutOfMemoryError(RuntimeError):
    """Named as torch's ``torch.OutOfMemoryError`` (a RuntimeError subclass)."""


def _raised_from(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as chained:
        return chained


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (MemoryError(), True),
        (OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("CUDA error: an illegal memory access was encountered"), True),
        (
            RuntimeError("[ONNXRuntimeError] : 6 : Failed to allocate memory for requested buffer"),
            True,
        ),
        (OSError(errno.EIO, "Input/output error"), True),
        (OSError(errno.ESTALE, "Stale file handle"), True),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (TimeoutError("read timed out"), True),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), True),
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), False),
        (PermissionError(errno.EACCES, "Permission denied"), False),
        (OSError(errno.EISDIR, "Is a directory"), False),
        (ValueError("invalid data found when processing input"), False),
        (RuntimeError("model crashed"), False),
        (KeyError("nose_x"), False),
        (VideoError("clip.mp4", "the video stream holds no decodable frame"), False),
        (VideoError("clip.mp4", "decoding failed: OSError: EIO", transient=True), True),
        (_raised_from(VideoError("clip.mp4", "cannot open"), OSError(errno.EIO, "I/O")), True),
        (_raised_from(VideoError("clip.mp4", "cannot open"), ValueError("bad header")), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_is_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
    text = error_text("clip.mp4: it failed", exc)
    assert is_retryable(text) is transient
    assert text.endswith("clip.mp4: it failed")


def test_a_cause_cycle_ends() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert is_transient(a) is False


# -- through analyze_into_store --------------------------------------------------------------------


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", [Person(start=(60, 60))], 8)


def _engine(pose: RectPose | None = None) -> PoseEngine:
    return PoseEngine(EngineConfig(), detector=RectDetector(), pose=pose or RectPose())


class _FailingPose(RectPose):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def __call__(self, frames, boxes):
        raise self.exc


def test_out_of_memory_in_the_model_is_retryable(clip: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    row = analyze_into_store(_engine(_FailingPose(MemoryError())), clip, store)
    assert row["status"] == "failed" and row["error"].startswith(RETRYABLE), row["error"]
    assert str(clip) in row["error"] and "MemoryError" in row["error"]
    assert store.read("keypoints").empty


def test_a_model_bug_is_recorded_for_good(clip: Path, tmp_path: Path) -> None:
    row = analyze_into_store(
        _engine(_FailingPose(IndexError("index 17 out of range"))), clip, Store(tmp_path / "s")
    )
    assert row["status"] == "failed" and not is_retryable(row["error"])
    assert "IndexError" in row["error"]


def test_an_io_error_while_decoding_is_retryable(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A share that stops answering mid-video: the reader thread's error keeps its nature."""
    from analysis.io import video

    real_frames = video._AvVideo._frames

    def frames_then_eio(self):
        yield next(real_frames(self))
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(video._AvVideo, "_frames", frames_then_eio)
    row = analyze_into_store(_engine(), clip, Store(tmp_path / "store"))
    assert row["status"] == "failed" and row["error"].startswith(RETRYABLE), row["error"]
    assert "decoding failed" in row["error"] and "Input/output error" in row["error"]


def test_a_failing_store_write_is_retryable(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "store")

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "store/keypoints")

    monkeypatch.setattr(store, "write", refuse)
    row = analyze_into_store(_engine(), clip, store)
    # The store refused, not the video: even a permission error there is worth retrying.
    assert row["status"] == "failed" and row["error"].startswith(RETRYABLE), row["error"]
    assert "writing keypoints failed" in row["error"]
