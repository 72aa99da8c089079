"""Reply ids derived from the message that caused them; realtime batches commit without an
fsync and hand the connection back durable."""

from __future__ import annotations

import re
from typing import Any

from bot.rest.endpoint import outbox_message_id, reply_message_id
from rules.command import MessageCommand
from rules.ingest import Ingestor
from rules.notification import Notification
from rules.store import Database
from tests.engine.helpers import listening

METEOR_ID = re.compile(r"^[0-9A-Za-z]{17}$")


def reply(cause: str | None = "rc:abc", *, trigger: str = "open", text: str = "hi",
          row: int = 42) -> Notification:
    target: dict[str, Any] = {"room_id": "room1", "tmid": None}
    if cause is not None:
        target["cause"] = cause
    return Notification(rule="r", endpoint="rocketchat", trigger=trigger, text=text,
                        target=target, id=row)


def test_a_reply_with_a_cause_gets_the_same_id_whatever_its_row() -> None:
    first, again = reply_message_id(reply(row=42)), reply_message_id(reply(row=43))
    assert first == again and first is not None and METEOR_ID.match(first)
    assert first.startswith("atsdbot")


def test_other_causes_triggers_or_texts_get_other_ids() -> None:
    ids = {reply_message_id(reply()), reply_message_id(reply("rc:abd")),
           reply_message_id(reply(trigger="repeat")), reply_message_id(reply(text="hi!"))}
    assert len(ids) == 4


def test_a_reply_without_a_cause_keeps_the_row_id() -> None:
    assert reply_message_id(reply(None, row=42)) == outbox_message_id(42)
    assert reply_message_id(Notification(rule="r", endpoint="rocketchat", trigger="open",
                                         text="x")) is None


def synchronous_at_commit(db: Database, work: Any) -> list[int]:
    seen: list[int] = []

    def record(conn: Any) -> None:
        raw = conn.connection.driver_connection
        seen.append(int(raw.execute("PRAGMA synchronous").fetchone()[0]))

    with listening(db, "commit", record):
        work()
    return seen


def test_a_light_batch_commits_without_fsync_and_a_durable_one_with(
        sqlite_db: Database) -> None:
    ingestor = Ingestor(sqlite_db)

    def batch(durable: bool) -> None:
        with ingestor.batch(durable=durable):
            ingestor.accept(MessageCommand(entity="e", message="m"), path="realtime")

    assert synchronous_at_commit(sqlite_db, lambda: batch(False)) == [1]  # NORMAL
    assert synchronous_at_commit(sqlite_db, lambda: batch(True)) == [2]  # FULL
    with sqlite_db.connect() as conn:  # the pooled connection went back durable
        raw = conn.connection.driver_connection
        assert int(raw.execute("PRAGMA synchronous").fetchone()[0]) == 2
