"""Per-video claims: two runs over the same inbox never process a video at the same time.

A claim is a small JSON file ``<store>/_claims/<video_id>.claim`` created with ``O_CREAT |
O_EXCL``: of several processes (threads, runs, machines on a shared POSIX or NFS store) exactly one
creates it. It records the host, pid, run id and time. A claim is stale, and may be broken, when
its process is gone (same host, pid no longer alive) or when it is older than ``stale_after_s``
(a host that died). Breaking is an atomic rename to a unique name, so two breakers cannot both
win, followed by a fresh exclusive create.

Why files and not Prefect's global concurrency limits: the claim must hold on the store the work
writes to, also for ``posecoach analyze`` and runs against different Prefect servers, and it
must survive the Prefect API being down; a lock file next to the data does. For object stores
(s3://, gs://), where there is no exclusive create on every backend, the flow takes the claim
through fsspec's exclusive-create mode (``"xb"``) where the filesystem supports it (see
docs/scale-out.md).

The caller re-checks "already done" after taking the claim: the claim prevents concurrent work,
the ``videos`` row (written last) says whether the work is finished.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import posixpath
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from posecoach.store import Store, StoreError

CLAIMS_DIR = "_claims"
DEFAULT_STALE_AFTER_S = 6 * 3600.0  # longer than any single video takes on one CPU


@dataclass(frozen=True)
class Claim:
    """A held claim on one video. ``token`` tells our claim from a newer one by someone else."""

    store_url: str
    video_id: str
    path: str
    token: str


def claim_path(store: Store, video_id: str) -> str:
    store.file_path("videos", video_id, "2000-01-01")  # validates the id: no path escapes
    return posixpath.join(store.root, CLAIMS_DIR, f"{video_id}.claim")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _read(store: Store, path: str) -> dict[str, Any] | None:
    try:
        with store.fs.open(path, "rb") as fh:
            return json.loads(fh.read().decode() or "{}")
    except FileNotFoundError:
        return None
    except (ValueError, OSError):
        return {}  # half-written or garbled: judged by its age alone


def is_stale(info: dict[str, Any], age_s: float, stale_after_s: float) -> bool:
    """Whether a claim with this content and age (seconds) may be broken."""
    if age_s > stale_after_s:
        return True
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        return not _pid_alive(info["pid"])
    # A claim still being written (empty) is young and alive; one from another host is trusted
    # until it times out.
    return False


def _age_s(store: Store, path: str) -> float:
    try:
        if store.local:
            return time.time() - os.stat(path).st_mtime
        modified = store.fs.modified(path)
    except (FileNotFoundError, NotImplementedError):
        return 0.0
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=dt.UTC)  # object stores report UTC
    return (dt.datetime.now(dt.UTC) - modified).total_seconds()


def _create_exclusive(store: Store, path: str, payload: bytes) -> bool:
    if store.local:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        return True
    try:
        with store.fs.open(path, "xb") as fh:
            fh.write(payload)
    except FileExistsError:
        return False
    except (ValueError, NotImplementedError) as exc:
        raise StoreError(
            f"{store.url}: this filesystem has no exclusive create; claims cannot be taken "
            "(see docs/scale-out.md)"
        ) from exc
    return True


def try_claim(
    store: Store,
    video_id: str,
    *,
    run_id: str | None = None,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
) -> Claim | None:
    """Take the claim on a video, or None if another live process holds it."""
    path = claim_path(store, video_id)
    store.fs.makedirs(posixpath.dirname(path), exist_ok=True)
    token = uuid.uuid4().hex
    payload = json.dumps(
        {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "run_id": run_id,
            "token": token,
            "claimed_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    ).encode()
    for _ in range(3):
        if _create_exclusive(store, path, payload):
            return Claim(store.url, video_id, path, token)
        info = _read(store, path)
        if info is None:
            continue  # released between our attempt and the read: try again
        if not is_stale(info, _age_s(store, path), stale_after_s):
            return None
        # Move the stale claim aside under a unique name: only one breaker's rename succeeds.
        aside = f"{path}.stale-{token}"
        try:
            store.fs.mv(path, aside) if not store.local else os.rename(path, aside)
        except FileNotFoundError:
            continue
        with contextlib.suppress(FileNotFoundError):
            store.fs.rm(aside)
    return None


def release(store: Store, claim: Claim) -> None:
    """Give a claim back, unless it was broken and taken by someone else meanwhile."""
    info = _read(store, claim.path)
    if info is not None and info.get("token") == claim.token:
        with contextlib.suppress(FileNotFoundError):
            store.fs.rm(claim.path)


@contextlib.contextmanager
def claimed(
    store: Store,
    video_id: str,
    *,
    run_id: str | None = None,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
) -> Iterator[Claim | None]:
    """``with claimed(store, vid) as claim:`` -- ``claim`` is None when someone else holds it."""
    claim = try_claim(store, video_id, run_id=run_id, stale_after_s=stale_after_s)
    try:
        yield claim
    finally:
        if claim is not None:
            release(store, claim)


def held_claims(store: Store) -> list[dict[str, Any]]:
    """The claims currently in the store (for diagnostics and tests)."""
    pattern = posixpath.join(store.root, CLAIMS_DIR, "*.claim")
    store.refresh_listings()
    out = []
    for path in sorted(store.fs.glob(pattern)):
        info = _read(store, path) or {}
        out.append({"video_id": posixpath.basename(path)[: -len(".claim")], **info})
    return out
