"""The clocks: a test's ManualClock moves its monotonic time with its wall time, forward only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.clock import ManualClock, SystemClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_manual_monotonic_follows_advance_and_never_goes_back() -> None:
    clock = ManualClock(START)
    assert clock.monotonic() == 0.0
    clock.advance(2.5)
    clock.advance(timedelta(minutes=1))
    assert clock.monotonic() == 62.5
    clock.set(START)  # the wall clock may be set back; the monotonic one stays
    assert clock.monotonic() == 62.5 and clock.now() == START
    clock.set(START + timedelta(seconds=10))
    assert clock.monotonic() == 72.5


def test_system_monotonic_does_not_go_back() -> None:
    clock = SystemClock()
    first = clock.monotonic()
    assert clock.monotonic() >= first and clock.now().tzinfo is UTC
