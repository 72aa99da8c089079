"""Rows handed to the sender in memory at commit; lanes (rooms side by side, alerts in order);
the loop sleeping until the next retry instead of a fixed interval."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from rules import outbox
from rules.clock import ManualClock, SystemClock
from rules.notification import DeliveryError, DeliveryResult, Notification
from rules.outbox.lanes import split
from rules.store import Database
from rules.store import outbox as outbox_store
from tests.engine.helpers import START, outbox_rows, statements_of
from tests.engine.test_outbox import SETTINGS, FakeEndpoint, sender
from tests.realtime.harness import wait_until


def write(db: Database, clock: Any, *, alert_id: int | None = None, room: str | None = None,
          trigger: str = "open", due_in: float = 0) -> Notification:
    note = Notification(rule="r1", endpoint="log", trigger=trigger, text=f"{trigger} {room}",
                        alert_id=alert_id, target={"room_id": room} if room else {},
                        due_at=clock.now() + timedelta(seconds=due_in) if due_in else None)
    with db.begin() as conn:
        outbox_store.write(conn, note, status="pending", now=clock.now())
    return note


def test_a_handed_row_goes_out_without_a_due_query(db: Database) -> None:
    clock = ManualClock(START)
    endpoint = FakeEndpoint()
    worker = sender(db, clock, endpoint)
    note = write(db, clock)
    seen = statements_of(db, lambda: worker.deliver_handed([note]))
    assert seen == ["UPDATE", "UPDATE", "INSERT"]  # claim, outcome, attempt
    assert [n.id for n in endpoint.got] == [note.id]
    assert outbox_rows(db)[0].status == "delivered"


def test_a_handed_row_waits_behind_an_earlier_active_row_of_its_alert(db: Database) -> None:
    clock = ManualClock(START)
    endpoint = FakeEndpoint(DeliveryError("HTTP 502"))
    worker = sender(db, clock, endpoint)
    first = write(db, clock, alert_id=7)
    assert worker.run_once() == 1  # failed: backing off
    repeat = write(db, clock, alert_id=7, trigger="repeat")
    other = write(db, clock, alert_id=8)
    assert worker.deliver_handed([repeat, other]) == (1, 1, True)  # the repeat is left
    assert [n.id for n in endpoint.got] == [first.id, other.id]
    clock.advance(60)
    worker.run_once()
    assert [n.id for n in endpoint.got][2:] == [first.id, repeat.id]


def test_a_handed_row_not_yet_due_is_left_for_later(db: Database) -> None:
    clock = ManualClock(START)
    endpoint = FakeEndpoint()
    worker = sender(db, clock, endpoint)
    held = write(db, clock, alert_id=3, due_in=60)
    after = write(db, clock, alert_id=3, trigger="repeat")
    assert worker.deliver_handed([held, after]) == (0, 0, True)
    assert endpoint.got == [] and worker.seconds_to_next_due() == 0.0  # the repeat is due
    clock.advance(60)
    worker.run_once()
    assert [n.id for n in endpoint.got] == [held.id, after.id]


def test_two_senders_never_both_get_a_handed_row(db: Database) -> None:
    clock = ManualClock(START)
    note = write(db, clock)
    first, second = FakeEndpoint(), FakeEndpoint()
    sender(db, clock, first).deliver_handed([note])
    assert sender(db, clock, second).deliver_handed([note]) == (0, 0, True)
    assert len(first.got) == 1 and second.got == []


def row(row_id: int, alert: int | None, room: str | None) -> Any:
    return SimpleNamespace(id=row_id, alert_id=alert, endpoint="rc",
                           target={"room_id": room} if room else {})


def test_lanes_join_rows_of_one_room_or_one_alert() -> None:
    rows = [row(1, 1, "A"), row(2, 2, "B"), row(3, 1, "C"), row(4, None, "D"),
            row(5, 3, "B"), row(6, None, None)]
    assert [[r.id for r in lane] for lane in split(rows)] == [[1, 3], [2, 5], [4], [6]]


class Rooms:
    """Room A's first delivery blocks until room B got one: only lanes side by side finish."""

    name = "log"

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []
        self.b_seen = threading.Event()
        self.lock = threading.Lock()

    def deliver(self, note: Notification) -> DeliveryResult:
        room = str(note.target.get("room_id"))
        if room == "A" and not self.b_seen.wait(10):
            raise DeliveryError("room B never went while room A was sending")
        if room == "B":
            self.b_seen.set()
        with self.lock:
            self.got.append((room, note.trigger))
        return DeliveryResult(status=200)


def test_rooms_go_side_by_side_and_each_room_in_order(sqlite_db: Database) -> None:
    clock = ManualClock(START)
    endpoint = Rooms()
    worker = sender(sqlite_db, clock, endpoint)
    notes = [write(sqlite_db, clock, alert_id=1, room="A"),
             write(sqlite_db, clock, alert_id=2, room="B"),
             write(sqlite_db, clock, alert_id=1, room="A", trigger="repeat"),
             write(sqlite_db, clock, alert_id=2, room="B", trigger="repeat")]
    try:
        assert worker.deliver_handed(notes) == (4, 4, False)
    finally:
        worker.close()
    assert [t for room, t in endpoint.got if room == "A"] == ["open", "repeat"]
    assert [t for room, t in endpoint.got if room == "B"] == ["open", "repeat"]


def test_the_loop_retries_when_the_retry_is_due_not_at_the_interval(
        sqlite_db: Database) -> None:
    clock = SystemClock()
    endpoint = FakeEndpoint(DeliveryError("slow down", retry_after=0.1))
    worker = outbox.OutboxSender(sqlite_db, {"log": endpoint}, clock, SETTINGS)
    loop = outbox.SenderLoop(worker, interval=3600)
    loop.start()
    try:
        loop.wake([write(sqlite_db, clock)])
        wait_until(lambda: len(endpoint.got) == 2, 10, "the retry, well before the interval")
    finally:
        loop.stop()
    assert outbox_rows(sqlite_db)[0].status == "delivered"


def test_the_loop_delivers_handed_rows(sqlite_db: Database) -> None:
    clock = SystemClock()
    endpoint = FakeEndpoint()
    loop = outbox.SenderLoop(outbox.OutboxSender(sqlite_db, {"log": endpoint}, clock, SETTINGS),
                             interval=3600)
    loop.start()
    try:
        notes = [write(sqlite_db, clock, alert_id=1), write(sqlite_db, clock, alert_id=1)]
        loop.wake(notes)
        wait_until(lambda: len(endpoint.got) == 2, 10, "both rows")
    finally:
        loop.stop()
    assert [n.id for n in endpoint.got] == [n.id for n in notes]


def test_the_order_checks_read_only_the_active_rows(sqlite_db: Database) -> None:
    """The earlier-row check of a claim looks rows up by status (the few active ones), not
    by alert: a long-open alert has a row for every reply it ever made."""
    from rules.store import outbox_sql

    raw = sqlite_db.engine.raw_connection()
    try:
        text, count = outbox_sql.CLAIM_ONE.text(sqlite_db.engine.dialect)
        plan = " ".join(str(row) for row in raw.execute(
            "EXPLAIN QUERY PLAN " + text, [None] * count))
        due = outbox_sql.DUE.compile(dialect=sqlite_db.engine.dialect)
        plan_due = " ".join(str(row) for row in raw.execute(
            "EXPLAIN QUERY PLAN " + str(due), [None] * len(due.positiontup or ())))
    finally:
        raw.close()
    for found in (plan, plan_due):
        assert "ix_outbox_alert" not in found and "ix_outbox_due" in found
