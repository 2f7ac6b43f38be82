"""flows.prefect_api: the temporary Prefect server waits long enough for a busy small machine."""

from __future__ import annotations

import pytest
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    temporary_settings,
)

from flows.prefect_api import MIN_STARTUP_S, prefect_api


@pytest.mark.parametrize(("configured", "waited"), [(20, MIN_STARTUP_S), (600, 600)])
def test_the_start_up_wait_is_at_least_the_minimum_or_what_is_configured(
    monkeypatch, configured: int, waited: int
) -> None:
    seen: list[int | None] = []
    monkeypatch.setattr(
        SubprocessASGIServer, "start", lambda self, timeout=None: seen.append(timeout)
    )
    monkeypatch.setattr(SubprocessASGIServer, "stop", lambda self: None)
    updates = {PREFECT_API_URL: None, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: configured}
    with temporary_settings(updates=updates), prefect_api():
        pass
    assert seen == [waited]
