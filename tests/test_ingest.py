"""The ingestor stores each command once and honours once-only keys, on every store."""

from __future__ import annotations

from sqlalchemy import func, select

from rules.command import MessageCommand
from rules.ingest import Ingestor
from rules.store import Database, schema


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


def test_persist_false_stores_nothing(db: Database) -> None:
    Ingestor(db).accept(MessageCommand(entity="e1", message="x"), path="api", persist=False)
    assert count_messages(db) == 0
