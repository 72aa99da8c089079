"""The cursor flush on an SQLite file: written light, made durable by a checkpoint beside the
writers (a FULL write when that checkpoint is incomplete), and the commits of a realtime
process leave the WAL checkpoints to it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.realtime.cursors import CursorBook
from rules.clock import ManualClock
from rules.store import Database
from rules.store import cursors as cursor_store
from rules.store.db import DEFERRED_CHECKPOINT_PAGES

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def file_db(tmp_path: Path) -> Any:
    database = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    database.create_schema()
    yield database
    database.dispose()


def wal_frames(db: Database) -> tuple[int, int]:
    """(frames in the WAL, frames of it already in the database), without checkpointing."""
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        _, frames, done = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames), int(done)


def test_a_flush_leaves_the_wal_checkpointed(file_db: Database) -> None:
    book = CursorBook(file_db, ManualClock(T0))
    book.load()
    book.advance("a", T0, "m1", "d")
    calls: list[bool] = []
    real = file_db.checkpoint

    def spy() -> bool:
        calls.append(done := real())
        return done

    file_db.checkpoint = spy  # type: ignore[method-assign]
    try:
        assert book.flush() == 1
    finally:
        del file_db.checkpoint  # the method again
    assert calls == [True]  # the cursor's light commit was synced and copied by it
    frames, done = wal_frames(file_db)
    assert frames == done
    again = CursorBook(file_db, ManualClock(T0))
    again.load()
    assert again.rooms() == {"a": T0}


def test_an_incomplete_checkpoint_makes_the_flush_write_with_full(
        file_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_db, "checkpoint", lambda: False)
    durable: list[bool] = []
    begin = file_db.begin

    def counted() -> Any:
        durable.append(True)
        return begin()

    monkeypatch.setattr(file_db, "begin", counted)
    book = CursorBook(file_db, ManualClock(T0))
    book.load()
    book.advance("a", T0, "m1", "d")
    assert book.flush() == 1
    assert durable == [True]  # the FULL write after the light one
    assert book.flush() == 0 and durable == [True]


def test_a_realtime_process_defers_commit_checkpoints(file_db: Database) -> None:
    def threshold() -> int:
        with file_db.engine.connect() as conn:
            return int(conn.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())

    assert threshold() == 1000  # SQLite's default until a realtime client starts
    CursorBook(file_db, ManualClock(T0)).load()
    file_db.defer_checkpoints()  # a second start changes nothing
    assert threshold() == DEFERRED_CHECKPOINT_PAGES


def test_other_stores_write_the_cursors_in_one_durable_commit() -> None:
    memory = Database("sqlite://")
    memory.create_schema()
    try:
        memory.defer_checkpoints()  # nothing to defer
        assert memory.checkpoint() is False
        cursor_store.save_cursors_durably(memory, {
            "a": cursor_store.Cursor("a", T0, "m1", "d")}, T0)
        with memory.connect() as conn:
            assert [c.room_id for c in cursor_store.load_cursors(conn)] == ["a"]
    finally:
        memory.dispose()


def test_frames_written_during_the_checkpoint_are_copied_under_the_writer_lock(
        file_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[bool] = []  # whether the writer lock was held, per pass
    lock: Any = file_db.writing

    def passive() -> tuple[bool, int]:
        passes.append(lock._is_owned())  # noqa: SLF001 - does this thread hold the RLock?
        return True, 40  # "complete", but commits went on during the pass

    monkeypatch.setattr(file_db, "_passive_checkpoint", passive)
    assert file_db.checkpoint() is True
    assert passes == [False, True]
    # an empty WAL (nothing written since it started over): no pass under the lock
    monkeypatch.setattr(file_db, "_passive_checkpoint",
                        lambda: (passes.append(lock._is_owned()), (True, 0))[1])  # noqa: SLF001
    assert file_db.checkpoint() is True
    assert passes == [False, True, False]
