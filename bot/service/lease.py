"""Keep a database lease alive and tell the service when this instance gains or loses it.

With one instance the lease is simply always held. With several instances on one PostgreSQL
database exactly one holds the ``primary`` lease and runs the engine, the realtime client and the
scheduler; the others store what they receive, and the holder processes it. When the holder dies
its lease expires after ``ttl`` and another instance takes over within ``ttl + interval``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from rules.clock import Clock, SystemClock
from rules.store import Database
from rules.store import leases as lease_store

log = logging.getLogger(__name__)

PRIMARY = "primary"


def instance_name() -> str:
    """Unique per process, readable in the leases table: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    """Takes and renews one lease; ``step()`` does one round (tests call it directly)."""

    def __init__(
        self,
        db: Database,
        *,
        name: str = PRIMARY,
        holder: str | None = None,
        ttl: float = 10.0,
        clock: Clock | None = None,
        on_acquired: Callable[[int], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.name = name
        self.holder = holder or instance_name()
        self.ttl = timedelta(seconds=ttl)
        self.clock = clock or SystemClock()
        self.on_acquired = on_acquired or (lambda epoch: None)
        self.on_lost = on_lost or (lambda: None)
        self.epoch: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self.epoch is not None

    def step(self) -> bool:
        """Try to take or renew the lease once; fire the callbacks on a change."""
        try:
            with self.db.begin() as conn:
                state = lease_store.try_acquire(
                    conn, self.name, self.holder, self.clock.now(), self.ttl
                )
        except Exception:
            # A database hiccup must not be mistaken for a lost lease until it really expires.
            # The fence (checked in every engine transaction) keeps work safe meanwhile.
            log.exception("lease %s: renewal failed", self.name)
            return self.held
        if state is not None and self.epoch != state.epoch:
            if self.epoch is not None:
                self.on_lost()
            self.epoch = state.epoch
            log.info("lease %s taken by %s (epoch %d)", self.name, self.holder, state.epoch)
            self.on_acquired(state.epoch)
        elif state is None and self.epoch is not None:
            log.warning("lease %s lost by %s", self.name, self.holder)
            self.epoch = None
            self.on_lost()
        return self.held

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self.ttl.total_seconds() / 3
        while not self._stop.is_set():
            self.step()
            self._stop.wait(interval)

    def stop(self, *, release: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if release and self.epoch is not None:
            with self.db.begin() as conn:
                lease_store.release(conn, self.name, self.holder)
            self.epoch = None
