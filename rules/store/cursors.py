"""The realtime client's cursors: the last message seen per room, for back-fill after a drop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from rules.clock import aware
from rules.store.tables.realtime import realtime_cursors


@dataclass(frozen=True)
class Cursor:
    room_id: str
    last_ts: datetime
    last_message_id: str | None
    room_type: str | None


def load_cursors(conn: Connection) -> list[Cursor]:
    return [Cursor(row.room_id, aware(row.last_ts), row.last_message_id, row.room_type)
            for row in conn.execute(select(realtime_cursors))]


def save_cursors(conn: Connection, cursors: Mapping[str, Cursor], now: datetime) -> None:
    """Insert or update one row per room."""
    for room, cursor in cursors.items():
        values = {"last_ts": cursor.last_ts, "last_message_id": cursor.last_message_id,
                  "room_type": cursor.room_type, "updated_at": now}
        done = conn.execute(update(realtime_cursors)
                            .where(realtime_cursors.c.room_id == room).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(realtime_cursors).values(room_id=room, **values))
