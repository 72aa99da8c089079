"""The request and incident logs on every store, and the batching request-log writer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rules.clock import ManualClock
from rules.store import Database
from rules.store import diagnostics as d
from webhook.requestlog import BATCH, RequestLog

T0 = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)


def row(i: int, **extra: Any) -> dict[str, Any]:
    return {"received_at": T0 + timedelta(seconds=i), "method": "POST",
            "path": f"/api/v1/messages/webhook/x?i={i}", "remote_addr": "192.0.2.1",
            "size": i, "outcome": "stored", "status": 200, **extra}


def test_record_list_get_and_cap(db: Database) -> None:
    with db.begin() as conn:
        ids = [d.record_request(conn, keep=3, **row(i, command={"entity": "x"})) for i in range(5)]
    with db.connect() as conn:
        listed = d.list_requests(conn, 10)
        assert [r["id"] for r in listed] == ids[:1:-1]
        assert listed[0]["received_at"] == T0 + timedelta(seconds=4)  # aware UTC
        assert listed[0]["command"] == {"entity": "x"}
        assert d.get_request(conn, ids[4]) == listed[0]
        assert d.get_request(conn, ids[0]) is None
        assert len(d.list_requests(conn, 2)) == 2


def test_text_no_store_accepts_is_made_storable(db: Database) -> None:
    with db.begin() as conn:
        new = d.record_request(conn, **row(1, body="a\x00b\ud800c", user="u\x00",
                                           headers={"X\x00": "v\udcff"}, error="e" * 10))
    with db.connect() as conn:
        found = d.get_request(conn, new)
    assert found is not None
    assert found["body"] == "a\ufffdb?c" and found["user"] == "u\ufffd"
    assert found["headers"] == {"X\ufffd": "v?"}


def test_incidents(db: Database) -> None:
    with db.begin() as conn:
        for i in range(4):
            d.record_incident(conn, at=T0 + timedelta(seconds=i), remote_addr="192.0.2.9",
                              path="/p", user=None if i else "bob", reason=f"r{i}", keep=3)
    with db.connect() as conn:
        found = d.list_incidents(conn, 10)
    assert [i["reason"] for i in found] == ["r3", "r2", "r1"]
    assert found[0] == {"id": found[0]["id"], "at": T0 + timedelta(seconds=3),
                        "remote_addr": "192.0.2.9", "path": "/p", "user": None, "reason": "r3"}


def test_request_log_writer_batches_and_flushes(db: Database) -> None:
    log = RequestLog(db, ManualClock(T0), keep=50)
    for i in range(120):
        log.submit(**row(i))
    assert log.flush()
    with db.connect() as conn:
        listed = d.list_requests(conn, 1000)
    assert len(listed) == 50 and listed[0]["size"] == 119
    new_id = log.write_now(**row(500))
    with db.connect() as conn:
        assert d.list_requests(conn, 1)[0]["id"] == new_id
    log.close()


def test_the_writer_writes_only_the_rows_the_log_keeps(sqlite_db: Database,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[int] = []
    record = d.record_requests

    def counting(db: Database, rows: list[dict[str, Any]], *, keep: int = 100) -> None:
        written.extend(r["size"] for r in rows)
        record(db, rows, keep=keep)

    monkeypatch.setattr(d, "record_requests", counting)
    held = threading.Lock()
    log = RequestLog(sqlite_db, ManualClock(T0), keep=50, write_lock=held)
    with held:  # the writer is held up (an ingest holds the lock): rows wait, bounded
        for i in range(1000):
            log.submit(**row(i))
        assert len(log._pending) <= 2 * max(log.keep, BATCH)
    assert log.flush()
    with sqlite_db.connect() as conn:
        assert [r["size"] for r in d.list_requests(conn, 1000)] == list(range(999, 949, -1))
    assert len(written) <= 100 and written[-50:] == list(range(950, 1000))
    log.close()


def test_rows_submitted_for_later_are_built_only_when_kept(sqlite_db: Database) -> None:
    built: list[int] = []

    def later(i: int) -> Any:
        def make() -> dict[str, Any]:
            built.append(i)
            if i == 999:
                raise ValueError("cannot build this row")
            fields = row(i)
            del fields["received_at"]  # the time of submit_later
            return fields
        return make

    held = threading.Lock()
    log = RequestLog(sqlite_db, ManualClock(T0), keep=50, write_lock=held)
    with held:
        for i in range(1000):
            log.submit_later(later(i))
    assert log.flush()  # the row that failed to build is reported, not waited for
    with sqlite_db.connect() as conn:
        listed = d.list_requests(conn, 1000)
    assert [r["size"] for r in listed] == list(range(998, 949, -1))
    assert listed[0]["received_at"] == T0
    assert len(built) <= 100
    log.close()


def test_a_bad_row_is_reported_not_raised(sqlite_db: Database) -> None:
    log = RequestLog(sqlite_db, ManualClock(T0), keep=50)
    log.submit(**row(1, bogus=1))
    assert log.flush()  # the writer survived and counted the row
    log._write([row(2), row(3, bogus=1), row(4)])  # one batch: the good rows still land
    with sqlite_db.connect() as conn:
        assert sorted(r["size"] for r in d.list_requests(conn, 10)) == [2, 4]
    log.close()


def test_log_batches_leave_the_connection_as_durable_as_before(sqlite_db: Database) -> None:
    log = RequestLog(sqlite_db, ManualClock(T0), keep=50)
    log._write([row(1), row(2)])
    with sqlite_db.engine.connect() as conn:  # the pool hands back the connection just used
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    with sqlite_db.connect() as conn:
        assert len(d.list_requests(conn, 10)) == 2
