"""The sender's SQL, built once, and the light (not fsync'd) transaction its bookkeeping uses.

Claims (of due rows found by a query, or of rows just written and handed over in memory),
releases (one round's, or stale ones), outcomes, attempts, the next due time and an
operator's retry.

SQLAlchemy compiles each statement once per dialect and caches it, so building them at import
keeps the delivery path to parameter binding. :mod:`rules.outbox.delivery` looks them up as
attributes of this module (``sql.RELEASE``), which is also what a test patches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
