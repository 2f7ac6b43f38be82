"""The failure policy: the machine's failures (retried) against the file's (recorded once)."""

from __future__ import annotations

import errno
from pathlib import Path

import pandas as pd
import pytest

from analysis.ingest.analyze import analyze_into_store
from analysis.io.video import VideoError
from analysis.pipeline.config import EngineConfig
from analysis.pipeline.engine import PoseEngine
from posecoach import failures
from posecoach.failures import (
    MAX_ATTEMPTS,
    RETRYABLE,
    ErrorKind,
    ModelLoadError,
    TransientError,
    error_text,
    failure_kind,
    is_transient,
    legacy_error_kind,
    retry_in_run,
)
from posecoach.store import Store
from posecoach.videos import VideoRow, read_video_rows, write_video_row
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
    assert failure_kind(exc) is (ErrorKind.TRANSIENT if transient else ErrorKind.BAD_FILE)
    text = error_text("clip.mp4: it failed", exc)
    assert text.startswith(RETRYABLE) is transient  # for people reading the table
    assert text.endswith("clip.mp4: it failed")


def test_a_cause_cycle_ends() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert is_transient(a) is False


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (TransientError("retryable: MemoryError"), True),
        (OSError(errno.EIO, "Input/output error"), True),
        (RuntimeError("claim file vanished"), True),
        (KeyError("video_id"), True),
        (ModelLoadError("the models could not be loaded: x.pth not found"), False),
        (FileNotFoundError(errno.ENOENT, "gone"), False),
        (PermissionError(errno.EACCES, "refused"), False),
        (IsADirectoryError(errno.EISDIR, "a folder"), False),
        (ValueError("refused: symlink points outside the inbox"), False),
        (TypeError("bad argument"), False),
        ("not an exception", False),
        (None, False),
    ],
    ids=lambda v: type(v).__name__,
)
def test_retry_in_run(exc: object, retried: bool) -> None:
    """Within a run, everything but what another try cannot mend is retried."""
    assert retry_in_run(exc) is retried


def test_attempts_and_the_next_night() -> None:
    def row(kind: ErrorKind | None, attempts: int | None, status: str = "failed") -> VideoRow:
        return VideoRow(video_id="v", date="2026-01-01", status=status, error_kind=kind,
                        attempts=attempts)  # fmt: skip

    assert failures.retry_next_night(row(ErrorKind.TRANSIENT, 1))
    for kind in (ErrorKind.BAD_FILE, ErrorKind.GIVEN_UP, None):
        assert not failures.retry_next_night(row(kind, 1))
    assert not failures.retry_next_night(row(ErrorKind.TRANSIENT, 1, status="ok"))
    assert not failures.retry_next_night(None)
    assert failures.attempt_number(row(ErrorKind.TRANSIENT, 2), same_models=True) == 3
    assert failures.attempt_number(row(ErrorKind.TRANSIENT, None), same_models=True) == 2
    assert failures.attempt_number(row(ErrorKind.TRANSIENT, 2), same_models=False) == 1
    assert failures.attempt_number(row(ErrorKind.GIVEN_UP, 3), same_models=True) == 1
    assert failures.attempt_number(None, same_models=True) == 1
    kinds = [failures.kind_after(n) for n in range(1, MAX_ATTEMPTS + 2)]
    assert kinds == [ErrorKind.TRANSIENT] * (MAX_ATTEMPTS - 1) + [ErrorKind.GIVEN_UP] * 2
    assert failures.transient_message(1, "MemoryError") == f"{RETRYABLE}MemoryError"
    given_up = failures.transient_message(MAX_ATTEMPTS, "MemoryError")
    assert given_up.startswith(f"given up after {MAX_ATTEMPTS} runs")
    assert given_up.endswith("last: MemoryError")


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        ("failed", f"{RETRYABLE}the worker process died while processing it", ErrorKind.TRANSIENT),
        (
            "failed",
            f"given up after {MAX_ATTEMPTS} runs ...; last: MemoryError",
            ErrorKind.GIVEN_UP,
        ),
        ("failed", "clip.mp4: the video stream holds no decodable frame", ErrorKind.BAD_FILE),
        ("failed", None, ErrorKind.BAD_FILE),
        ("empty", "no person detected in 12 frame(s)", None),
        ("ok", None, None),
    ],
)
def test_rows_of_older_stores_are_classified_from_their_message(
    status: str, error: str | None, kind: ErrorKind | None
) -> None:
    assert legacy_error_kind(status, error) is kind


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


def _stored_kind(store: Store, row: VideoRow) -> str | None:
    """``error_kind`` as the file holds it (not derived from the message on reading)."""
    write_video_row(store, row)
    (stored,) = store.read("videos", video_ids=[row.video_id])["error_kind"]
    assert read_video_rows(store, [row.video_id]) == [row]
    return None if pd.isna(stored) else stored


def test_out_of_memory_in_the_model_is_retryable(clip: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    row = analyze_into_store(_engine(_FailingPose(MemoryError())), clip, store)
    assert row.status == "failed" and row.error_kind is ErrorKind.TRANSIENT
    assert row.error is not None and row.error.startswith(RETRYABLE), row.error
    assert str(clip) in row.error and "MemoryError" in row.error
    assert store.read("keypoints").empty
    assert _stored_kind(store, row) == "transient"


def test_a_model_bug_is_recorded_for_good(clip: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    row = analyze_into_store(
        _engine(_FailingPose(IndexError("index 17 out of range"))), clip, store
    )
    assert row.status == "failed" and row.error_kind is ErrorKind.BAD_FILE
    assert row.error is not None and not row.error.startswith(RETRYABLE)
    assert "IndexError" in row.error
    assert _stored_kind(store, row) == "bad_file"


def test_a_video_that_is_fine_has_no_error_kind(clip: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    row = analyze_into_store(_engine(), clip, store)
    assert row.status == "ok" and row.error is None and row.error_kind is None
    assert _stored_kind(store, row) is None


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
    assert row.status == "failed" and row.error_kind is ErrorKind.TRANSIENT
    assert row.error is not None and row.error.startswith(RETRYABLE), row.error
    assert "decoding failed" in row.error and "Input/output error" in row.error


def test_a_failing_store_write_is_retryable(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "store")

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "store/keypoints")

    monkeypatch.setattr(store, "write", refuse)
    row = analyze_into_store(_engine(), clip, store)
    # The store refused, not the video: even a permission error there is worth retrying.
    assert row.status == "failed" and row.error_kind is ErrorKind.TRANSIENT
    assert row.error is not None and row.error.startswith(RETRYABLE), row.error
    assert "writing keypoints failed" in row.error
