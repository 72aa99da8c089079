"""Outbox robustness: a failed pass releases its claims, wake-ups are not lost, a backlog
drains without waiting for the interval, and a delivery costs few statements."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text

from rules import outbox
from rules.clock import ManualClock
from rules.notification import DeliveryError, Notification
from rules.outbox import delivery
from rules.store import Database
from rules.store import outbox as outbox_store
from rules.store import outbox_sql as statements
from tests.engine.helpers import START, outbox_rows, statements_of
from tests.engine.test_outbox import FakeEndpoint, attempt_outcomes, put, sender
from tests.realtime.harness import wait_until


def test_a_pass_failing_after_its_claim_releases_it_at_once(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(START)
    first = put(db, clock, alert_id=7, trigger="open")
    second = put(db, clock, alert_id=7, trigger="cancel")
    real = outbox_store.row_to_notification
    calls = {"n": 0}

    def broken_once(row: Any) -> Notification:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the store went away mid-pass")
        return real(row)

    monkeypatch.setattr(delivery, "row_to_notification", broken_once)
    endpoint = FakeEndpoint()
    worker = sender(db, clock, endpoint)
    with pytest.raises(RuntimeError):
        worker.run_once()
    assert {(r.id, r.status, r.claimed_by) for r in outbox_rows(db)} == {
        (first, "pending", None), (second, "pending", None)}
    # no claim timeout to sit out: the very next pass sends both, in order
    assert worker.run_once() == 2
    assert [n.trigger for n in endpoint.got] == ["open", "cancel"]


def test_claims_whose_release_failed_are_released_at_the_next_pass(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(START)
    put(db, clock)
    worker = sender(db, clock, FakeEndpoint())
    monkeypatch.setattr(worker, "_record", _raise)
    monkeypatch.setattr(statements, "RELEASE", text("UPDATE no_such_table SET x = 1"))
    with pytest.raises(RuntimeError):
        worker.run_once()
    assert outbox_rows(db)[0].status == "sending"  # the store refused the release too
    monkeypatch.undo()
    assert worker.run_once() == 1  # released first, then sent, long before the claim timeout
    assert outbox_rows(db)[0].status == "delivered"


def _raise(*_args: Any) -> None:
    raise RuntimeError("commit failed")


def test_a_failed_record_puts_delivered_rows_back_for_an_idempotent_resend(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(START)
    put(db, clock)
    endpoint = FakeEndpoint()
    worker = sender(db, clock, endpoint)
    monkeypatch.setattr(worker, "_record", _raise)
    with pytest.raises(RuntimeError):
        worker.run_once()
    monkeypatch.undo()
    assert worker.run_once() == 1
    # sent twice with the same stable id: Rocket.Chat keeps one message
    assert [n.id for n in endpoint.got] == [endpoint.got[0].id] * 2
    assert [r.status for r in outbox_rows(db)] == ["delivered"]


def test_a_burst_of_one_alert_goes_out_in_one_pass_in_order(db: Database) -> None:
    clock = ManualClock(START)
    ids = [put(db, clock, alert_id=3, trigger="repeat") for _ in range(30)]
    endpoint = FakeEndpoint()
    assert sender(db, clock, endpoint).run_once() == 30
    assert [n.id for n in endpoint.got] == ids


def test_a_failing_row_holds_the_rest_of_its_alert_back(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock, alert_id=3, trigger="open")
    later = put(db, clock, alert_id=3, trigger="repeat")
    other = put(db, clock, alert_id=4, trigger="open")
    endpoint = FakeEndpoint(DeliveryError("HTTP 503", status=503))
    worker = sender(db, clock, endpoint)
    worker.run_once()
    rows = {r.id: r for r in outbox_rows(db)}
    assert (rows[later].status, rows[later].attempts, rows[later].claimed_by) == (
        "pending", 0, None)
    assert rows[other].status == "delivered"
    assert [n.trigger for n in endpoint.got] == ["open", "open"]
    assert attempt_outcomes(db) == ["retry", "delivered"]


def test_sender_loop_drains_a_backlog_larger_than_one_pass(sqlite_db: Database) -> None:
    clock = ManualClock(START)
    for _ in range(80):
        put(sqlite_db, clock)
    endpoint = FakeEndpoint()
    thread = outbox.SenderLoop(sender(sqlite_db, clock, endpoint, batch=5), interval=3600)
    thread.start()
    try:
        wait_until(lambda: len(endpoint.got) == 80, 10, "the whole backlog")
    finally:
        thread.stop()


class WakeDuringPass:
    """A sender whose first pass is woken part-way (a commit landing mid-pass)."""

    def __init__(self) -> None:
        self.passes = 0
        self.thread: outbox.SenderLoop | None = None
        self.second = threading.Event()

    def run_pass(self) -> tuple[int, int]:
        self.passes += 1
        if self.passes == 1 and self.thread is not None:
            self.thread.wake()
        elif self.passes == 2:
            self.second.set()
        return 0, 0

    def seconds_to_next_due(self) -> float | None:
        return None


def test_a_wake_during_a_pass_makes_another_pass() -> None:
    fake = WakeDuringPass()
    thread = outbox.SenderLoop(fake, interval=3600)  # type: ignore[arg-type]
    fake.thread = thread
    thread.start()
    try:
        assert fake.second.wait(10)
    finally:
        thread.stop()


def test_a_failing_endpoint_does_not_spin_the_thread(sqlite_db: Database) -> None:
    clock = ManualClock(START)
    put(sqlite_db, clock)
    endpoint = FakeEndpoint(*(DeliveryError("slow down", retry_after=0) for _ in range(1000)))
    worker = sender(sqlite_db, clock, endpoint)
    worker.max_attempts = 1000
    thread = outbox.SenderLoop(worker, interval=3600)
    thread.start()
    try:
        wait_until(lambda: endpoint.got, 10, "the first attempt")
        passes_then = len(endpoint.got)
    finally:
        thread.stop()
    # one pass retries at most MAX_ROUNDS times; then the thread waits for a wake or interval
    assert passes_then <= outbox.MAX_ROUNDS
    assert len(endpoint.got) <= outbox.MAX_ROUNDS


def test_one_delivery_costs_four_statements(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock)
    worker = sender(db, clock, FakeEndpoint())
    worker.run_once()  # the stale-claim sweep runs on the first pass; not counted below
    put(db, clock)
    delivered: list[int] = []
    statements = statements_of(db, lambda: delivered.append(worker.run_once()))
    assert delivered == [1]
    # due query, claim (UPDATE ... RETURNING), outcome, attempt: no second due query
    assert statements == ["SELECT", "UPDATE", "UPDATE", "INSERT"]


def test_sender_bookkeeping_skips_the_fsync_and_hands_the_connection_back_durable(
        sqlite_db: Database) -> None:
    if sqlite_db.dialect != "sqlite":
        pytest.skip("SQLite only")

    def synchronous(raw: Any) -> int:
        return int(raw.execute("PRAGMA synchronous").fetchone()[0])

    with statements.light_transaction(sqlite_db) as conn:
        raw = conn.connection.driver_connection
        during = synchronous(raw)
    assert (during, synchronous(raw)) == (1, 2)  # NORMAL inside, FULL (the default) after


def test_a_reader_does_not_wait_for_a_writer(sqlite_db: Database) -> None:
    """WAL lets readers run beside the writer: Database.connect() must not queue behind a
    write transaction (it did with BEGIN IMMEDIATE, and slept in SQLite's busy handler)."""
    written, release = threading.Event(), threading.Event()

    def writer() -> None:
        with sqlite_db.begin() as conn:
            conn.execute(text("UPDATE schema_version SET upgraded_at = upgraded_at"))
            written.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert written.wait(10)
        with sqlite_db.connect() as conn:  # answered while the writer still holds its lock
            assert conn.execute(text("SELECT version FROM schema_version")).scalar() >= 1
        assert thread.is_alive() and not release.is_set()
    finally:
        release.set()
        thread.join(10)
