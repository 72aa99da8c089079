"""The message and explanation rows bind as the engine's hot rows (rules.store.hot_rows): what
they write reads back as written, on SQLite as the very text SQLAlchemy's types would have
written; and Prepared statements run on one kept cursor per connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, insert, select, text

from rules.command import MessageCommand, Severity
from rules.store import Database
from rules.store import explanations as explain
from rules.store import messages as store
from rules.store.db import Prepared
from rules.store.tables import base as schema
from tests.engine.helpers import listening

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
COMMAND = MessageCommand(entity="host-é", type="webhook", source="app",
                         severity=Severity.CRITICAL, date=NOW - timedelta(seconds=3),
                         message="disk \u2028 \"full\"", tags={"mount": "/é", "n": "1"})


def test_a_message_row_reads_back_as_written(db: Database) -> None:
    with db.begin() as conn:
        first = store.insert_message(conn, COMMAND, path="api", received_at=NOW)
        second = store.insert_message(conn, COMMAND, path="webhook", received_at=NOW,
                                      processed=True)
    with db.connect() as conn:
        assert store.get_message(conn, first) == COMMAND
        rows = {row.id: row for row in conn.execute(select(schema.messages))}
    assert rows[first].path == "api" and rows[first].processed is False
    assert rows[second].path == "webhook" and rows[second].processed is True
    assert rows[first].tags == COMMAND.tags and rows[first].severity == int(Severity.CRITICAL)
    received = rows[first].received_at
    assert (received if received.tzinfo else received.replace(tzinfo=UTC)) == NOW


def test_a_message_row_is_the_typed_inserts_text_on_sqlite(sqlite_db: Database) -> None:
    with sqlite_db.begin() as conn:
        hot = store.insert_message(conn, COMMAND, path="api", received_at=NOW)
        typed = conn.execute(insert(schema.messages).values(
            received_at=NOW, date=COMMAND.date, entity=COMMAND.entity, type=COMMAND.type,
            source=COMMAND.source, severity=int(Severity.CRITICAL), message=COMMAND.message,
            tags=COMMAND.tags, path="api", processed=False)).inserted_primary_key[0]
        query = text("SELECT received_at, date, entity, type, source, severity, message, tags, "
                     "path, processed FROM messages WHERE id = :i")
        assert tuple(conn.execute(query, {"i": hot}).one()) == tuple(
            conn.execute(query, {"i": typed}).one())


def test_an_explanation_reads_back_as_written(db: Database) -> None:
    found = [{"rule": "r", "step": "filter", "ok": False, "why": "é \u2028"},
             {"rule": "s", "n": 2.5, "none": None, "list": [1, True]}]
    with db.begin() as conn:
        message_id = store.insert_message(conn, COMMAND, path="api", received_at=NOW)
        explain.record(conn, message_id, found)
    with db.connect() as conn:
        assert explain.steps(conn, message_id) == found


def test_prepared_statements_share_a_cursor_and_are_announced(db: Database) -> None:
    one_key = Prepared(select(schema.messages.c.entity)
                       .where(schema.messages.c.id == bindparam("i")), ("i",))
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    with db.begin() as conn:
        message_id = store.insert_message(conn, COMMAND, path="api", received_at=NOW)
        first = one_key.run(conn, {"i": message_id})
        assert first.fetchall() == [(COMMAND.entity,)]
        with listening(db, "before_cursor_execute", count):
            again = one_key.run(conn, {"i": message_id})
            assert again is first and again.fetchall() == [(COMMAND.entity,)]
    assert len(seen) == 1 and "messages" in seen[0]
