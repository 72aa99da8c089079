"""bot/service/lease.py: when the lease applies, the fence, orphaned claims, queueing behind
pending commands. Fast, on SQLite and PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from bot.config import build_settings
from bot.service import lease
from bot.service.lease import LeaseKeeper
from rules.clock import ManualClock
from rules.command import MessageCommand
from rules.ingest import Ingestor
from rules.notification import Notification
from rules.store import Database
from rules.store.tables import engine as es


class Recorder:
    """An engine that records what it was given, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def process(self, conn: Connection, command: MessageCommand,
                message_id: int | None, cause: str | None = None) -> list[Notification]:
        self.seen.append(command.message)
        return []

    def after_commit(self) -> None: ...

    def after_rollback(self) -> None: ...


def settings(**database: Any) -> Any:
    return build_settings({"database": {"url": "postgresql+psycopg://x/y", **database}})


def test_the_lease_applies_to_postgresql_unless_single_instance(db: Database) -> None:
    assert lease.uses_lease(settings(), db) == (db.dialect == "postgresql")
    assert not lease.uses_lease(settings(single_instance=True), db)
    assert settings(lease_ttl=3).database.lease_ttl == 3


def test_the_fence_holds_only_for_the_current_epoch(db: Database) -> None:
    clock = ManualClock()
    a = LeaseKeeper(db, holder="a", ttl=10, clock=clock)
    b = LeaseKeeper(db, holder="b", ttl=10, clock=clock)
    fence_a, fence_b = lease.fence_for(a), lease.fence_for(b)
    assert a.step()
    with db.begin() as conn:
        assert fence_a(conn) and not fence_b(conn)
    clock.advance(11)  # a stalls past its ttl; b takes over
    assert b.step()
    with db.begin() as conn:
        assert not fence_a(conn) and fence_b(conn)  # a still believes, the fence does not


def test_a_new_command_queues_behind_pending_ones(db: Database) -> None:
    engine = Recorder()
    follower = Ingestor(db, engine)  # stores only, like an instance without the lease
    follower.runs_engine = False
    follower.accept(MessageCommand(entity="e", message="first"), path="webhook")
    leader = Ingestor(db, engine)
    leader.fence = lambda conn: True
    second = leader.accept(MessageCommand(entity="e", message="second"), path="webhook")
    assert not second.processed and engine.seen == []  # did not overtake "first"
    assert leader.process_pending() == 2
    assert engine.seen == ["first", "second"]
    third = leader.accept(MessageCommand(entity="e", message="third"), path="webhook")
    assert third.processed and engine.seen[-1] == "third"  # nothing pending: at once


def test_orphaned_claims_go_back_to_pending(db: Database) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    row = {"created_at": now, "due_at": now, "next_attempt_at": now, "rule": "r",
           "endpoint": "log", "trigger": "open", "text": "t", "target": {}, "attempts": 0,
           "claimed_at": now}
    with db.begin() as conn:
        conn.execute(insert(es.outbox), [
            {**row, "status": "sending", "claimed_by": "dead-sender"},
            {**row, "status": "sending", "claimed_by": "me"},
            {**row, "status": "delivered", "claimed_by": None}])
    assert lease.release_orphan_claims(db, "me") == 1
    with db.connect() as conn:
        rows = conn.execute(select(es.outbox.c.status, es.outbox.c.claimed_by)
                            .order_by(es.outbox.c.id)).all()
    assert [tuple(r) for r in rows] == [("pending", None), ("sending", "me"),
                                        ("delivered", None)]
