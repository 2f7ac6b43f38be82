"""``posecoach web`` run as a subprocess for the tests that talk to it over the wire: started
in a folder of its own, waited for, stopped with Ctrl-C (SIGINT) as a terminal would."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def web_server(root: Path, *args: str, start_s: float = 120) -> Iterator[str]:
    """``posecoach web --store store --inbox inbox --reports reports --port P ARGS`` run in
    ``root`` (its output in ``root/server.log``); yields the base URL once ``/login`` answers.
    On exit it must stop cleanly on SIGINT (exit 0), else the log's end says why."""
    port = free_port()
    folders = ["--store", "store", "--inbox", "inbox", "--reports", "reports"]
    log_path = root / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli.main", "web", *folders, "--port", str(port), *args],
            cwd=root,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + start_s
        while True:
            try:
                urllib.request.urlopen(f"{base}/login", timeout=5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise AssertionError(
                        f"posecoach web did not start:\n{log_path.read_text()}"
                    ) from None
                time.sleep(0.2)
        try:
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    assert code == 0, f"posecoach web exited {code}:\n{log_path.read_text()[-4000:]}"
