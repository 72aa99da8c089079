"""The realtime client's cursors: the last message seen per room, for back-fill after a drop.

They are made durable by the WAL checkpoint the cursor flush runs once a second
(:func:`save_cursors_durably`, :meth:`rules.store.db.Database.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from rules.clock import aware
from rules.store import Database
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


def save_cursors_durably(db: Database, cursors: Mapping[str, Cursor], now: datetime) -> None:
    """Write ``cursors`` so that they, and every commit before them, survive a power cut,
    without holding the process's other writers back while the disk syncs.

    On an SQLite file the rows are committed light (no fsync; the writer lock is held for
    the write only), then the WAL is checkpointed (:meth:`Database.checkpoint`): SQLite
    syncs the WAL before it copies it into the database, which makes the cursors and every
    earlier commit durable, as the sync of a ``FULL`` commit would. When the checkpoint
    could not take the whole WAL (a reader still used old pages, or another process wrote),
    SQLite may not have synced, and the rows are written once more with a ``FULL`` commit.
    A cursor is therefore never durable before the commits of the messages it counts as
    handled.
    Other stores: one ordinary (durable) commit.
    """
    if not db.wal_file:
        with db.begin() as conn:
            save_cursors(conn, cursors, now)
        return
    with db.begin_light() as conn:
        save_cursors(conn, cursors, now)
    if not db.checkpoint():
        with db.begin() as conn:
            save_cursors(conn, cursors, now)
