"""Fixtures shared by all tests (the helpers they use live in tests/helpers.py).

The Prefect harness (a temporary SQLite database and API server, ~8 s to start) is a session
fixture that only the flow and web tests request, so the rest of the suite does not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SHARED


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder (test videos, images, models), or skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (../shared holds the test videos, images and models)")
    return SHARED


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        yield
