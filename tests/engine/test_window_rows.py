"""The window row's UPDATE binds its JSON values as text serialized in the store
(rules.store.hot_rows.json_text): what it writes reads back as the typed INSERT's values,
and on SQLite it is the very text SQLAlchemy's JSON type would have written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from rules.store import Database, hot_rows
from rules.store import engine_state as rows
from rules.store.tables.engine import rule_windows

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _state(**json_values: Any) -> dict[str, Any]:
    return {"status": "OPEN", "count": 1, "repeat_count": 2, "alert_id": None, "severity": 6,
            "open_time": NOW, "last_event_time": NOW, "acknowledged": False,
            "last_text": "disk é", "updated_at": NOW, **json_values}


@pytest.mark.parametrize("value", [
    None, [], {}, "x", 3, 2.5, float("nan"), True,
    {"entity": "é\u2028\"q\"", "tags": {"a": "1"}, "n": [1, None, False], "date": "2024"},
])
def test_json_text_is_json_dumps(value: Any) -> None:
    assert hot_rows.json_text(value) == json.dumps(value)


def test_an_updated_window_reads_back_as_written(db: Database) -> None:
    first = {"last_command": None, "entries": [], "counters": {"before": "CANCEL"}}
    later = {"last_command": {"entity": "é", "tags": {"k": "v"}, "message_id": 7},
             "entries": [["2024-05-01T12:00:00.000Z", 7]],
             "counters": {"repeat": {"0": "2024-05-01T12:00:00.000Z"}, "pending": {},
                          "times": [None, None, "2024-05-01T12:00:00.000Z"], "before": "OPEN"}}
    with db.begin() as conn:
        window_id = rows.insert_window(conn, {"rule": "r", "key": "k", "fingerprint": "f",
                                              "entity": "e", "tags": {}, **_state(**first)})
        rows.update_windows(conn, [(window_id, _state(**later))])
    with db.connect() as conn:
        row = conn.execute(select(rule_windows).where(rule_windows.c.id == window_id)).one()
    assert (row.last_command, row.entries, row.counters) == (
        later["last_command"], later["entries"], later["counters"])
    assert row.last_text == "disk é" and row.repeat_count == 2


def test_sqlite_stores_the_text_the_json_type_writes(sqlite_db: Database) -> None:
    values = {"last_command": {"message": "é \"quoted\"", "message_id": 3}, "entries": [],
              "counters": {"times": [None], "before": "REPEAT"}}
    with sqlite_db.begin() as conn:
        window_id = rows.insert_window(conn, {"rule": "r", "key": "k", "fingerprint": "f",
                                              "entity": "e", "tags": {}, **_state(**values)})
        typed = conn.execute(text("SELECT last_command, entries, counters FROM rule_windows "
                                  "WHERE id = :i"), {"i": window_id}).one()
        rows.update_windows(conn, [(window_id, _state(**values))])
        raw = conn.execute(text("SELECT last_command, entries, counters FROM rule_windows "
                                "WHERE id = :i"), {"i": window_id}).one()
    assert tuple(raw) == tuple(typed)


def test_instant_converts_each_value_as_the_time_type_does() -> None:
    from sqlalchemy.dialects import sqlite

    from rules.store.tables.base import Time

    dialect = sqlite.dialect()
    plain = Time.dialect_impl(dialect).bind_processor(dialect)
    remembering = hot_rows.Instant().bind_processor(dialect)
    assert plain is not None and remembering is not None
    a, b, c = NOW, NOW.replace(microsecond=5), datetime(2024, 5, 1, 12, 0)  # c: naive
    for value in (a, a, b, a, c, b, b, None, a, c):
        assert remembering(value) == plain(value)


def test_an_outbox_row_reads_back_with_its_target_and_times(db: Database) -> None:
    from rules.notification import Notification
    from rules.store import outbox
    from rules.store.tables.engine import outbox as outbox_table

    note = Notification(rule="r", endpoint="rocketchat", trigger="open", text="t",
                        target={"room_id": "é", "tmid": None})
    with db.begin() as conn:
        outbox.write(conn, note, status="pending", now=NOW)
    with db.connect() as conn:
        row = conn.execute(select(outbox_table).where(outbox_table.c.id == note.id)).one()
    assert row.target == {"room_id": "é", "tmid": None}
    assert [t.replace(tzinfo=UTC) if t.tzinfo is None else t
            for t in (row.created_at, row.due_at, row.next_attempt_at)] == [NOW] * 3
    assert row.delivered_at is None


def test_hot_rows_send_the_same_sql_on_sqlite() -> None:
    from sqlalchemy import insert
    from sqlalchemy.dialects import sqlite

    from rules.store.tables.base import messages
    from rules.store.tables.conversation import explanations
    from rules.store.tables.engine import alerts, outbox

    for source in (rule_windows, alerts, outbox, messages, explanations):
        hot = hot_rows.hot_row(source)
        assert str(insert(hot).compile(dialect=sqlite.dialect())) == str(
            insert(source).compile(dialect=sqlite.dialect()))


def test_an_alert_reads_back_with_its_tags_and_times(db: Database) -> None:
    values = {"rule": "r", "window_key": "k", "entity": "e", "tags": {"mount": "/é"},
              "metric": "message", "severity": None, "open_time": NOW, "last_event_time": NOW,
              "repeat_count": 0, "acknowledged": False, "text_value": "t",
              "rule_expression": "true", "rule_filter": "", "window": "length(1)",
              "received_date": NOW}
    with db.begin() as conn:
        alert_id = rows.insert_alert(conn, values)
    with db.connect() as conn:
        found = rows.alert_row(conn, alert_id)
    assert found is not None
    assert found["tags"] == {"mount": "/é"} and found["open_time"] == NOW
    assert found["received_date"] == NOW and found["close_time"] is None


def test_remembering_goes_by_identity_not_equality() -> None:
    from datetime import timedelta, timezone

    seen: list[datetime] = []

    def convert(value: datetime) -> str:
        seen.append(value)
        return value.isoformat()

    remembered = hot_rows.remembering(convert)
    utc = datetime(2024, 5, 1, 12, tzinfo=UTC)
    east = utc.astimezone(timezone(timedelta(hours=2)))  # the same instant, equal
    assert remembered(utc) != remembered(east)
    assert remembered(utc) == utc.isoformat() and remembered(east) == east.isoformat()
    assert seen == [utc, east] and remembered(None) is None
