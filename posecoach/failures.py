"""The failure policy: what kind a failure is, and what is tried again, when, and how often.

A truncated video fails the same way every night: it is recorded once, as
:attr:`ErrorKind.BAD_FILE`, and left alone until the file changes. Running out of memory, a
network share that stops answering, a full disk or a CUDA fault say nothing about the video:
such a failure is :attr:`ErrorKind.TRANSIENT`, tried again by the task's retries
(:func:`retry_in_run`, :data:`TASK_RETRIES`), then on the next nights (:func:`retry_next_night`),
up to :data:`MAX_ATTEMPTS` runs in a row; after that it is :attr:`ErrorKind.GIVEN_UP` and left
alone like a bad file. The kind is stored in ``videos.error_kind``; the ``error`` column keeps the
human-readable reason (a transient one starts with :data:`RETRYABLE`, for people reading it).

Decisions read ``error_kind`` only. Rows written before that column existed are classified from
their message once, when they are read (:func:`legacy_error_kind`). Which exceptions are
transient is decided from exception types and error numbers, so that no caller guesses from
message text.
"""

from __future__ import annotations

import errno
from enum import StrEnum
from typing import Protocol

#: Start of a transient failure's ``error`` message: for people reading the table. Decisions read
#: ``error_kind``; only rows older than that column are classified from this prefix.
RETRYABLE = "retryable: "

#: Runs in a row that may fail for a transient reason before a video is given up on.
MAX_ATTEMPTS = 3
#: Retries of a video's task within one run (Prefect's ``retries``), and the waits before them.
TASK_RETRIES = 2
TASK_RETRY_DELAYS_S = (10, 60)


class ErrorKind(StrEnum):
    """What a ``failed`` video's failure says (the ``videos.error_kind`` column)."""

    BAD_FILE = "bad_file"  # the input itself: recorded once, not tried again until it changes
    TRANSIENT = "transient"  # the machine's: tried again (task retries, then the next nights)
    GIVEN_UP = "given_up"  # transient MAX_ATTEMPTS runs in a row: left alone like a bad file


class TransientError(RuntimeError):
    """A failure worth retrying (memory, a store write); the videos row is not written."""

    transient = True


class ModelLoadError(RuntimeError):
    """The worker could not load the models; every video it takes fails with this reason."""


class Recorded(Protocol):
    """What the decisions read of a ``videos`` row (`posecoach.videos.VideoRow` has it)."""

    @property
    def status(self) -> str | None: ...
    @property
    def error_kind(self) -> str | None: ...
    @property
    def attempts(self) -> int | None: ...


# -- which exceptions are transient ----------------------------------------------------------------
# Error numbers of a machine, share or store that may work a moment later.
_TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "EIO",
        "EAGAIN",
        "EBUSY",
        "EINTR",
        "ENOMEM",
        "ENOSPC",
        "EDQUOT",
        "ESTALE",
        "ETIMEDOUT",
        "ECONNRESET",
        "ECONNABORTED",
        "ECONNREFUSED",
        "ENETDOWN",
        "ENETUNREACH",
        "ENETRESET",
        "EHOSTDOWN",
        "EHOSTUNREACH",
        "ENOLINK",
        "ECOMM",
        "EREMOTEIO",
    )
    if hasattr(errno, name)
)

