"""Keep a database lease alive and tell the service when this instance gains or loses it.

With one instance the lease is simply always held. With several instances on one PostgreSQL
database exactly one holds the ``primary`` lease and runs the engine, the realtime client and the
scheduler; the others store what they receive, and the holder processes it. When the holder dies
its lease expires after ``ttl`` and another instance takes over within ``ttl + interval``.

Every instance answers webhooks and stores what it receives; the holder also runs the
scheduler (ticks, timer commands, ``process_pending`` for what the others stored) and the
sender loop. Decisions:

* SQLite is one file on one host, so it never takes part: the single instance leads at once.
  PostgreSQL takes part unless ``[database] single_instance = true`` (then nothing changes
  from the one-instance behaviour, and running two instances is the operator's mistake).
* The fence is strict: inside every engine transaction the lease row is read ``FOR SHARE``.
  A new holder's take-over (an UPDATE of that row) therefore waits for an engine transaction
  of the old holder that is still running, and the old holder's next transaction sees the new
  epoch and stores without processing. Engine work for a window never runs on two instances
  at once, even when the old holder only stalled (GC pause, SIGSTOP) instead of dying.
* ``lease_ttl`` (default 10 s) bounds take-over: renewals run every ttl/3, so a dead holder
  is replaced within ttl + ttl/3.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection

from bot.config import Settings
from rules.clock import Clock, SystemClock
from rules.store import Database
from rules.store import leases as lease_store
from rules.store import outbox as outbox_store

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

def uses_lease(settings: Settings, db: Database) -> bool:
    """True when this instance must win the lease before it runs the engine."""
    return db.dialect == "postgresql" and not settings.database.single_instance


def make_keeper(db: Database, settings: Settings, clock: Clock, *,
                on_acquired: Callable[[int], None],
                on_lost: Callable[[], None]) -> LeaseKeeper:
    return LeaseKeeper(db, name=PRIMARY, ttl=float(settings.database.lease_ttl), clock=clock,
                       on_acquired=on_acquired, on_lost=on_lost)


def fence_for(keeper: LeaseKeeper) -> Callable[[Connection], bool]:
    """The check ``Ingestor.fence`` runs inside each engine transaction."""

    def fence(conn: Connection) -> bool:
        epoch = keeper.epoch
        if epoch is None:
            return False
        # FOR SHARE, held until this transaction ends: a take-over waits for it (see above).
        held = lease_store.still_held(conn, keeper.name, keeper.holder, epoch, share_lock=True)
        if not held:
            log.warning("lease: fence failed (epoch %d is no longer ours); storing only", epoch)
        return held

    return fence


def release_orphan_claims(db: Database, sender_instance: str) -> int:
    """Put back outbox rows left ``sending`` by a sender that is gone; returns how many.

    Only the engine runner sends, so when this instance starts to lead, any claim that is not
    its own belongs to a process that was killed mid-send (or to a holder that lost the lease
    and is exiting). Without this the row, and every later row of its alert (which must go out
    after it), would wait for the sender's stale-claim timeout (minutes). Sending it again is
    safe for Rocket.Chat: the message ``_id`` is derived from the row id, so a resend of a
    message that did arrive is a no-op; an ``http`` endpoint may see it twice (at least once).
    """
    with db.begin() as conn:
        released = outbox_store.release_claims_not_of(conn, sender_instance)
    if released:
        log.info("outbox: %d notification(s) claimed by a stopped sender go out again", released)
    return int(released or 0)
