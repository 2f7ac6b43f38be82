"""Fixtures of the flow tests: one Prefect test harness for the session, stand-in models.

The harness (a temporary SQLite database and API server, ~8 s to start) is a session fixture
that only the flow tests request, so the rest of the suite does not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.helpers import EngineCounter

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> EngineCounter:
    """In-process runs (workers=0) use stand-in models and count what would have run."""
    counter = EngineCounter()
    monkeypatch.setattr("flows.workers.get_engine", counter.get_engine)
    return counter
