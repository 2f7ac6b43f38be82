"""Fixtures of the flow tests: stand-in models (the Prefect harness is in tests/conftest.py)."""

from __future__ import annotations

import os

import pytest

from tests.helpers import EngineCounter

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> EngineCounter:
    """In-process runs (workers=0) use stand-in models and count what would have run."""
    counter = EngineCounter()
    monkeypatch.setattr("flows.workers.get_engine", counter.get_engine)
    return counter
