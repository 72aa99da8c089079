"""The outbox sender: delivery, retries with backoff, retry_after, failure, claims, order."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.config import DeliverySettings
from rules import outbox
from rules.clock import ManualClock
from rules.notification import DeliveryError, DeliveryResult, Notification
from rules.store import Database
from rules.store import outbox as outbox_store
from rules.store.tables.engine import outbox as outbox_table
from rules.store.tables.engine import outbox_attempts
from tests.engine.helpers import START, outbox_rows

SETTINGS = DeliverySettings(max_attempts=3, backoff_seconds=10, max_backoff_seconds=60)


class FakeEndpoint:
    """Answers with the scripted outcomes in order (then succeeds); records what it got."""

    def __init__(self, *outcomes: Exception | None, name: str = "log") -> None:
        self.name = name
        self.outcomes = list(outcomes)
        self.got: list[Notification] = []

    def deliver(self, notification: Notification) -> DeliveryResult:
        self.got.append(notification)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return DeliveryResult(status=200, detail=f"msg-{notification.id}")


def put(db: Database, clock: ManualClock, *, alert_id: int | None = None, trigger: str = "open",
        endpoint: str = "log", due_in: float = 0) -> int:
    note = Notification(rule="r1", endpoint=endpoint, trigger=trigger, text=f"{trigger} text",
                        alert_id=alert_id,
                        due_at=clock.now() + timedelta(seconds=due_in) if due_in else None)
    with db.begin() as conn:
        return outbox_store.write(conn, note, status="pending", now=clock.now())


def sender(db: Database, clock: ManualClock, endpoint: Any, **kwargs: Any) -> outbox.OutboxSender:
    return outbox.OutboxSender(db, {"log": endpoint}, clock, SETTINGS, rng=random.Random(7),
                               **kwargs)


def attempt_outcomes(db: Database) -> list[str]:
    with db.connect() as conn:
        return [r.outcome for r in conn.execute(
            select(outbox_attempts).order_by(outbox_attempts.c.id))]


def test_delivers_due_rows_with_their_stable_id(db: Database) -> None:
    clock = ManualClock(START)
    row_id = put(db, clock)
    endpoint = FakeEndpoint()
    assert sender(db, clock, endpoint).run_once() == 1
    assert endpoint.got[0].id == row_id and endpoint.got[0].text == "open text"
    [row] = outbox_rows(db)
    assert (row.status, row.attempts, row.last_status_code, row.detail) == (
        "delivered", 1, 200, f"msg-{row_id}")
    assert attempt_outcomes(db) == ["delivered"]
    assert sender(db, clock, endpoint).run_once() == 0  # never twice


def test_retries_with_exponential_backoff_then_fails(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock)
    endpoint = FakeEndpoint(*(DeliveryError("HTTP 503", status=503) for _ in range(3)))
    worker = sender(db, clock, endpoint)
    waits = []
    for _ in range(3):
        assert worker.run_once() == 1
        row = outbox_rows(db)[0]
        if row.status == "pending":
            wait = (row.next_attempt_at.replace(tzinfo=None) - clock.now().replace(tzinfo=None))
            waits.append(wait.total_seconds())
            assert worker.run_once() == 0  # not before it is due
            clock.advance(wait)
    assert 5 <= waits[0] <= 10 and 10 <= waits[1] <= 20
    [row] = outbox_rows(db)
    assert (row.status, row.attempts, row.last_error, row.last_status_code) == (
        "failed", 3, "HTTP 503", 503)
    assert attempt_outcomes(db) == ["retry", "retry", "failed"]


def test_backoff_is_capped_and_jittered() -> None:
    worker = outbox.OutboxSender(None, {}, ManualClock(START), SETTINGS,  # type: ignore[arg-type]
                                 rng=random.Random(1))
    delays = [worker.delay(n) for n in range(1, 10)]
    assert all(30 <= d <= 60 for d in delays[3:])
    assert len({round(d, 6) for d in delays}) == len(delays)
    assert worker.delay(1, retry_after=42) == 42


def test_honours_retry_after(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock)
    worker = sender(db, clock, FakeEndpoint(DeliveryError("slow down", retry_after=42)))
    worker.run_once()
    row = outbox_rows(db)[0]
    wait = row.next_attempt_at.replace(tzinfo=None) - START.replace(tzinfo=None)
    assert wait == timedelta(seconds=42)


@pytest.mark.parametrize("error", [DeliveryError("HTTP 404", retryable=False, status=404)])
def test_a_permanent_error_fails_at_once(db: Database, error: DeliveryError) -> None:
    clock = ManualClock(START)
    put(db, clock)
    sender(db, clock, FakeEndpoint(error)).run_once()
    assert [(r.status, r.attempts) for r in outbox_rows(db)] == [("failed", 1)]


def test_an_unknown_endpoint_fails_visibly(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock, endpoint="gone")
    sender(db, clock, FakeEndpoint()).run_once()
    [row] = outbox_rows(db)
    assert row.status == "failed" and "gone" in row.last_error


def test_an_endpoint_bug_is_retried_not_fatal(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock)
    put(db, clock)
    worker = sender(db, clock, FakeEndpoint(ValueError("boom")))
    assert worker.run_once() == 2
    assert [r.status for r in outbox_rows(db)] == ["pending", "delivered"]
    assert "ValueError: boom" in outbox_rows(db)[0].last_error


def test_retry_now_revives_a_failed_row(db: Database) -> None:
    clock = ManualClock(START)
    row_id = put(db, clock)
    worker = sender(db, clock, FakeEndpoint(DeliveryError("no", retryable=False)))
    worker.run_once()
    assert worker.retry_now(row_id) is True
    assert worker.retry_now(row_id + 99) is False
    assert worker.run_once() == 1
    assert outbox_rows(db)[0].status == "delivered"


def test_two_senders_never_claim_the_same_row(db: Database) -> None:
    clock = ManualClock(START)
    row_id = put(db, clock)
    first, second = sender(db, clock, FakeEndpoint()), sender(db, clock, FakeEndpoint())
    assert first._claim(row_id, clock.now()) is not None
    assert second._claim(row_id, clock.now()) is None
    assert second.run_once() == 0


def test_a_stale_claim_is_released(db: Database) -> None:
    clock = ManualClock(START)
    row_id = put(db, clock)
    dead = sender(db, clock, FakeEndpoint())
    assert dead._claim(row_id, clock.now()) is not None  # then the process died
    clock.advance(301)
    endpoint = FakeEndpoint()
    assert sender(db, clock, endpoint).run_once() == 1 and endpoint.got[0].id == row_id


def test_rows_of_one_alert_go_out_in_order(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock, alert_id=7, trigger="open")
    put(db, clock, alert_id=7, trigger="repeat")
    put(db, clock, alert_id=8, trigger="open")
    endpoint = FakeEndpoint(DeliveryError("HTTP 502"))
    worker = sender(db, clock, endpoint)
    worker.run_once()
    assert [n.trigger + str(n.alert_id) for n in endpoint.got] == ["open7", "open8"]
    clock.advance(60)
    worker.run_once()
    assert [n.trigger + str(n.alert_id) for n in endpoint.got][2:] == ["open7", "repeat7"]


def test_delayed_rows_wait_until_due(db: Database) -> None:
    clock = ManualClock(START)
    put(db, clock, due_in=60)
    worker = sender(db, clock, FakeEndpoint())
    assert worker.run_once() == 0
    clock.advance(60)
    assert worker.run_once() == 1


def test_notification_log_lists_newest_first_with_attempts(db: Database) -> None:
    clock = ManualClock(START)
    first = put(db, clock)
    put(db, clock)
    with db.begin() as conn:
        conn.execute(update(outbox_table).where(outbox_table.c.id == first)
                     .values(status="failed", last_error="x"))
    sender(db, clock, FakeEndpoint()).run_once()
    with db.connect() as conn:
        log = outbox_store.recent(conn, 10)
        assert [(r["id"], r["status"]) for r in log] == [(first + 1, "delivered"),
                                                        (first, "failed")]
        assert outbox_store.attempts(conn, first + 1)[0]["outcome"] == "delivered"


class Signalling(FakeEndpoint):
    def __init__(self) -> None:
        super().__init__()
        self.delivered = threading.Event()

    def deliver(self, notification: Notification) -> DeliveryResult:
        result = super().deliver(notification)
        self.delivered.set()
        return result


def test_sender_loop_delivers_on_wake(sqlite_db: Database) -> None:
    clock = ManualClock(START)
    endpoint = Signalling()
    thread = outbox.SenderLoop(sender(sqlite_db, clock, endpoint), interval=3600)
    thread.start()
    try:
        put(sqlite_db, clock)
        thread.wake()
        assert endpoint.delivered.wait(10)
    finally:
        thread.stop()
    assert outbox_rows(sqlite_db)[0].status == "delivered"


def test_prune_deletes_only_old_finished_rows(db: Database) -> None:
    clock = ManualClock(START)
    delivered = put(db, clock)
    failed = put(db, clock, endpoint="gone")
    put(db, clock, due_in=200_000)  # pending, held
    sender(db, clock, FakeEndpoint()).run_once()
    clock.advance(86_400)
    recent = put(db, clock)
    sender(db, clock, FakeEndpoint()).run_once()
    assert outbox_store.prune(db, clock.now() - timedelta(hours=1)) == 1
    remaining = {r.id: r.status for r in outbox_rows(db)}
    assert delivered not in remaining and remaining[failed] == "failed"
    assert remaining[recent] == "delivered" and len(remaining) == 3
    with db.connect() as conn:
        assert outbox_store.attempts(conn, delivered) == []
