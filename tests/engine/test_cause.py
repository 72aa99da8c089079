"""A chat notification's cause (the once-only key of the message that caused it) is written
with its row by the engine, in the row's INSERT: no UPDATE of the outbox afterwards."""

from __future__ import annotations

from typing import Any

from rules.store import Database
from tests.engine.helpers import cmd, listening, make_rig, note, outbox_rows, rule


def test_the_engine_writes_the_cause_with_the_row(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note("rocketchat"), note("log")))])
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("UPDATE OUTBOX"):
            updates.append(sql)

    with db.begin() as conn, listening(db, "before_cursor_execute", count):
        notes = rig.engine.process(conn, cmd("bad", tags={"channel_id": "R1"}), None,
                                   cause="rc:m1")
    rig.engine.after_commit()
    assert updates == []
    targets = {row.endpoint: row.target for row in outbox_rows(db)}
    assert targets["rocketchat"] == {"room_id": "R1", "tmid": None, "cause": "rc:m1"}
    assert targets["log"] == {}  # not a chat row: no cause
    assert [n.target.get("cause") for n in notes] == ["rc:m1", None]


def test_without_a_cause_the_row_has_none(db: Database) -> None:
    # the endpoint then derives the reply's id from the row id (bot.rest.endpoint)
    rig = make_rig(db, [rule(notifications=(note("rocketchat"),))])
    with db.begin() as conn:
        rig.engine.process(conn, cmd("bad", tags={"channel_id": "R1"}), None)
    rig.engine.after_commit()
    assert [row.target for row in outbox_rows(db)] == [{"room_id": "R1", "tmid": None}]
