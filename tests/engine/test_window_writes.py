"""A window's row is written once per transaction, just before the commit (rules.engine.txn):
many commands through one window cost one row write, and the row commits or rolls back with
the rest of the transaction."""

from __future__ import annotations

from typing import Any

import pytest

from rules.store import Database
from rules.store import engine_state as rows
from tests.engine.helpers import cmd, listening, make_rig, outbox_rows, rule, window_rows


def _window_writes(db: Database, work: Any) -> list[tuple[str, int]]:
    """(statement, rows) of each INSERT or UPDATE of ``rule_windows`` that ``work()`` sends."""
    seen: list[tuple[str, int]] = []

    def count(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any,
              many: bool) -> None:
        words = sql.split()
        if words[0].upper() in ("INSERT", "UPDATE") and "rule_windows" in sql:
            seen.append((words[0].upper(), len(params) if many else 1))

    with listening(db, "before_cursor_execute", count):
        work()
    return seen


def test_a_batch_writes_each_window_once_with_its_last_state(db: Database) -> None:
    rig = make_rig(db, [rule()])

    def burst() -> None:
        with rig.ingestor.batch():
            for i in range(5):
                rig.send(f"bad {i}")
            rig.send("bad", entity="e2")

    assert _window_writes(db, burst) == [("INSERT", 1), ("INSERT", 1)]
    assert _window_writes(db, burst) == [("UPDATE", 2)]  # both windows, one executemany
    by_entity = {row.entity: row for row in window_rows(db)}
    assert by_entity["e1"].repeat_count == 9 and by_entity["e2"].repeat_count == 1
    assert by_entity["e1"].last_command["message"] == "bad 4"
    assert by_entity["e1"].last_text == "repeat 9 bad 4"
    restarted = rig.restart()
    assert [(w["entity"], w["repeat_count"]) for w in restarted.engine.windows()] == [
        ("e1", 9), ("e2", 1)]


def test_the_rows_roll_back_with_the_transaction(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    before = [tuple(row) for row in window_rows(db)]
    with pytest.raises(RuntimeError), db.begin() as conn:
        rig.engine.process(conn, cmd("bad"), None)
        rig.engine.process(conn, cmd("bad", entity="e2"), None)
        raise RuntimeError("the caller failed before commit")
    rig.engine.after_rollback()
    assert [tuple(row) for row in window_rows(db)] == before
    # the next transaction does not write what the rolled-back one left unsaved
    assert _window_writes(db, lambda: rig.send("bad", entity="e3")) == [("INSERT", 1)]
    assert [row.entity for row in window_rows(db)] == ["e1", "e3"]


def test_a_failed_row_write_fails_the_commit(db: Database,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")

    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rows, "update_windows", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        rig.send("bad")
    monkeypatch.undo()
    assert [w["repeat_count"] for w in rig.engine.windows()] == [0]
    assert [row.trigger for row in outbox_rows(db)] == ["open"]  # the repeat's row too
    assert rig.texts("bad") == ["repeat 1 bad"]
    assert [row.repeat_count for row in window_rows(db)] == [1]


def test_a_window_resolved_in_its_transaction_is_not_written(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    with db.begin() as conn:
        rig.engine.process(conn, cmd("bad", entity="e2"), None)  # a new window, unsaved
        rig.engine.process(conn, cmd("bad"), None)  # a stored one, unsaved
        opened = {a["entity"]: a["id"] for a in rig.engine.open_alerts()}
        assert rig.engine.resolve(opened["e2"], by="@a", conn=conn)
        assert rig.engine.resolve(opened["e1"], by="@a", conn=conn)
    rig.engine.after_commit()
    assert window_rows(db) == [] and rig.engine.windows() == []
    assert rig.restart().engine.windows() == []


def test_a_commit_on_another_connection_leaves_the_rows_to_their_own(db: Database) -> None:
    rig = make_rig(db, [rule()])
    with db.begin() as conn:
        rig.engine.process(conn, cmd("bad"), None)
        with db.connect() as other:  # e.g. a reader's commit, in another transaction
            other.exec_driver_sql("SELECT 1")
            other.commit()
        assert rig.engine._unsaved  # noqa: SLF001 - still waiting for its own commit
    rig.engine.after_commit()
    assert [row.entity for row in window_rows(db)] == ["e1"]


@pytest.mark.parametrize("shape", ["new", "open", "held", "cancelled"])
def test_the_counters_text_is_the_json_of_the_counters(shape: str) -> None:
    from datetime import timedelta

    from rules.command import format_iso_date
    from rules.engine.state import _counters  # noqa: PLC2701 - what is compared
    from rules.engine.status import Status
    from rules.engine.windows import Window
    from rules.store.hot_rows import json_text
    from tests.engine.helpers import START

    later = START + timedelta(seconds=1, microseconds=1500)
    window = Window("r", "k", "e", {})
    if shape != "new":
        window.status, window.before_status = Status.REPEAT, Status.OPEN
        window.repeat_time, window.add_time = later, later
        window.last_repeat_sent = {0: START, 3: later}
    if shape == "held":
        window.pending_open = {0: (12, later), 2: (None, START)}
    if shape == "cancelled":
        window.before_status, window.cancel_time = Status.REPEAT, later

    def iso(t: Any) -> Any:
        return format_iso_date(t) if t else None

    expected = {
        "repeat": {str(k): iso(v) for k, v in window.last_repeat_sent.items()},
        "pending": {str(k): [i, iso(d)] for k, (i, d) in window.pending_open.items()},
        "times": [iso(t) for t in (window.repeat_time, window.cancel_time, window.add_time)],
        "before": window.before_status.value,
    }
    assert _counters(window) == json_text(expected)


def test_a_commit_the_listener_did_not_see_still_gets_the_rows(
        sqlite_db: Database, caplog: pytest.LogCaptureFixture) -> None:
    rig = make_rig(sqlite_db, [rule()])
    other = Database(sqlite_db.url)  # the same file through another SQLAlchemy engine
    try:
        with other.begin() as conn:
            rig.engine.process(conn, cmd("bad"), None)
        with caplog.at_level("ERROR", logger="rules.engine.txn"):
            rig.engine.after_commit()  # written now, in a transaction of its own
    finally:
        other.dispose()
    assert "were not written before the commit" in caplog.text
    assert [(row.entity, row.status) for row in window_rows(sqlite_db)] == [("e1", "OPEN")]
