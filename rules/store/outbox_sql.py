"""The sender's SQL, built once, the functions that run it, and the light (not fsync'd)
transaction its bookkeeping uses.

Claims (of due rows found by a query, or of rows just written and handed over in memory),
releases (one round's, or stale ones), outcomes, attempts, the next due time and an
operator's retry: :mod:`rules.outbox.delivery` calls the functions at the end of this module
(:func:`due_rows`, :func:`claim`, :func:`claim_handed`, :func:`release`, :func:`record`, ...)
and never runs a statement itself.

SQLAlchemy compiles each statement once per dialect and caches it, so building them at import
keeps the delivery path to parameter binding. The functions look the statements up as
module attributes when they run (``RELEASE``), which is also what a test patches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    update,
)

from rules.clock import aware
from rules.store import Database
from rules.store.db import Prepared
from rules.store.tables.engine import outbox, outbox_attempts


def _time(name: str) -> Any:
    return bindparam(name, type_=outbox.c.next_attempt_at.type)


_earlier = outbox.alias("earlier")
# An earlier row of the same alert and endpoint that is active and not due with this one.
# ``alert_id + 0``: the lookup goes through the status index (the few active rows), not the
# alert's index, which holds every row the alert ever had (thousands for a long-open alert
# that replies to each message: a scan of them per row claimed grew with the history).
_HELD = exists().where(
    _earlier.c.alert_id + 0 == outbox.c.alert_id, _earlier.c.endpoint == outbox.c.endpoint,
    _earlier.c.id < outbox.c.id,
    or_(_earlier.c.status == "sending",
        and_(_earlier.c.status == "pending", _earlier.c.next_attempt_at > _time("now"))),
).correlate(outbox)
_IDS: Any = bindparam("ids", expanding=True)

# the due rows, each flagged ``held`` when an earlier row of its alert must go first
DUE = (select(outbox.c.id, outbox.c.alert_id, outbox.c.endpoint, _HELD.label("held"))
       .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= _time("now"))
       .order_by(outbox.c.id).limit(bindparam("limit")))
# conditional, so two senders never both get a row
CLAIM = (update(outbox).where(outbox.c.id.in_(_IDS), outbox.c.status == "pending")
         .values(status="sending", claimed_by=bindparam("me"), claimed_at=_time("at")))
CLAIM_RETURNING = CLAIM.returning(*outbox.c)
_other = outbox.alias("other")
# Rows handed over in memory right after their commit (no due query): claimed when due and
# when no earlier active row of their alert is outside the hand-over (that one goes first).
# Earlier rows inside it are not looked at here: the sender keeps their order itself.
CLAIM_HANDED = (
    update(outbox)
    .where(outbox.c.id.in_(_IDS), outbox.c.status == "pending",
           outbox.c.next_attempt_at <= _time("at"),
           ~exists().where(_other.c.alert_id + 0 == outbox.c.alert_id,
                           _other.c.endpoint == outbox.c.endpoint, _other.c.id < outbox.c.id,
                           _other.c.status.in_(("pending", "sending")),
                           _other.c.id.not_in(_IDS)).correlate(outbox))
    .values(status="sending", claimed_by=bindparam("me"), claimed_at=_time("at")))
CLAIM_HANDED_RETURNING = CLAIM_HANDED.returning(outbox.c.id, outbox.c.attempts)
# the same for one row (the usual case: one message, one reply), compiled once and run on
# the DBAPI cursor: no per-call rendering of an expanding IN
_PENDING: Any = literal_column("'pending'")  # literals: a prepared statement binds only keys
_SENDING: Any = literal_column("'sending'")
CLAIM_ONE = Prepared(
    update(outbox)
    .where(outbox.c.id == bindparam("oid"), outbox.c.status == _PENDING,
           outbox.c.next_attempt_at <= _time("at"),
           ~exists().where(_other.c.alert_id + literal_column("0") == outbox.c.alert_id,
                           _other.c.endpoint == outbox.c.endpoint, _other.c.id < outbox.c.id,
                           or_(_other.c.status == _PENDING, _other.c.status == _SENDING))
           .correlate(outbox))
    .values(status=_SENDING, claimed_by=bindparam("me"), claimed_at=_time("at"))
    .returning(outbox.c.id, outbox.c.attempts), ("oid", "at", "me"))
# when the next pending row comes due (a retry, a delayed open): the sender sleeps until then
NEXT_DUE = select(func.min(outbox.c.next_attempt_at)).where(outbox.c.status == "pending")
# what a claim got, where the dialect has no UPDATE ... RETURNING (an old SQLite)
CLAIMED = select(outbox).where(outbox.c.id.in_(_IDS), outbox.c.status == "sending",
                               outbox.c.claimed_by == bindparam("me"),
                               outbox.c.claimed_at == _time("at"))
RELEASE = (update(outbox).where(outbox.c.id.in_(_IDS), outbox.c.status == "sending",
                                outbox.c.claimed_by == bindparam("me"))
           .values(status="pending", claimed_by=None))
# one outcome; only a row this instance still holds changes; a NULL detail, delivery time or
# next attempt keeps the row's value (an outcome does not set those)
FINISH = Prepared(
    update(outbox).where(outbox.c.id == bindparam("oid"), outbox.c.status == _SENDING,
                         outbox.c.claimed_by == bindparam("me"))
    .values(status=bindparam("new_status"), claimed_by=null(), attempts=bindparam("n"),
            last_error=bindparam("err"), last_status_code=bindparam("code"),
            delivered_at=func.coalesce(_time("done_at"), outbox.c.delivered_at),
            detail=func.coalesce(bindparam("det", type_=outbox.c.detail.type),
                                 outbox.c.detail),
            next_attempt_at=func.coalesce(_time("next_at"), outbox.c.next_attempt_at)),
    ("oid", "me", "new_status", "n", "err", "code", "done_at", "det", "next_at"))
INSERT_ATTEMPT = Prepared(insert(outbox_attempts), (
    "outbox_id", "at", "outcome", "status_code", "error", "duration_ms"))
# claims older than ``before`` belonged to a sender that died mid-send: pending again
RELEASE_STALE = (update(outbox).where(outbox.c.status == "sending",
                                      outbox.c.claimed_at < _time("before"))
                 .values(status="pending", claimed_by=None))
# an operator's retry: a failed (or backing-off) row is due ``now`` with fresh attempts
RETRY = (update(outbox).where(outbox.c.id == bindparam("oid"),
                              outbox.c.status.in_(("failed", "pending")))
         .values(status="pending", attempts=0, next_attempt_at=_time("now")))


@contextlib.contextmanager
def light_transaction(db: Database) -> Iterator[Connection]:
    """A transaction of the sender's own bookkeeping (claims, outcomes), not fsync'd on SQLite
    (:meth:`rules.store.db.Database.begin_light`).

    Why: the claim's commit sits between a user's message and the bot's reply, and with
    ``synchronous = FULL`` its fsync was the slowest step at p99. Losing the claim or the
    outcome costs nothing that matters: in WAL mode NORMAL survives a crash of the process,
    a power cut loses at most the last such commits (never a notification, which is written
    in the command's transaction; the next FULL commit syncs these too), and the row is then
    sent again, a no-op in Rocket.Chat (stable ``_id``).
    """
    with db.begin_light() as conn:
        yield conn


# -- what the sender runs ------------------------------------------------------------------


def due_rows(db: Database, now: datetime, limit: int) -> list[Any]:
    """Up to ``limit`` due rows in id order (id, alert_id, endpoint, ``held``)."""
    with db.connect() as conn:
        return list(conn.execute(DUE, {"now": now, "limit": limit}))


def claim(db: Database, ids: list[int], me: str, at: datetime) -> list[Any]:
    """Claim for ``me`` the rows still pending among ``ids``; the claimed rows in id order."""
    params = {"ids": ids, "me": me, "at": at}
    with light_transaction(db) as conn:
        if conn.dialect.update_returning:
            rows = list(conn.execute(CLAIM_RETURNING, params))
        else:  # an old SQLite: claim, then read what this claim got
            conn.execute(CLAIM, params)
            rows = list(conn.execute(CLAIMED, params))
    return sorted(rows, key=lambda row: int(row.id))


def claim_handed(db: Database, ids: list[int], me: str,
                 at: datetime) -> dict[int, int] | list[Any]:
    """Claim for ``me`` the handed rows among ``ids`` that are due and not held behind an
    earlier active row of their alert outside ``ids``.

    Returns the attempts so far of each claimed id (the caller has the rest of the row: it
    just wrote it), or, on a dialect without ``UPDATE ... RETURNING`` (an old SQLite), the
    claimed rows read back, in id order.
    """
    params = {"ids": ids, "me": me, "at": at}
    with light_transaction(db) as conn:
        if not conn.dialect.update_returning:
            conn.execute(CLAIM_HANDED, params)
            return sorted(conn.execute(CLAIMED, params), key=lambda r: int(r.id))
        if len(ids) == 1:
            got = CLAIM_ONE.run(conn, {"oid": ids[0], "at": at, "me": me}).fetchall()
        else:
            got = list(conn.execute(CLAIM_HANDED_RETURNING, params))
    return {int(row[0]): int(row[1]) for row in got}


def release(db: Database, ids: Sequence[int], me: str) -> None:
    """Put ``me``'s claims on ``ids`` back to pending (a round that did not finish them)."""
    with db.begin() as conn:
        conn.execute(RELEASE, {"ids": sorted(ids), "me": me})


def release_stale(db: Database, before: datetime) -> None:
    """Claims older than ``before`` (of a sender that died mid-send) back to pending."""
    with db.begin() as conn:
        conn.execute(RELEASE_STALE, {"before": before})


def record(db: Database, finished: list[dict[str, Any]], attempts: list[dict[str, Any]]
           ) -> None:
    """A round's outcomes (:data:`FINISH` parameters) and attempts, in one light
    transaction."""
    with light_transaction(db) as conn:
        FINISH.run_many(conn, finished)
        INSERT_ATTEMPT.run_many(conn, attempts)


def next_due(db: Database) -> datetime | None:
    """When the earliest pending row comes due; None when no row is pending."""
    with db.connect() as conn:
        return aware(conn.execute(NEXT_DUE).scalar())


def retry(db: Database, outbox_id: int, now: datetime) -> bool:
    """An operator's retry: the failed (or backing-off) row is due ``now`` with fresh
    attempts; False when no such row is failed or pending."""
    with db.begin() as conn:
        return bool(conn.execute(RETRY, {"oid": outbox_id, "now": now}).rowcount)
