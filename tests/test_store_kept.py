"""``Database.begin_kept``: the ingestor's transactions on a connection kept between calls."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, select

import rules.store.db as store_db
from rules.store import Database
from rules.store import messages as message_store
from rules.store.tables import base as schema

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def keys(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.processed_keys))
                   .scalar_one())


def driver(conn: Connection) -> object:
    return conn.connection.driver_connection


def test_the_connection_is_kept_and_each_transaction_commits(db: Database) -> None:
    seen = []
    for i in range(3):
        with db.begin_kept() as conn:
            assert message_store.claim_key(conn, f"k{i}", path="webhook", now=NOW)
            seen.append(driver(conn))
    assert seen[0] is seen[1] is seen[2]
    assert keys(db) == 3


def test_a_failed_transaction_rolls_back_and_the_next_gets_a_fresh_connection(
        db: Database) -> None:
    with db.begin_kept() as conn:
        first = conn
    with pytest.raises(RuntimeError), db.begin_kept() as conn:
        message_store.claim_key(conn, "gone", path="webhook", now=NOW)
        raise RuntimeError("boom")
    assert keys(db) == 0
    with db.begin_kept() as conn:
        assert conn is not first
        assert message_store.claim_key(conn, "gone", path="webhook", now=NOW)
    assert keys(db) == 1


def test_a_call_while_it_is_in_use_gets_a_pooled_connection(sqlite_db: Database) -> None:
    with sqlite_db.begin_kept() as conn:
        kept = driver(conn)
    # another thread is in a kept transaction
    with sqlite_db._kept_lock, sqlite_db.begin_kept() as conn:
        assert driver(conn) is not kept
        message_store.claim_key(conn, "pooled", path="webhook", now=NOW)
    with sqlite_db.begin_kept() as conn:
        assert driver(conn) is kept
    assert keys(sqlite_db) == 1


def test_an_idle_kept_connection_goes_back_to_the_pool(sqlite_db: Database,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with sqlite_db.begin_kept() as conn:
        first = conn
    monkeypatch.setattr(store_db, "KEPT_IDLE_SECONDS", -1.0)
    with sqlite_db.begin_kept() as conn:
        assert conn is not first and first.closed
    sqlite_db.dispose()
    assert conn.closed
