"""Message records and the once-only keys of Rocket.Chat messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from rules.command import MessageCommand, Severity
from rules.store import schema


def insert_message(
    conn: Connection, command: MessageCommand, *, path: str, received_at: datetime,
    processed: bool = False,
) -> int:
    result = conn.execute(
        insert(schema.messages).values(
            received_at=received_at,
            date=command.date,
            entity=command.entity,
            type=command.type,
            source=command.source,
            severity=int(command.severity) if command.severity is not None else None,
            message=command.message,
            tags=command.tags,
            path=path,
            processed=processed,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def row_to_command(row: Any) -> MessageCommand:
    return MessageCommand(
        entity=row.entity,
        type=row.type,
        source=row.source,
        severity=Severity(row.severity) if row.severity is not None else None,
        date=_aware(row.date),
        message=row.message,
        tags=dict(row.tags or {}),
    )


def get_message(conn: Connection, message_id: int) -> MessageCommand | None:
    row = conn.execute(select(schema.messages).where(schema.messages.c.id == message_id)).first()
    return row_to_command(row) if row is not None else None


def claim_key(conn: Connection, key: str, *, path: str, now: datetime) -> bool:
    """Record a once-only key; False when it was already recorded (a duplicate).

    Runs in a savepoint so that a duplicate does not spoil the caller's transaction.
    """
    try:
        with conn.begin_nested():
            conn.execute(
                insert(schema.processed_keys).values(key=key, path=path, first_seen_at=now)
            )
    except IntegrityError:
        return False
    return True


def attach_key(conn: Connection, key: str, message_id: int) -> None:
    conn.execute(
        schema.processed_keys.update()
        .where(schema.processed_keys.c.key == key)
        .values(message_id=message_id)
    )


def key_message_id(conn: Connection, key: str) -> int | None:
    row = conn.execute(
        select(schema.processed_keys.c.message_id).where(schema.processed_keys.c.key == key)
    ).first()
    return int(row.message_id) if row is not None and row.message_id is not None else None


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
