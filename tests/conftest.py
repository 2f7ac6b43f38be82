"""Fixtures shared by all tests (the helpers they use live in tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SHARED


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder (test videos, images, models), or skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (../shared holds the test videos, images and models)")
    return SHARED
