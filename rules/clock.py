"""Clocks: the engine and the scheduler read time from one of these, so tests drive time.

Also :func:`aware`, the one place a naive datetime from the store (SQLite returns them) gets
its UTC zone back.
"""

from __future__ import annotations

import threading
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


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    """A clock that moves only when told to (for tests and dry runs)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now

    def set(self, value: datetime) -> None:
        with self._lock:
            self._now = value
