"""Failed-authentication throttling, keyed by client address and user name.

A Rocket.Chat server posts all its outgoing integrations from one address, so one integration
with a mistyped password must not lock the others (the bot's own included) out. Failures count
per (address, user name): after ``limit`` of them within ``window`` seconds that pair waits
``pause`` seconds, while the right password of another user from the same address still works.

The address as a whole waits only after ``address_limit`` failures (ten times ``limit`` by
default), so that a spray of user names from one address is still slowed down. A waiting
pair's attempts are refused before any check and do not count again: one misconfigured client
alone sends at most ``limit`` counted failures per pause and never reaches the address limit.

Used by the webhook's :class:`~webhook.auth.Authenticator` and the web UI's login. In memory,
per process: enough to make guessing slow; the incidents log keeps the record.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["Throttle"]

_MAX_TRACKED = 10_000  # keys whose failures are remembered (the oldest are forgotten first)


class _Lockouts:
    """Failure times per key and the keys that must wait; the caller holds the lock."""

    def __init__(self, limit: int, window: float, pause: float) -> None:
        self.limit, self.window, self.pause = limit, window, pause
        self._failures: dict[Hashable, deque[float]] = {}
        self._until: dict[Hashable, float] = {}

    def wait(self, key: Hashable, now: float) -> float:
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= now:
            del self._until[key]
            return 0.0
        return until - now

    def fail(self, key: Hashable, now: float) -> None:
        times = self._failures.pop(key, None) or deque()
        self._failures[key] = times  # re-inserted: dict order is recency order
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            self._until[key] = now + self.pause
            times.clear()
        # bounded memory under a spray of addresses or names
        while len(self._failures) > _MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))
        while len(self._until) > _MAX_TRACKED:
            self._until.pop(next(iter(self._until)))


class Throttle:
    """At most ``limit`` failures per (address, user) in ``window`` seconds, then a pause."""

    def __init__(self, *, limit: int = 10, window: float = 60.0, pause: float = 60.0,
                 address_limit: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._pairs = _Lockouts(limit, window, pause)
        self._addresses = _Lockouts(address_limit or 10 * limit, window, pause)
        self._lock = threading.Lock()

    def wait_for(self, addr: str, user: str | None) -> int | None:
        """Whole seconds ``user`` must still wait at ``addr``, or None when it may try."""
        now = self.clock()
        with self._lock:
            wait = max(self._pairs.wait((addr, user), now), self._addresses.wait(addr, now))
        # rounded up, but not for the float noise of clock arithmetic (30.0000002 s is 30)
        return max(1, int(wait + 0.999)) if wait > 0 else None

    def failed(self, addr: str, user: str | None) -> None:
        """Count one failed attempt (a guess) by ``user`` (None: no name given) at ``addr``."""
        now = self.clock()
        with self._lock:
            self._pairs.fail((addr, user), now)
            self._addresses.fail(addr, now)
