"""Ingest batches: one thread's commands in one transaction, results at once, commit and hooks
at the end, nothing stored when the block fails."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rules.command import MessageCommand
from rules.ingest import STORED, Ingestor
from rules.ingest.accepted import Accepted
from rules.store import Database
from tests.engine.helpers import listening
from tests.test_ingest import ExplodingEngine, RecordingEngine, count_messages


def commits_of(db: Database, work: Any) -> int:
    seen = [0]

    def count(_conn: Any) -> None:
        seen[0] += 1

    with listening(db, "commit", count):
        work()
    return seen[0]


def test_a_batch_commits_once_and_runs_the_hooks_after_the_commit(db: Database) -> None:
    engine = RecordingEngine()
    ingestor = Ingestor(db, engine)
    hooked: list[tuple[str, int]] = []
    ingestor.hooks.append(lambda result, path, _s: hooked.append((path, count_messages(db))))

    def work() -> None:
        with ingestor.batch():
            for i in range(5):
                accepted = ingestor.accept(MessageCommand(entity="e", message=f"m{i}"),
                                           path="realtime", dedupe_key=f"k{i}")
                assert accepted.message_id is not None and accepted.processed
            assert hooked == []  # nothing is committed yet

    assert commits_of(db, work) == 1
    assert count_messages(db) == 5 and engine.commits == 1
    assert hooked == [("realtime", 5)] * 5


def test_a_copy_inside_the_batch_is_a_duplicate(db: Database) -> None:
    ingestor = Ingestor(db)
    with ingestor.batch():
        first = ingestor.accept(MessageCommand(entity="e", message="a"), path="realtime",
                                dedupe_key="k")
        again = ingestor.accept(MessageCommand(entity="e", message="a"), path="backfill",
                                dedupe_key="k")
    assert again.duplicate and again.message_id == first.message_id
    assert count_messages(db) == 1


def test_a_failing_batch_stores_nothing_and_rolls_the_engine_back(db: Database) -> None:
    engine = ExplodingEngine()
    ingestor = Ingestor(db, engine)
    hooked: list[Accepted] = []
    ingestor.hooks.append(lambda result, _p, _s: hooked.append(result))
    with pytest.raises(RuntimeError), ingestor.batch():
        ingestor.accept(MessageCommand(entity="e", message="fine"), path="realtime")
        ingestor.accept(MessageCommand(entity="e", message="boom"), path="realtime")
    assert count_messages(db) == 0 and hooked == [] and engine.rollbacks >= 1
    # the ingestor works on afterwards, batch or not
    ingestor.accept(MessageCommand(entity="e", message="later"), path="realtime")
    with ingestor.batch():
        ingestor.accept(MessageCommand(entity="e", message="later too"), path="realtime")
    assert count_messages(db) == 2


def test_a_chat_command_claim_commits_what_came_before_it(db: Database) -> None:
    ingestor = Ingestor(db)
    with ingestor.batch():
        ingestor.accept(MessageCommand(entity="e", message="before"), path="realtime")
        assert ingestor.once("c1", path="realtime", work=lambda _conn: "answered") == "answered"
        assert count_messages(db) == 1  # committed before the claim
        ingestor.accept(MessageCommand(entity="e", message="after"), path="realtime")
    assert count_messages(db) == 2
    assert ingestor.once("c1", path="realtime", work=lambda _conn: "again") is None


def test_another_thread_waits_for_the_batch_and_is_stored_after_it(
        sqlite_db: Database) -> None:
    engine = RecordingEngine()
    ingestor = Ingestor(sqlite_db, engine)

    def other() -> None:
        ingestor.accept(MessageCommand(entity="e", message="other"), path="webhook")

    with ingestor.batch():
        ingestor.accept(MessageCommand(entity="e", message="mine"), path="realtime")
        thread = threading.Thread(target=other)
        thread.start()  # it queues behind the open batch (the lock), not in SQLite
    thread.join(10)
    assert [m for m, _ in engine.seen] == ["mine", "other"]
    assert count_messages(sqlite_db) == 2


def test_a_batch_of_many_is_one_commit(db: Database) -> None:
    ingestor = Ingestor(db, RecordingEngine())
    got: list[Accepted] = []

    def work() -> None:
        with ingestor.batch():
            got.extend(ingestor.accept(MessageCommand(entity=f"e{i}", message=f"m{i}"),
                                       path="api") for i in range(50))

    assert commits_of(db, work) == 1
    assert len({a.message_id for a in got}) == 50 and count_messages(db) == 50


def test_batches_do_not_nest() -> None:
    ingestor = Ingestor(Database("sqlite://"))
    with ingestor.batch(), pytest.raises(RuntimeError, match="already open"), ingestor.batch():
        pass


class NotingEngine(RecordingEngine):
    """Makes one notification per command (stands in for a rule that replies)."""

    def process(self, conn, command, message_id, cause=None):  # type: ignore[no-untyped-def,unused-ignore]
        super().process(conn, command, message_id)
        from rules.notification import Notification
        return [Notification(rule="r", endpoint="log", trigger="open", text=command.message)]


def test_pending_commands_are_processed_in_batches_and_their_notes_handed_on(
        db: Database) -> None:
    store_only = Ingestor(db)
    for i in range(30):
        store_only.accept(MessageCommand(entity="e", message=f"m{i}"), path="webhook")
    engine = NotingEngine()
    owner = Ingestor(db, engine)
    owner.max_batch = 10
    handed: list[int] = []
    owner.hooks.append(lambda result, path, _s: handed.append(len(result.notifications))
                       if (result.kind, path) == (STORED, "pending") else None)
    assert commits_of(db, lambda: owner.process_pending()) == 3
    assert [m for m, _ in engine.seen] == [f"m{i}" for i in range(30)]  # in id order
    assert handed == [10, 10, 10]
    assert owner.process_pending() == 0


def test_a_pending_command_the_engine_fails_on_does_not_hold_back_its_batch(
        db: Database) -> None:
    store_only = Ingestor(db)
    for text in ("a", "boom", "c"):
        store_only.accept(MessageCommand(entity="e", message=text), path="webhook")
    engine = ExplodingEngine()
    assert Ingestor(db, engine).process_pending() == 3
    # the batch ran "a", failed on "boom" and was rolled back; then one transaction each:
    # "a" again (committed), "boom" alone (marked processed, logged), "c"
    assert [m for m, _ in engine.seen] == ["a", "a", "c"] and engine.rollbacks == 2
    assert Ingestor(db, engine).process_pending() == 0  # the failed one is marked processed
