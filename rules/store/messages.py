"""Message records and the once-only keys of Rocket.Chat messages."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, desc, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from rules.clock import aware
from rules.command import MessageCommand, Severity
from rules.expr import wildcard
from rules.store.db import Prepared, PreparedInsert
from rules.store.hot_rows import hot_row, json_text
from rules.store.tables import base as schema

# Statements built once, and the two on every inbound message with a once-only key (insert
# it, claim the key for it: insert_keyed_message) compiled once and run on the DBAPI cursor:
# SQLAlchemy's execute path cost about 90 us per statement on SQLite, more than SQLite itself
# (bench/webhook.py). The message row binds as the engine's hot rows do (rules.store.hot_rows):
# its tags serialized here, its times converted once per instant (a request's messages share
# received_at).
_MESSAGE_KEYS = ("received_at", "date", "entity", "type", "source", "severity", "message",
                 "tags", "path", "processed")
_INSERT_MESSAGE = PreparedInsert(hot_row(schema.messages), _MESSAGE_KEYS)
_INSERT_KEY = insert(schema.processed_keys)
_DELETE_MESSAGE = Prepared(schema.messages.delete()
                           .where(schema.messages.c.id == bindparam("m")), ("m",))


def insert_message(
    conn: Connection, command: MessageCommand, *, path: str, received_at: datetime,
    processed: bool = False,
) -> int:
    return _INSERT_MESSAGE.run(conn, _message_values(command, path, received_at, processed))


def insert_keyed_message(
    conn: Connection, command: MessageCommand, key: str, *, path: str, received_at: datetime,
    processed: bool = False,
) -> int | None:
    """Store ``command`` and claim the once-only ``key`` for it; None, storing nothing, when
    ``key`` was claimed before (a duplicate).

    Two statements where claiming first took three (claim, insert, then set the claim's
    message id): the message is inserted first and the key claimed with its id. A duplicate
    then removes its row again in the same transaction, so nobody ever sees it; duplicates
    are the rare case (a re-delivered webhook), and they cost one statement more than before.
    """
    message_id = insert_message(conn, command, path=path, received_at=received_at,
                                processed=processed)
    if not claim_key(conn, key, path=path, now=received_at, message_id=message_id):
        _DELETE_MESSAGE.run(conn, {"m": message_id})
        return None
    return message_id


def _message_values(command: MessageCommand, path: str, received_at: datetime,
                    processed: bool) -> dict[str, Any]:
    return {
        "received_at": received_at,
        "date": command.date,
        "entity": command.entity,
        "type": command.type,
        "source": command.source,
        "severity": int(command.severity) if command.severity is not None else None,
        "message": command.message,
        "tags": json_text(command.tags),
        "path": path,
        "processed": processed,
    }


def row_to_command(row: Any) -> MessageCommand:
    return MessageCommand(
        entity=row.entity,
        type=row.type,
        source=row.source,
        severity=Severity(row.severity) if row.severity is not None else None,
        date=aware(row.date),
        message=row.message,
        tags=dict(row.tags or {}),
    )


def get_message(conn: Connection, message_id: int) -> MessageCommand | None:
    row = conn.execute(select(schema.messages).where(schema.messages.c.id == message_id)).first()
    return row_to_command(row) if row is not None else None


def claim_key(conn: Connection, key: str, *, path: str, now: datetime,
              message_id: int | None = None) -> bool:
    """Record a once-only key (for the stored message ``message_id``, if any); False when it
    was already recorded (a duplicate).

    ``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL: a duplicate does not
    spoil the caller's transaction and costs no savepoint. Other dialects use a savepoint.
    """
    values = {"key": key, "path": path, "first_seen_at": now, "message_id": message_id}
    if conn.dialect.name in _CLAIM_KEY:
        return _claimed(conn, values)
    try:
        with conn.begin_nested():
            conn.execute(_INSERT_KEY, values)
    except IntegrityError:
        return False
    return True


def _claimed(conn: Connection, values: dict[str, Any]) -> bool:
    """Run the dialect's one-statement claim (``_CLAIM_KEY``): whether it inserted the key."""
    if conn.dialect.name == "sqlite":
        # SQLite's count of changed rows (exact for a plain INSERT) instead of RETURNING:
        # reading a RETURNING row steps the statement once more (SQLite's work, and one
        # more release of the interpreter lock)
        return int(_CLAIM_KEY["sqlite"].run(conn, values).rowcount) == 1
    # PostgreSQL: RETURNING rather than rowcount, on which drivers disagree with RETURNING
    return _CLAIM_KEY[conn.dialect.name].run(conn, values).fetchone() is not None


