"""flows.web.security.LoginThrottle: each rule of the failed-login limits, on a hand-moved clock.

Per (user, address) 5, per address 20, per user over all unknown clients 100, per known device
5 and nothing else for it; a window of 15 minutes that slides.
"""

from __future__ import annotations

from flows.web.security import (
    FAILED_LOGIN_WINDOW_S,
    MAX_FAILED_LOGINS,
    MAX_FAILED_PER_ADDRESS,
    MAX_FAILED_PER_USER,
    LoginThrottle,
)

WINDOW = int(FAILED_LOGIN_WINDOW_S)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle() -> tuple[LoginThrottle, Clock]:
    clock = Clock()
    return LoginThrottle(clock=clock), clock


def test_the_limits_are_those_the_readme_states() -> None:
    assert (MAX_FAILED_LOGINS, MAX_FAILED_PER_ADDRESS, MAX_FAILED_PER_USER) == (5, 20, 100)
    assert WINDOW == 15 * 60


def test_five_failures_block_that_user_from_that_address_only() -> None:
    t, clock = throttle()
    for _ in range(MAX_FAILED_LOGINS - 1):
        t.failed("ana", "10.0.0.1")
    assert t.retry_after_s("ana", "10.0.0.1") == 0
    t.failed("Ana ", "10.0.0.1")  # one name, however typed
    assert t.retry_after_s("ana", "10.0.0.1") == WINDOW
    assert t.retry_after_s("ANA", "10.0.0.1") == WINDOW
    assert t.retry_after_s("ana", "10.0.0.2") == 0  # the same user from elsewhere
    assert t.retry_after_s("bob", "10.0.0.1") == 0  # another user from the same place
    clock.now += 60
    assert t.retry_after_s("ana", "10.0.0.1") == WINDOW - 60
    clock.now += WINDOW - 60
    assert t.retry_after_s("ana", "10.0.0.1") == 0  # the window moved on


def test_twenty_failures_over_many_names_block_the_address() -> None:
    t, _ = throttle()
    for i in range(MAX_FAILED_PER_ADDRESS - 1):
        t.failed(f"user{i}", "10.0.0.1")
    assert t.retry_after_s("someone", "10.0.0.1") == 0
    t.failed("user19", "10.0.0.1")
    assert t.retry_after_s("someone", "10.0.0.1") == WINDOW
    assert t.retry_after_s("someone", "10.0.0.2") == 0


def test_a_hundred_failures_from_many_addresses_block_the_user_for_unknown_clients() -> None:
    t, _ = throttle()
    for i in range(MAX_FAILED_PER_USER - 1):
        t.failed("ana", f"10.0.{i // 250}.{i % 250}")  # one try from each: no other limit
    assert t.retry_after_s("ana", "192.168.1.1") == 0
    t.failed("ana", "10.9.9.9")
    assert t.retry_after_s("ana", "192.168.1.1") == WINDOW  # a new client, any address
    assert t.retry_after_s("bob", "192.168.1.1") == 0
    # the browser ana logged in with before is not locked out by any of that
    assert t.retry_after_s("ana", "10.0.0.1", device="ana-phone") == 0


def test_a_known_device_counts_its_own_failures_and_only_them() -> None:
    t, _ = throttle()
    for _ in range(MAX_FAILED_PER_ADDRESS):
        t.failed("mallory", "10.0.0.1")  # the gym's shared address is blocked ...
    for _ in range(MAX_FAILED_LOGINS):
        t.failed("ana", "10.0.0.2")  # ... and ana from another one
    assert t.retry_after_s("ana", "10.0.0.1", device="ana-phone") == 0
    assert t.retry_after_s("ana", "10.0.0.2", device="ana-phone") == 0
    for _ in range(MAX_FAILED_LOGINS):
        t.failed("ana", "10.0.0.3", device="ana-phone")
    assert t.retry_after_s("ana", "10.0.0.3", device="ana-phone") == WINDOW
    # the device's failures were not counted for ana's other clients
    assert t.retry_after_s("ana", "10.0.0.3") == 0


def test_a_success_restarts_only_its_own_count() -> None:
    t, _ = throttle()
    for _ in range(MAX_FAILED_LOGINS - 1):
        t.failed("ana", "10.0.0.1")
    t.succeeded("ana", "10.0.0.1")
    for _ in range(MAX_FAILED_LOGINS - 1):
        t.failed("ana", "10.0.0.1")
    assert t.retry_after_s("ana", "10.0.0.1") == 0  # 4 since the success
    # the address's count went on: a spray that finds one password is still limited
    for i in range(MAX_FAILED_PER_ADDRESS - 2 * (MAX_FAILED_LOGINS - 1)):
        t.failed(f"user{i}", "10.0.0.1")
    assert t.retry_after_s("someone", "10.0.0.1") == WINDOW


def test_the_wait_is_until_enough_failures_have_left_the_window() -> None:
    t, clock = throttle()
    for _ in range(MAX_FAILED_LOGINS):
        t.failed("ana", "10.0.0.1")
        clock.now += 100
    # blocked 500 s after the first failure; one failure leaves the window 400 s from now
    assert t.retry_after_s("ana", "10.0.0.1") == WINDOW - 500
    clock.now += WINDOW - 500
    assert t.retry_after_s("ana", "10.0.0.1") == 0
    t.failed("ana", "10.0.0.1")  # back at the limit: until the next oldest leaves
    assert t.retry_after_s("ana", "10.0.0.1") == 100
