"""The Prefect API a command runs its flows against: the configured one, or a temporary server.

Used by ``posecoach run``, ``serve`` and ``web``: without ``PREFECT_API_URL`` a temporary local
Prefect server runs for as long as the command (about 8 s of start-up; its database is
Prefect's usual one, so the history stays).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator

#: Seconds the temporary server may take to answer (Prefect's default is 20): on a small
#: machine busy with another run, or with ``posecoach web`` starting beside the nightly job,
#: its start-up (migrations, imports) took longer and the whole night failed.
MIN_STARTUP_S = 120


@contextlib.contextmanager
def prefect_api() -> Iterator[None]:
    """The configured Prefect API, or a temporary local server that worker processes share.

    Prefect's own ephemeral mode would serve this process only: each worker process of the
    pool, finding no ``PREFECT_API_URL``, would start a server of its own on the same database.
    Starting it here and exporting its URL gives every process one server.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the default instance, which Prefect's client reuses
    server.start(
        timeout=max(MIN_STARTUP_S, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    )
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield
            finally:
                _drain_to_api()
    finally:
        server.stop()


def _drain_to_api() -> None:
    # Logs and events still queued would be sent after the server stops and fail noisily.
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        for result in (APILogWorker.instance().drain(), EventsWorker.drain_all()):
            if inspect.isawaitable(result):
                await result

    with contextlib.suppress(RuntimeError):
        run_coro_as_sync(drain())
