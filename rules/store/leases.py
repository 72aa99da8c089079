"""Leases in the database: which instance runs the engine, the realtime client and the scheduler.

A lease is a row (name, holder, epoch, expires_at). An instance takes it when it is free or
expired and renews it well before it expires; each take bumps ``epoch``, a fencing number that
work done under the lease can be checked against, so a holder that stalled past its expiry cannot
act on stale state once another instance has taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from rules.clock import aware
from rules.store.tables import base as schema


@dataclass(frozen=True)
class LeaseState:
    name: str
    holder: str
    epoch: int
    expires_at: datetime


def try_acquire(
    conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta
) -> LeaseState | None:
    """Take or renew ``name`` for ``holder``; None when another live holder has it."""
    table = schema.leases
    row = conn.execute(select(table).where(table.c.name == name)).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(
                    name=name, holder=holder, epoch=1, expires_at=now + ttl, renewed_at=now))
        except IntegrityError:
            return None  # another instance inserted it first
        return LeaseState(name, holder, 1, now + ttl)
    epoch = int(row.epoch) if row.holder == holder else int(row.epoch) + 1
    result = conn.execute(
        update(table)
        .where(and_(
            table.c.name == name,
            table.c.epoch == row.epoch,  # nobody took it between our read and this write
            or_(table.c.holder == holder, table.c.expires_at < now),
        ))
        .values(holder=holder, epoch=epoch, expires_at=now + ttl, renewed_at=now)
    )
    if result.rowcount != 1:
        return None
    return LeaseState(name, holder, epoch, now + ttl)


def release(conn: Connection, name: str, holder: str) -> None:
    """Give the lease up at once (clean shutdown) so another instance need not wait."""
    table = schema.leases
    conn.execute(
        update(table)
        .where(and_(table.c.name == name, table.c.holder == holder))
        .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
    )


def current(conn: Connection, name: str) -> LeaseState | None:
    row = conn.execute(select(schema.leases).where(schema.leases.c.name == name)).first()
    if row is None:
        return None
    return LeaseState(row.name, row.holder, int(row.epoch), aware(row.expires_at))


def still_held(conn: Connection, name: str, holder: str, epoch: int, *,
               share_lock: bool = False) -> bool:
    """Fencing check to run inside a transaction that acts under the lease.

    With ``share_lock`` on PostgreSQL the row is read ``FOR SHARE``: held until the transaction
    ends, so a take-over (an ``UPDATE`` of the row) waits for it.
    """
    table = schema.leases
    query = select(table.c.holder, table.c.epoch).where(table.c.name == name)
    if share_lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = conn.execute(query).first()
    return row is not None and row.holder == holder and int(row.epoch) == epoch

