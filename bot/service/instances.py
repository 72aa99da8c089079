"""Several ``atsd-bot serve`` instances on one PostgreSQL database: who runs the engine.

Every instance answers webhooks and stores what it receives. Exactly one, the holder of the
``primary`` lease (:mod:`bot.service.lease`),
also runs the engine, the scheduler (ticks, timer commands,
outbox passes, ``process_pending`` for what the others stored) and the realtime client.

Decisions:

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
from collections.abc import Callable

from sqlalchemy import Connection, select

from bot.config.load import Settings
from bot.service.lease import PRIMARY, LeaseKeeper
from rules.clock import Clock
from rules.store import Database
from rules.store.tables import base as schema

log = logging.getLogger("atsd_bot.instances")


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
        table = schema.leases
        query = select(table.c.holder, table.c.epoch).where(table.c.name == keeper.name)
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends: a take-over waits for it (see above).
            query = query.with_for_update(read=True)
        row = conn.execute(query).first()
        held = row is not None and row.holder == keeper.holder and int(row.epoch) == epoch
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
    from sqlalchemy import update

    from rules.store.tables import engine as es

    with db.begin() as conn:
        released = conn.execute(
            update(es.outbox)
            .where(es.outbox.c.status == "sending", es.outbox.c.claimed_by != sender_instance)
            .values(status="pending", claimed_by=None)
        ).rowcount
    if released:
        log.info("outbox: %d notification(s) claimed by a stopped sender go out again", released)
    return int(released or 0)
