"""A chat notification's cause (the once-only key of the message that caused it) written with
its row by the engine: the same target as ``stamp_cause`` gives it later, without the
UPDATE."""

from __future__ import annotations

from typing import Any

from rules.store import Database
from rules.store import outbox as outbox_store
from tests.engine.helpers import cmd, listening, make_rig, note, outbox_rows, rule


def test_the_engine_writes_the_cause_and_stamp_cause_leaves_the_row(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note("rocketchat"), note("log")))])
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("UPDATE OUTBOX"):
            updates.append(sql)

    with db.begin() as conn:
        notes = rig.engine.process(conn, cmd("bad", tags={"channel_id": "R1"}), None,
                                   cause="rc:m1")
        with listening(db, "before_cursor_execute", count):
            outbox_store.stamp_cause(conn, notes, "rc:m1")
    rig.engine.after_commit()
    assert updates == []
    targets = {row.endpoint: row.target for row in outbox_rows(db)}
    assert targets["rocketchat"] == {"room_id": "R1", "tmid": None, "cause": "rc:m1"}
    assert targets["log"] == {}  # not a chat row: no cause
    assert [n.target.get("cause") for n in notes] == ["rc:m1", None]


def test_without_a_cause_stamp_cause_still_stamps(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note("rocketchat"),))])
    with db.begin() as conn:
        notes = rig.engine.process(conn, cmd("bad", tags={"channel_id": "R1"}), None)
        outbox_store.stamp_cause(conn, notes, "rc:m2")
    rig.engine.after_commit()
    assert [row.target["cause"] for row in outbox_rows(db)] == ["rc:m2"]
