"""The engine's state follows the caller's transaction; tick and commands do not deadlock."""

from __future__ import annotations

import threading

import pytest

from rules.store import Database
from tests.engine.helpers import cmd, listening, make_rig, outbox_rows, rule, window_rows


def test_rollback_restores_windows_and_alerts(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    with pytest.raises(RuntimeError), db.begin() as conn:
        rig.engine.process(conn, cmd("ok"), None)  # would cancel
        rig.engine.process(conn, cmd("bad", entity="e2"), None)  # would open e2
        raise RuntimeError("the caller failed before commit")
    rig.engine.after_rollback()
    assert [(w["entity"], w["status"]) for w in rig.engine.windows()] == [("e1", "OPEN")]
    assert len(outbox_rows(db)) == 1 and len(window_rows(db)) == 1
    assert rig.texts("bad") == ["repeat 1 bad"]


def test_after_commit_without_process_is_harmless(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.engine.after_commit()
    rig.engine.after_rollback()
    assert rig.texts("bad") == ["open e1 bad"]


def test_ticks_and_commands_from_two_threads_do_not_deadlock(sqlite_db: Database) -> None:
    rig = make_rig(sqlite_db, [rule(window="time(1 minute)", condition="count() >= 1",
                                    check_on_exit=True)])
    errors: list[BaseException] = []
    done = threading.Event()

    def ticker() -> None:
        try:
            while not done.is_set():
                rig.engine.tick()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        for i in range(100):
            rig.send("bad", entity=f"e{i % 5}")
            rig.advance(1)
    finally:
        done.set()
        thread.join(30)
    assert not thread.is_alive() and errors == []
    assert len(rig.engine.open_alerts()) == 5


def test_an_idle_tick_opens_no_transaction(sqlite_db: Database) -> None:
    rig = make_rig(sqlite_db, [rule(window="time(1 minute)", condition="count() >= 1")])
    rig.send("bad")
    begun: list[object] = []

    def on_begin(conn: object) -> None:
        begun.append(conn)

    with listening(sqlite_db, "begin", on_begin):
        assert rig.engine.tick() == [] and begun == []  # nothing has left the window yet
        rig.advance(61)
        rig.engine.tick()
        # the window's change, and a read of the silences: by the engine's clock (the rig's)
        # their copy is 61 s old, older than REFRESH_SECONDS
        assert len(begun) == 2
    assert rig.engine.windows()[0]["count"] == 0


def test_window_copy_keeps_every_field_and_shares_no_container() -> None:
    import dataclasses

    from rules.command import Severity
    from rules.engine.status import Status
    from rules.engine.windows import Window
    from tests.engine.helpers import START

    window = Window("r", "k", "e", {"a": "1"}, Status.REPEAT, Status.OPEN, 3,
                    [(START, 1)], cmd(), 9, START, 4, 77, Severity.MAJOR, START, START, None,
                    START, True, "text", {0: START}, {1: (5, START)}, 12)
    twin = window.copy()
    # Window.copy() names every field; a new field must be added there (and here)
    assert len(dataclasses.fields(Window)) == 23
    for field in dataclasses.fields(Window):
        assert getattr(twin, field.name) == getattr(window, field.name), field.name
    for name in ("entries", "last_repeat_sent", "pending_open"):
        assert getattr(twin, name) is not getattr(window, name)


def test_a_persisting_engine_refuses_to_work_without_the_connection(db: Database) -> None:
    rig = make_rig(db, [rule()])
    with pytest.raises(ValueError, match="connection"):
        rig.engine.process(None, cmd("bad"), None)
    assert rig.texts("bad") == ["open e1 bad"]  # and the lock was not left taken
