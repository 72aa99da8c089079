"""The outbox table seen from the engine and the diagnostics API: write, cancel, read, prune.

The engine calls :func:`write` inside the command's transaction, so a notification exists
exactly when the state change that caused it was committed. :func:`recent` and
:func:`attempts` feed the notification log; :func:`prune` is the daily clean-up. Delivery
(claims, outcomes) lives in :mod:`rules.outbox.delivery`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from rules.clock import aware
from rules.command import format_iso_date
from rules.notification import Notification
from rules.store import Database
from rules.store.db import PreparedInsert
from rules.store.hot_rows import hot_row, json_text
from rules.store.tables.engine import outbox, outbox_attempts

ACTIVE = ("pending", "sending")
FINISHED = ("delivered", "cancelled", "silenced", "response")
# The outbox row as its hot INSERT binds it (rules.store.hot_rows.hot_row): the target
# serialized by write (json_text), the times converted once per instant (a command's row
# repeats its now three times).
_ROW = hot_row(outbox)
# Compiled once and run on the DBAPI cursor (rules.store.db.PreparedInsert): one row per
# notification on the hot path, where SQLAlchemy's execute path cost more than SQLite.
_INSERT = PreparedInsert(_ROW, (
    "created_at", "due_at", "next_attempt_at", "rule", "endpoint", "trigger", "alert_id",
    "text", "target", "status", "attempts", "delivered_at", "silence_id"))


def write(conn: Connection, note: Notification, *, status: str, now: datetime,
          silence_id: int | None = None) -> int:
    """Store one notification; sets and returns ``note.id``. A ``silenced`` row names the
    silence that held it."""
    due = note.due_at or now
    note.id = _INSERT.run(conn, {
        "created_at": now, "due_at": due, "next_attempt_at": due, "rule": note.rule,
        "endpoint": note.endpoint, "trigger": note.trigger, "alert_id": note.alert_id,
        "text": note.text, "target": json_text(note.target) if note.target else "{}",
        "status": status, "attempts": 0,
        "delivered_at": now if status == "response" else None, "silence_id": silence_id,
    })
    return note.id


def cancel_held(conn: Connection, outbox_id: int, now: datetime) -> bool:
    """Cancel a delayed open that is not yet due; False when it is already being sent."""
    return bool(conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == "pending", outbox.c.due_at > now)
        .values(status="cancelled", detail="window cancelled within the open delay")
    ).rowcount)


def row_to_notification(row: Any) -> Notification:
    """The :class:`Notification` an outbox row stands for (its id is the row id)."""
    return Notification(rule=row.rule, endpoint=row.endpoint, trigger=row.trigger,
                        text=row.text, alert_id=row.alert_id, target=dict(row.target or {}),
                        due_at=aware(row.due_at), id=int(row.id))


def recent(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The notification log, newest first: each row with its status and last error."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if limit > 0:
        query = query.limit(limit)
    return [_describe(row) for row in conn.execute(query)]


def _iso(value: datetime | None) -> str | None:
    value = aware(value)
    return format_iso_date(value) if value is not None else None


def _describe(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id), "created": _iso(row.created_at), "due": _iso(row.due_at),
        "rule": row.rule, "endpoint": row.endpoint, "trigger": row.trigger,
        "alert_id": row.alert_id, "text": row.text, "target": row.target,
        "status": row.status, "attempts": int(row.attempts), "last_error": row.last_error,
        "last_status_code": row.last_status_code, "next_attempt": _iso(row.next_attempt_at),
        "delivered": _iso(row.delivered_at), "detail": row.detail,
        **({"silence_id": int(row.silence_id)} if row.silence_id is not None else {}),
    }


def attempts(conn: Connection, outbox_id: int) -> list[dict[str, Any]]:
    """Every delivery attempt of one row, oldest first."""
    rows = conn.execute(select(outbox_attempts).where(outbox_attempts.c.outbox_id == outbox_id)
                        .order_by(outbox_attempts.c.id))
    return [{"at": format_iso_date(aware(r.at) or r.at), "outcome": r.outcome,
             "status_code": r.status_code, "error": r.error, "duration_ms": r.duration_ms}
            for r in rows]


def prune(db: Database, before: datetime) -> int:
    """Delete finished rows (and their attempts) created before ``before``; failed and
    pending rows stay. Returns how many rows went. For a daily job of the service."""
    with db.begin() as conn:
        old = select(outbox.c.id).where(outbox.c.status.in_(FINISHED),
                                        outbox.c.created_at < before)
        conn.execute(delete(outbox_attempts).where(outbox_attempts.c.outbox_id.in_(old)))
        return int(conn.execute(delete(outbox).where(outbox.c.status.in_(FINISHED),
                                                     outbox.c.created_at < before)).rowcount)


def release_claims_not_of(conn: Connection, instance: str) -> int:
    """Put rows left ``sending`` by any other sender back to ``pending``; returns how many."""
    return int(conn.execute(
        update(outbox).where(outbox.c.status == "sending", outbox.c.claimed_by != instance)
        .values(status="pending", claimed_by=None)).rowcount or 0)

