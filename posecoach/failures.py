"""Which failures say something about the input, and which only about the machine at the time.

A truncated video fails the same way every night: it is recorded once, with its reason, and left
alone until the file changes. Running out of memory, a network share that stops answering, a
full disk or a CUDA fault say nothing about the video; such a failure is recorded with the
:data:`~posecoach.schema.RETRYABLE` prefix, and the video is tried again (by the task's retries,
then on the next night). The decision is made here, from exception types and error numbers, so
that no caller has to guess from message text.
"""

from __future__ import annotations

import errno

from posecoach.schema import RETRYABLE

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


def error_text(reason: str, exc: BaseException | None) -> str:
    """The ``error`` column's text for a failure: ``reason``, marked retryable if it is."""
    if exc is not None and is_transient(exc):
        return f"{RETRYABLE}{reason}"
    return reason


def is_retryable(error: str | None) -> bool:
    """Whether a recorded ``error`` is one worth trying again (see :data:`RETRYABLE`)."""
    return bool(error) and str(error).startswith(RETRYABLE)
