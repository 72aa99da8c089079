"""Clocks: the engine, the scheduler and the adapters read time from one of these, so tests
drive time: ``now()`` for the wall clock (UTC), ``monotonic()`` for how long something took or
how old a cached copy is.

Also :func:`aware`, the one place a naive datetime from the store (SQLite returns them) gets
its UTC zone back.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, overload

from rules.command import utcnow


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """``value`` with UTC attached when the driver returned it naive (SQLite does)."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """Wall-clock time in UTC; the system's monotonic clock."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (for tests and dry runs)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._seconds = 0.0  # monotonic: moved forward by advance and a forward set only
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._seconds

    def advance(self, delta: timedelta | float) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            self._seconds += max(0.0, step.total_seconds())
            return self._now

    def set(self, value: datetime) -> None:
        with self._lock:
            self._seconds += max(0.0, (value - self._now).total_seconds())
            self._now = value