# Out-of-memory and device faults of the inference runtimes, which raise them as RuntimeError
# (or their own subclasses) with these in the message: torch (CPU and CUDA), onnxruntime, OpenVINO.
_TRANSIENT_TYPE_NAMES = frozenset({"OutOfMemoryError", "AcceleratorError"})
_TRANSIENT_MESSAGES = (
    "out of memory",
    "CUDA error",
    "CUDA failure",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "cudaErrorMemoryAllocation",
    "Failed to allocate memory",
    "std::bad_alloc",
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is worth trying again later.

    ``MemoryError``, timeouts and lost connections, ``OSError`` with an error number of the
    machine rather than the file (I/O error, stale NFS handle, disk full, ...), and the
    runtimes' out-of-memory and CUDA faults are; everything else (a missing or unreadable file,
    a corrupt stream, a bug) is not.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "transient", False) or _is_transient_itself(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in _TRANSIENT_ERRNOS
    if any(cls.__name__ in _TRANSIENT_TYPE_NAMES for cls in type(exc).__mro__):
        return True
    if isinstance(exc, RuntimeError):
        message = str(exc)
        return any(marker in message for marker in _TRANSIENT_MESSAGES)
    return False


def failure_kind(exc: BaseException | None) -> ErrorKind:
    """The kind of an analysis failure: transient if ``exc`` is, else the file's fault."""
    return ErrorKind.TRANSIENT if exc is not None and is_transient(exc) else ErrorKind.BAD_FILE


def error_message(kind: ErrorKind, reason: str) -> str:
    """The ``error`` column's text for a failure of this kind: ``reason``, marked if transient."""
    return f"{RETRYABLE}{reason}" if kind is ErrorKind.TRANSIENT else reason


def error_text(reason: str, exc: BaseException | None) -> str:
    """The ``error`` column's text for a failure raised as ``exc`` (see :func:`failure_kind`)."""
    return error_message(failure_kind(exc), reason)


# -- within a run: Prefect's retries ----------------------------------------------------------------
# What reaches the task is never the analysis of the file failing (that is caught and recorded as
# a row); it is the flow's own plumbing, a transient row (TransientError) or models that do not
# load. So within a run everything is retried except what another try cannot mend: the input has
# gone or is refused, a programming error, or models that are missing (the next night may have
# them: such a video is still recorded as transient).
_NOT_RETRIED_IN_RUN: tuple[type[BaseException], ...] = (
    PermissionError,
    FileNotFoundError,
    IsADirectoryError,
    ValueError,
    TypeError,
    ModelLoadError,
)


def retry_in_run(exc: object) -> bool:
    """Whether a video's task that ended with ``exc`` is retried within the run.

    The predicate of the task's Prefect ``retry_condition_fn`` (flows/ does the wiring); ``exc``
    is what the failed state holds, which may be something other than an exception.
    """
    return isinstance(exc, BaseException) and not isinstance(exc, _NOT_RETRIED_IN_RUN)


# -- across runs: the next night ------------------------------------------------------------------
def retry_next_night(row: Recorded | None) -> bool:
    """Whether a video with this ``videos`` row is analysed again by the next run."""
    return row is not None and row.status == "failed" and row.error_kind == ErrorKind.TRANSIENT


def attempt_number(previous: Recorded | None, *, same_models: bool) -> int:
    """Which run at a video this is: one more than the last when that failed for a transient
    reason with the same models (``same_models``: preset and pipeline version), else 1.

    A row written before ``attempts`` existed (None) counts as one run.
    """
    if previous is None or not same_models or not retry_next_night(previous):
        return 1
    return (previous.attempts or 1) + 1


def kind_after(attempt: int) -> ErrorKind:
    """The kind a transient failure is recorded with on its ``attempt``-th run in a row."""
    return ErrorKind.TRANSIENT if attempt < MAX_ATTEMPTS else ErrorKind.GIVEN_UP


def transient_message(attempt: int, reason: str) -> str:
    """The ``error`` text of a transient failure on its ``attempt``-th run (see `kind_after`)."""
    if kind_after(attempt) is ErrorKind.TRANSIENT:
        return error_message(ErrorKind.TRANSIENT, reason)
    return (
        f"given up after {attempt} runs that each failed for a reason worth retrying "
        f"(after mending it: posecoach run --retry-failed); last: {reason}"
    )


# -- older stores ----------------------------------------------------------------------------------
_GIVEN_UP = "given up after "


def legacy_error_kind(status: str | None, error: str | None) -> ErrorKind | None:
    """The kind of a row written before ``videos.error_kind`` existed, from its message.

    The one place the old message prefix decides anything; called once, where rows are read.
    Not failed: None. ``retryable: ...``: transient; ``given up after ...``: given up;
    any other failure: the file's.
    """
    if status != "failed":
        return None
    text = str(error or "")
    if text.startswith(RETRYABLE):
        return ErrorKind.TRANSIENT
    if text.startswith(_GIVEN_UP):
        return ErrorKind.GIVEN_UP
    return ErrorKind.BAD_FILE
