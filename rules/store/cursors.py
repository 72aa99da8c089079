"""The realtime client's cursors: the last message seen per room, for back-fill after a drop.

Also the WAL checkpoints of a process that runs the realtime client: its cursor flush, once a
second, checkpoints the WAL beside the writers, and a commit checkpoints it itself only when
the WAL has grown far past that (:func:`defer_checkpoints`, :func:`save_cursors_durably`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event, insert, select, update

from rules.clock import aware
from rules.store import Database
from rules.store.tables.realtime import realtime_cursors

# WAL pages after which a commit checkpoints the WAL itself, in a process whose cursor flush
# checkpoints it every second (SQLite's default is 1,000, about 4 MB). Why: that automatic
# checkpoint runs inside the commit that crosses the mark, holding the writer lock while it
# copies the WAL into the database and syncs both files: 5-12 ms every ~80 chat round trips
# (a message's commit, the reply's claim and outcome write ~12 pages), the slowest 1-2 % of
# replies. 10,000 pages (about 40 MB) is a bound for bursts the flush does not keep up with.
DEFERRED_CHECKPOINT_PAGES = 10_000
_DEFERRED = "atsd_checkpoint_deferred"  # connection-record flag: the threshold is set


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
    the write only), then the WAL is checkpointed (:func:`checkpoint`): SQLite syncs the WAL
    before it copies it into the database, which makes the cursors and every earlier commit
    durable, as the sync of a ``FULL`` commit would. When the checkpoint could not take the
    whole WAL (a reader still used old pages, or another process wrote), SQLite may not
    have synced, and the rows are written once more with a ``FULL`` commit. A cursor is
    therefore never durable before the commits of the messages it counts as handled.
    Other stores: one ordinary (durable) commit.
    """
    if not _wal_file(db):
        with db.begin() as conn:
            save_cursors(conn, cursors, now)
        return
    with db.begin_light() as conn:
        save_cursors(conn, cursors, now)
    if not checkpoint(db):
        with db.begin() as conn:
            save_cursors(conn, cursors, now)


def checkpoint(db: Database) -> bool:
    """Checkpoint the WAL of an SQLite file; True when every frame in it is now in the
    database (each synced first), False on another store or when some frames are left.

    First beside the writers (``PASSIVE``, outside :attr:`Database.writing`): that pass
    copies nearly everything while commits go on (10-20 ms for a second of chat round trips
    at full speed). The commits made meanwhile are then copied with the writer lock held, a
    short pass that leaves nothing behind, so that the next commit starts the WAL over.
    Without it the WAL kept growing (a pass never caught up with the commits made during
    it) until a commit checkpointed it itself at the deferred mark (:func:`defer_checkpoints`).
    """
    if not _wal_file(db):
        return False
    complete, frames = _passive_checkpoint(db)
    if frames == 0:  # an empty WAL: nothing was written since it started over
        return complete
    with db.writing:
        return _passive_checkpoint(db)[0]


def _passive_checkpoint(db: Database) -> tuple[bool, int]:
    """One ``PASSIVE`` checkpoint: (all frames copied, frames in the WAL)."""
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        # on the driver's connection: no transaction may be open around a checkpoint
        busy, frames, done = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy) == 0 and int(frames) >= 0 and int(done) == int(frames), int(frames)


def defer_checkpoints(db: Database) -> None:
    """From now on, the connections of ``db`` checkpoint the WAL at a commit only past
    :data:`DEFERRED_CHECKPOINT_PAGES` pages: for a process whose cursor flush checkpoints
    every second (:func:`save_cursors_durably`). No-op on other stores; idempotent."""
    if not _wal_file(db) or event.contains(db.engine, "checkout", _defer_on_checkout):
        return
    event.listen(db.engine, "checkout", _defer_on_checkout)


def _defer_on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    # once per connection (the setting lasts as long as it), on the first check-out after
    # defer_checkpoints: a connection already in the pool gets it too
    if not record.info.get(_DEFERRED):
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={DEFERRED_CHECKPOINT_PAGES}")
        record.info[_DEFERRED] = True


def _wal_file(db: Database) -> bool:
    """Whether ``db`` is an SQLite file (WAL mode), not an in-memory database."""
    return db.dialect == "sqlite" and (db.engine.url.database or "") not in ("", ":memory:")
