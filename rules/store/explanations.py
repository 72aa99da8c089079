"""The explanations table (what the engine did with each stored message) and what ``why`` reads
besides it: the message, its outbox rows, and the asker's previous message in a room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rules.clock import aware
from rules.command import MessageCommand
from rules.store.db import Prepared
from rules.store.hot_rows import hot_row, json_text
from rules.store.messages import row_to_command
from rules.store.tables import base as schema
from rules.store.tables.conversation import explanations, rule_filters
from rules.store.tables.engine import outbox

# one row per processed message on the hot path: compiled once, run on the DBAPI cursor, its
# steps serialized here and bound as text (rules.store.hot_rows)
_INSERT = Prepared(insert(hot_row(explanations)), ("message_id", "steps"))
_UPSERT: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
SCAN = 2000  # stored messages looked at, at most, for "the asker's previous message"


@dataclass(frozen=True)
class StoredMessage:
    id: int
    command: MessageCommand
    path: str
    received_at: datetime
    processed: bool


def record(conn: Connection, message_id: int, found: list[dict[str, Any]]) -> None:
    """Keep what the engine did with stored message ``message_id`` (in its transaction)."""
    _INSERT.run(conn, {"message_id": message_id, "steps": json_text(found)})


def keep_filters(conn: Connection, key: str, text: str, now: datetime) -> None:
    """Keep the rules' filters under ``key`` (once: a key already kept is left alone, also
    when two instances load the same rules at the same moment)."""
    values = {"key": key, "text": text, "first_seen_at": now}
    if conn.dialect.name in _UPSERT:
        conn.execute(_UPSERT[conn.dialect.name](rule_filters).values(**values)
                     .on_conflict_do_nothing())
        return
    found = conn.execute(select(rule_filters.c.key).where(rule_filters.c.key == key)).first()
    if found is None:
        conn.execute(insert(rule_filters).values(**values))


def filters(conn: Connection, key: str) -> str | None:
    found = conn.execute(select(rule_filters.c.text).where(rule_filters.c.key == key)).scalar()
    return str(found) if found is not None else None


def steps(conn: Connection, message_id: int) -> list[dict[str, Any]] | None:
    """The recorded steps; None when nothing was recorded (not processed yet, or before
    explanations were kept)."""
    found = conn.execute(select(explanations.c.steps)
                         .where(explanations.c.message_id == message_id)).scalar()
    return list(found) if found is not None else None


def message(conn: Connection, message_id: int) -> StoredMessage | None:
    table = schema.messages
    row = conn.execute(select(table).where(table.c.id == message_id)).first()
    if row is None:
        return None
    received = aware(row.received_at)
    assert received is not None
    return StoredMessage(int(row.id), row_to_command(row), row.path, received,
                         bool(row.processed))


def message_by_chat_id(conn: Connection, chat_id: str) -> int | None:
    """The stored message of a Rocket.Chat message id (its once-only key, first edit aside)."""
    keys = schema.processed_keys
    row = conn.execute(select(keys.c.message_id).where(keys.c.key == f"rc:{chat_id}")).first()
    return int(row.message_id) if row is not None and row.message_id is not None else None


def previous_in_room(conn: Connection, room_id: str, user_id: str | None,
                     username: str | None) -> int | None:
    """The newest stored message of this user in this room (tags ``channel_id`` and
    ``user_id`` / ``user_name``), among the last :data:`SCAN` chat messages."""
    table = schema.messages
    query = (select(table.c.id, table.c.tags).where(table.c.source == "rocket.chat")
             .order_by(desc(table.c.id)).limit(SCAN))
    for row in conn.execute(query):
        tags = row.tags or {}
        if tags.get("channel_id") != room_id:
            continue
        if (user_id and tags.get("user_id") == user_id) or (
                username and tags.get("user_name") == username):
            return int(row.id)
    return None


def outbox_rows(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The notification rows ``ids`` as they are now: status, attempts, last error, due."""
    if not ids:
        return {}
    query = select(outbox.c.id, outbox.c.endpoint, outbox.c.trigger, outbox.c.status,
                   outbox.c.attempts, outbox.c.last_error, outbox.c.due_at, outbox.c.created_at,
                   outbox.c.next_attempt_at, outbox.c.silence_id, outbox.c.detail
                   ).where(outbox.c.id.in_(list(ids)))
    return {int(row.id): dict(row._mapping) for row in conn.execute(query)}
