"""The ingestor stores each command once and honours once-only keys, on every store."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rules.command import MessageCommand
from rules.ingest import CHAT_COMMAND, Accepted, Ingestor
from rules.notification import Notification
from rules.store import Database
from rules.store import messages as message_store
from rules.store.tables import base as schema
from tests.engine.helpers import statements_of


def count_messages(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.messages)).scalar_one())


def test_accept_stores_command(db: Database) -> None:
    ingestor = Ingestor(db)
    accepted = ingestor.accept(
        MessageCommand(entity="e1", message="hi", tags={"a": "1"}), path="webhook"
    )
    assert accepted.message_id is not None and not accepted.duplicate
    assert count_messages(db) == 1


def test_same_key_is_a_duplicate_returning_the_first_command(db: Database) -> None:
    ingestor = Ingestor(db)
    first = ingestor.accept(MessageCommand(entity="e1", message="one"), path="webhook",
                            dedupe_key="m1")
    second = ingestor.accept(MessageCommand(entity="e1", message="two"), path="realtime",
                             dedupe_key="m1")
    assert second.duplicate and second.message_id == first.message_id
    assert second.command.message == "one"
    assert count_messages(db) == 1


def test_a_keyed_message_takes_two_statements_and_a_duplicate_leaves_no_row(
        db: Database) -> None:
    ingestor = Ingestor(db)
    first = statements_of(db, lambda: ingestor.accept(
        MessageCommand(entity="e1", message="one"), path="webhook", dedupe_key="m1"))
    assert first == ["INSERT", "INSERT"]  # the message, then its key's claim with its id
    copy = ingestor.accept(MessageCommand(entity="e1", message="two"), path="webhook",
                           dedupe_key="m1")
    assert copy.duplicate and copy.command is not None and copy.command.message == "one"
    later = ingestor.accept(MessageCommand(entity="e1", message="three"), path="webhook",
                            dedupe_key="m2")
    with db.connect() as conn:
        stored = {row.message: row.id for row in conn.execute(select(schema.messages))}
        claims = dict(conn.execute(select(schema.processed_keys.c.key,
                                          schema.processed_keys.c.message_id)).all())
    assert stored == {"one": copy.message_id, "three": later.message_id}
    assert claims == {"m1": copy.message_id, "m2": later.message_id}


def test_a_store_without_a_one_statement_claim_takes_a_savepoint_the_same_way(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # a dialect (or an SQLite before 3.24) without INSERT ... ON CONFLICT DO NOTHING
    monkeypatch.setattr(message_store, "_CLAIM_KEY", {})
    ingestor = Ingestor(db)
    first = ingestor.accept(MessageCommand(entity="e1", message="one"), path="webhook",
                            dedupe_key="m1")
    copy = ingestor.accept(MessageCommand(entity="e1", message="two"), path="webhook",
                           dedupe_key="m1")
    assert copy.duplicate and copy.command is not None and copy.command.message == "one"
    with db.connect() as conn:
        stored = [row.message for row in conn.execute(select(schema.messages))]
        claims = dict(conn.execute(select(schema.processed_keys.c.key,
                                          schema.processed_keys.c.message_id)).all())
    assert stored == ["one"]
    assert claims == {"m1": first.message_id}


def test_persist_false_stores_nothing(db: Database) -> None:
    Ingestor(db).accept(MessageCommand(entity="e1", message="x"), path="api", persist=False)
    assert count_messages(db) == 0


class RecordingEngine:
    """A stand-in engine that records what it was given (the real one has its own tests)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int | None]] = []
        self.commits = 0
        self.rollbacks = 0

    def process(self, conn, command, message_id, cause=None):  # type: ignore[no-untyped-def,unused-ignore]
        self.seen.append((command.message, message_id))
        return []

    def after_commit(self) -> None:
        self.commits += 1

    def after_rollback(self) -> None:
        self.rollbacks += 1


def test_instance_without_engine_stores_and_owner_processes_later(db: Database) -> None:
    storing = Ingestor(db)  # another instance: no lease, no engine
    for text in ("a", "b", "c"):
        storing.accept(MessageCommand(entity="e", message=text), path="webhook")
    engine = RecordingEngine()
    owner = Ingestor(db, engine)
    assert owner.process_pending() == 3
    assert [m for m, _ in engine.seen] == ["a", "b", "c"]
    assert owner.process_pending() == 0  # each stored command is processed once