# the claim with the key's message id (None for a chat command's claim, which stores none)
_KEY_KEYS = ("key", "path", "first_seen_at", "message_id")
_CLAIM_KEY: dict[str, Prepared] = {
    "postgresql": Prepared(postgresql_insert(schema.processed_keys)
                           .on_conflict_do_nothing(index_elements=["key"])
                           .returning(schema.processed_keys.c.key), _KEY_KEYS),
}
if sqlite3.sqlite_version_info >= (3, 24):  # ON CONFLICT; older SQLite takes the savepoint path
    _CLAIM_KEY["sqlite"] = Prepared(sqlite_insert(schema.processed_keys)
                                    .on_conflict_do_nothing(index_elements=["key"]), _KEY_KEYS)


def key_message_id(conn: Connection, key: str) -> int | None:
    row = conn.execute(
        select(schema.processed_keys.c.message_id).where(schema.processed_keys.c.key == key)
    ).first()
    return int(row.message_id) if row is not None and row.message_id is not None else None


def has_unprocessed(conn: Connection) -> bool:
    """Whether any stored command still waits for the engine."""
    table = schema.messages
    return conn.execute(
        select(table.c.id).where(table.c.processed.is_(False)).limit(1)).first() is not None


def unprocessed_ids(conn: Connection, limit: int) -> list[int]:
    """The oldest stored commands that still wait for the engine, in id order."""
    table = schema.messages
    return [int(row.id) for row in conn.execute(
        select(table.c.id).where(table.c.processed.is_(False)).order_by(table.c.id).limit(limit))]


def mark_processed(conn: Connection, message_id: int, *, claim: bool = True) -> bool:
    """Mark a stored command processed; with ``claim`` only if it was not (a conditional
    ``UPDATE``, so two instances never process the same row). True when this call did it."""
    table = schema.messages
    where = [table.c.id == message_id]
    if claim:
        where.append(table.c.processed.is_(False))
    return bool(conn.execute(update(table).where(*where).values(processed=True)).rowcount)


def messages_since(conn: Connection, since: datetime, limit: int = 0) -> list[MessageCommand]:
    """Stored commands dated ``since`` or later, oldest first (at most ``limit`` if > 0)."""
    table = schema.messages
    query = select(table).where(table.c.date >= since).order_by(table.c.date, table.c.id)
    if limit > 0:
        query = query.limit(limit)
    return [row_to_command(row) for row in conn.execute(query)]


def last_received_by_path(conn: Connection) -> dict[str, datetime]:
    """When the newest command of each inbound path arrived."""
    table = schema.messages
    return {str(path): aware(when) for path, when in conn.execute(
        select(table.c.path, func.max(table.c.received_at)).group_by(table.c.path))}




# -- queries (the data API) ----------------------------------------------------------------


@dataclass(frozen=True)
class MessageFilter:
    """What ``/api/v1/messages/query`` selects. Names lower-case; ``end`` is exclusive.

    ``entities`` are names or ``*``/``?`` patterns. ``tags`` values may be patterns too.
    ``predicate`` (e.g. a compiled ``expression``) runs in Python after the SQL filters.
    ``limit <= 0`` means no limit.
    """

    entities: tuple[str, ...]
    start: datetime
    end: datetime
    type: str | None = None
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    severities: frozenset[int] | None = None
    min_severity: int | None = None
    limit: int = 1000
    predicate: Callable[[MessageCommand], bool] | None = None


def query_messages(conn: Connection, flt: MessageFilter) -> list[MessageCommand]:
    """Matching messages, newest first (then the last stored first)."""
    table = schema.messages
    names = [e for e in flt.entities if not wildcard.has_wildcards(e)]
    patterns = [e for e in flt.entities if wildcard.has_wildcards(e)]
    entity_terms: list[Any] = []
    if names:
        entity_terms.append(table.c.entity.in_(names))
    entity_terms += [table.c.entity.like(_like(p), escape="\\") for p in patterns]
    stmt = select(table).where(or_(*entity_terms), table.c.date >= flt.start,
                               table.c.date < flt.end)
    if flt.type is not None:
        stmt = stmt.where(table.c.type == flt.type)
    if flt.source is not None:
        stmt = stmt.where(table.c.source == flt.source)
    if flt.severities is not None:
        stmt = stmt.where(table.c.severity.in_(sorted(flt.severities)))
    if flt.min_severity is not None:
        stmt = stmt.where(table.c.severity >= flt.min_severity)
    stmt = stmt.order_by(desc(table.c.date), desc(table.c.id))
    in_python = bool(flt.tags) or flt.predicate is not None
    if flt.limit > 0 and not in_python:
        stmt = stmt.limit(flt.limit)
    found: list[MessageCommand] = []
    for row in conn.execution_options(yield_per=500).execute(stmt):
        command = row_to_command(row)
        if in_python and not _matches(command, flt):
            continue
        found.append(command)
        if 0 < flt.limit <= len(found):
            break
    return found


def _matches(command: MessageCommand, flt: MessageFilter) -> bool:
    for name, pattern in flt.tags.items():
        value = command.tags.get(name)
        if value is None or not wildcard.match(pattern, value):
            return False
    return flt.predicate is None or flt.predicate(command)


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")
