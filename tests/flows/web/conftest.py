"""Fixtures of the web tests: a site over a temporary store, inbox and reports, and its users."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from flows.web.app import create_app
from flows.web.context import WebConfig
from flows.web.security import LoginThrottle
from flows.web.users import Accounts, db_path
from tests.helpers import WEB_PASSWORDS as PASSWORDS


class Clock:
    """A monotonic clock the tests move by hand (the login throttle's window)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(tmp_path: Path) -> WebConfig:
    return WebConfig(
        store=str(tmp_path / "store"),
        inbox=tmp_path / "inbox",
        reports=tmp_path / "reports",
        max_upload_bytes=2 * 2**20,
    )


@pytest.fixture
def accounts(config: WebConfig) -> Accounts:
    """ana (admin) and bob (coach); cheap argon2 parameters keep the tests fast."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts = Accounts(db_path(config.store), hasher=fast)
    accounts.add_user("ana", PASSWORDS["ana"], "admin")
    accounts.add_user("bob", PASSWORDS["bob"], "coach")
    return accounts


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(config: WebConfig, accounts: Accounts, clock: Clock) -> Callable[..., FastAPI]:
    """The app; ``run_batch`` stands in for the nightly flow (default: records the paths)."""

    def make(run_batch: Callable[[list[str]], dict[str, Any]] | None = None) -> FastAPI:
        return create_app(
            config,
            accounts=accounts,
            run_batch=run_batch or (lambda paths: {"outcomes": []}),
            api=contextlib.nullcontext,
            throttle=LoginThrottle(clock=clock),
        )

    return make
