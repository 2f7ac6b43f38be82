"""The web app's analysis: a background thread that runs the nightly flow over new uploads.

An upload is recorded ``queued`` (`flows.web.users.Accounts.add_upload`) and the thread woken.
It takes every queued upload at once, marks them ``running`` and calls `flows.nightly.nightly`
with ``only`` their inbox paths: the same flow as the nightly job, so the same
de-duplication (content hash, the store's ``videos`` rows, the claims), failure recording,
retries, work-pool dispatch and reports. When the flow returns the uploads are ``done`` and the
store's ``videos`` row tells the outcome; when the flow itself fails they are ``failed`` with
the reason. Uploads left ``queued`` or ``running`` by a stopped server are taken at start.

The thread runs in a copy of the context that built the runner, so that Prefect settings made
there (a test harness, a temporary API server) hold for its flow runs; the Prefect API it
needs is entered once, on the first batch, and left when the runner stops.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any

from flows.web.users import Accounts

log = logging.getLogger("posecoach.web")

#: Runs the flow over inbox-relative paths; returns the flow's result (``outcomes`` by path).
RunBatch = Callable[[list[str]], dict[str, Any]]


class AnalysisRunner:
    """One background thread analysing uploads in batches (see the module doc)."""

    def __init__(
        self,
        accounts: Accounts,
        run_batch: RunBatch,
        *,
        api: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
        poll_s: float = 30.0,
    ):
        self.accounts = accounts
        self.run_batch = run_batch
        self.api = api
        self.poll_s = poll_s
        self.batches = 0
        self._context = contextvars.copy_context()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._context.run, args=(self._loop,), name="posecoach-web-analysis", daemon=True
        )
        self._thread.start()
        self.wake()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._idle.clear()
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the batch in progress (a batch is not interrupted half-way)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is queued or running (tests, shutdown); False on timeout."""
        return self._idle.wait(timeout_s)

    def _loop(self) -> None:
        with contextlib.ExitStack() as stack:
            entered = False
            while not self._stop.is_set():
                pending = self.accounts.uploads(pending=True, limit=500)
                if not pending:
                    self._idle.set()
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                    continue
                if not entered:
                    try:
                        stack.enter_context(self.api())
                    except Exception as exc:  # tried again with the next upload
                        log.exception("the Prefect API could not be started")
                        reason = f"the Prefect API could not be started: {exc}"
                        self.accounts.set_upload_status(
                            [u.upload_id for u in pending], "failed", reason
                        )
                        continue
                    entered = True
                self._run(pending)

    def _run(self, pending: list[Any]) -> None:
        ids = [u.upload_id for u in pending]
        paths = sorted({u.rel_path for u in pending})
        self.accounts.set_upload_status(ids, "running")
        self.batches += 1
        try:
            result = self.run_batch(paths)
        except Exception as exc:  # the flow failed as a whole; each upload says so
            log.exception("analysis of %d upload(s) failed", len(ids))
            self.accounts.set_upload_status(ids, "failed", f"{type(exc).__name__}: {exc}")
            return
        seen = {o["rel_path"] for o in result.get("outcomes", [])}
        done = [u.upload_id for u in pending if u.rel_path in seen]
        lost = [u.upload_id for u in pending if u.rel_path not in seen]
        self.accounts.set_upload_status(done, "done")
        if lost:
            self.accounts.set_upload_status(lost, "failed", "the file was no longer in the inbox")