def test_fence_refusal_stores_without_processing(db: Database) -> None:
    engine = RecordingEngine()
    ingestor = Ingestor(db, engine)
    ingestor.fence = lambda conn: False  # the lease was lost
    accepted = ingestor.accept(MessageCommand(entity="e", message="x"), path="webhook")
    assert not accepted.processed and engine.seen == []
    ingestor.fence = None
    assert ingestor.process_pending() == 1 and engine.seen[0][0] == "x"


class ExplodingEngine(RecordingEngine):
    """Fails on one message text, like an engine bug that one command happens to trigger."""

    def process(self, conn, command, message_id, cause=None):  # type: ignore[no-untyped-def,unused-ignore]
        if command.message == "boom":
            raise RuntimeError("engine bug")
        return super().process(conn, command, message_id)


def accept_concurrently(ingestor: Ingestor, texts: list[str]) -> dict[str, object]:
    import threading

    outcomes: dict[str, object] = {}
    start = threading.Barrier(len(texts))

    def run(text: str) -> None:
        start.wait()
        try:
            outcomes[text] = ingestor.accept(
                MessageCommand(entity="e", message=text), path="webhook", dedupe_key=f"k-{text}"
            )
        except Exception as exc:
            outcomes[text] = exc

    threads = [threading.Thread(target=run, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_callers_are_each_stored_once(db: Database) -> None:
    engine = RecordingEngine()
    texts = [f"m{i}" for i in range(24)]
    outcomes = accept_concurrently(Ingestor(db, engine), texts)
    ids = [o.message_id for o in outcomes.values() if isinstance(o, Accepted)]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert sorted(m for m, _ in engine.seen) == sorted(texts)
    assert count_messages(db) == 24


def test_one_failing_command_does_not_fail_its_batch_mates(db: Database) -> None:
    engine = ExplodingEngine()
    texts = [f"m{i}" for i in range(12)] + ["boom"]
    outcomes = accept_concurrently(Ingestor(db, engine), texts)
    assert isinstance(outcomes["boom"], RuntimeError)
    assert all(not isinstance(outcomes[t], Exception) for t in texts if t != "boom")
    assert count_messages(db) == 12  # the failed one was rolled back, nothing else was


def test_once_runs_a_chat_command_once_with_its_claim(db: Database) -> None:
    ingestor = Ingestor(db)
    ran: list[str] = []

    def failing(_conn: object) -> str:
        raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        ingestor.once("rc:c1", path="webhook", work=failing)
    # nothing committed: the claim went with the failure, so the command may run again
    assert ingestor.once("rc:c1", path="realtime", work=lambda _c: ran.append("x") or "ok") \
        == "ok"
    assert ingestor.once("rc:c1", path="webhook", work=lambda _c: ran.append("y")) is None
    assert ran == ["x"]
    # the message never reaches the rules afterwards either
    copy = ingestor.accept(MessageCommand(entity="rocket.chat"), path="webhook",
                           dedupe_key="rc:c1")
    assert copy.duplicate and count_messages(db) == 0


def test_once_runs_the_hooks_with_the_answer_rows_and_marks_a_second_copy(
        db: Database) -> None:
    ingestor = Ingestor(db)
    seen: list[tuple[str, str, bool, list[str]]] = []
    ingestor.hooks.append(lambda result, path, _s: seen.append(
        (result.kind, path, result.duplicate, [n.text for n in result.notifications])))
    answer = Notification(rule="chat", endpoint="rocketchat", trigger="reply", text="hi")
    ran: list[str] = []

    def work(_conn: object) -> str:
        ran.append("ran")
        return "ok"

    assert ingestor.once("rc:h1", path="realtime", work=work,
                         notifications=lambda result: [answer] if result == "ok" else []) == "ok"
    assert ingestor.once("rc:h1", path="webhook", work=work) is None
    assert seen == [(CHAT_COMMAND, "realtime", False, ["hi"]),
                    (CHAT_COMMAND, "webhook", True, [])]
    with pytest.raises(RuntimeError):  # a failed command runs no hook: nothing committed
        ingestor.once("rc:h2", path="realtime", work=_fail)
    assert len(seen) == 2 and ran == ["ran"]


def _fail(_conn: object) -> str:
    raise RuntimeError("the command failed")


def test_once_still_answers_a_message_the_other_path_sent_to_the_rules(db: Database) -> None:
    ingestor = Ingestor(db)
    ingestor.accept(MessageCommand(entity="rocket.chat"), path="webhook", dedupe_key="rc:c2")
    assert ingestor.once("rc:c2", path="realtime", work=lambda _c: "answered") == "answered"
