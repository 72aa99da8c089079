"""webhook.throttle: failures count per (address, user); the address alone only at ten times."""

from __future__ import annotations

from webhook.throttle import Throttle


def make(**options: float) -> tuple[Throttle, list[float]]:
    now = [0.0]
    return Throttle(clock=lambda: now[0], **options), now  # type: ignore[arg-type]


def test_a_pair_waits_after_the_limit_and_the_pause_ends() -> None:
    throttle, now = make(limit=2, window=60, pause=30)
    throttle.failed("a", "hook")
    assert throttle.wait_for("a", "hook") is None
    throttle.failed("a", "hook")
    assert throttle.wait_for("a", "hook") == 30
    now[0] = 29.2
    assert throttle.wait_for("a", "hook") == 1  # rounded up
    now[0] = 30.5
    assert throttle.wait_for("a", "hook") is None


def test_other_users_at_the_address_and_the_user_elsewhere_are_not_affected() -> None:
    throttle, _ = make(limit=2)
    throttle.failed("a", "hook")
    throttle.failed("a", "hook")
    assert throttle.wait_for("a", "hook") is not None
    assert throttle.wait_for("a", "other") is None
    assert throttle.wait_for("a", None) is None  # malformed credentials have their own count
    assert throttle.wait_for("b", "hook") is None


def test_failures_spread_over_more_than_the_window_do_not_count() -> None:
    throttle, now = make(limit=3, window=10)
    for _ in range(10):
        throttle.failed("a", "hook")
        now[0] += 6  # at most two within any 10 s
    assert throttle.wait_for("a", "hook") is None


def test_a_spray_of_user_names_makes_the_whole_address_wait() -> None:
    throttle, _ = make(limit=3, address_limit=5, pause=40)
    for name in ("u1", "u2", "u3", "u4"):
        throttle.failed("a", name)
    assert throttle.wait_for("a", "good") is None
    throttle.failed("a", "u5")  # the fifth failure from the address, each name once
    assert throttle.wait_for("a", "good") == 40
    assert throttle.wait_for("b", "good") is None


def test_the_address_limit_defaults_to_ten_times_the_limit() -> None:
    throttle, _ = make(limit=2)
    for index in range(19):
        throttle.failed("a", f"u{index}")
    assert throttle.wait_for("a", "good") is None
    throttle.failed("a", "u19")
    assert throttle.wait_for("a", "good") is not None
