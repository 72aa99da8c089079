"""Repeat frequency (all, every N events, every N minutes) and delay on open."""

from __future__ import annotations

from rules.store import Database
from tests.engine.helpers import (
    Rig,
    every,
    make_rig,
    note,
    outbox_rows,
    outbox_texts,
    rule,
    silence_rule,
)


def texts_over(rig: Rig, messages: list[str], step: float = 0) -> list[list[str]]:
    out: list[list[str]] = []
    for message in messages:
        out.append(rig.texts(message))
        rig.advance(step)
    return out


def test_repeat_all_sends_every_repeat(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(repeat_every=every("all")),))])
    assert texts_over(rig, ["a", "b", "c"]) == [["open e1 a"], ["repeat 1 b"], ["repeat 2 c"]]


def test_repeat_every_n_events(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(repeat_every=every("events", 3)),))])
    sent = texts_over(rig, ["o", "1", "2", "3", "4", "5", "6"])
    assert sent == [["open e1 o"], [], [], ["repeat 3 3"], [], [], ["repeat 6 6"]]


def test_repeat_every_n_minutes(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(repeat_every=every("minutes", 2)),))])
    # commands every 50 s: repeat 3 at 150 s is the first 2 minutes after the open, then
    # the next one at least 2 minutes after that is repeat 6 at 300 s
    sent = texts_over(rig, ["o", "1", "2", "3", "4", "5", "6"], step=50)
    assert sent == [["open e1 o"], [], [], ["repeat 3 3"], [], [], ["repeat 6 6"]]


def test_frequencies_are_per_notification(db: Database) -> None:
    chat = note("rocketchat", repeat="chat ${repeat_count}", repeat_every=every("events", 2))
    log = note("log", repeat="log ${repeat_count}")
    rig = make_rig(db, [rule(notifications=(chat, log))])
    assert texts_over(rig, ["o", "1", "2"])[1:] == [["log 1"], ["chat 2", "log 2"]]


def test_delay_on_open_holds_the_notification_until_due(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    [held] = rig.send("bad").notifications
    assert held.due_at is not None and (held.due_at - rig.clock.now()).total_seconds() == 60
    row = outbox_rows(db)[0]
    assert row.status == "pending" and row.next_attempt_at.replace(tzinfo=None) == \
        held.due_at.replace(tzinfo=None)
    assert rig.texts("bad") == []  # no repeat while the open is held
    rig.advance(61)
    rig.engine.tick()
    assert rig.texts("bad") == ["repeat 2 bad"]
    assert [w["status"] for w in rig.engine.windows()] == ["REPEAT"]


def test_cancel_within_the_delay_sends_neither_open_nor_cancel(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    rig.send("bad")
    rig.advance(30)
    assert rig.texts("ok") == []
    assert [r.status for r in outbox_rows(db)] == ["cancelled"]
    assert rig.engine.open_alerts() == [] and len(rig.engine.alert_history()) == 1


def test_cancel_after_the_delay_sends_the_cancel(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    rig.send("bad")
    rig.advance(61)
    assert rig.texts("ok") == ["cancel e1"]
    assert outbox_texts(db, "pending") == [("open", "open e1 bad"), ("cancel", "cancel e1")]


def test_a_held_open_already_claimed_by_the_sender_still_gets_its_cancel(db: Database) -> None:
    from sqlalchemy import update

    from rules.store.tables.engine import outbox

    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    rig.send("bad")
    with db.begin() as conn:  # as if another instance's sender took it early
        conn.execute(update(outbox).values(status="sending"))
    assert rig.texts("ok") == ["cancel e1"]


def test_silenced_rules_change_status_but_store_silenced_notifications(db: Database) -> None:

    rig = make_rig(db, [rule()])
    made = silence_rule(rig, "r1", 3600)
    assert rig.texts("bad") == []
    assert rig.engine.open_alerts()[0]["status"] == "OPEN"
    assert outbox_texts(db, "silenced") == [("open", "open e1 bad")]
    assert [r.silence_id for r in outbox_rows(db)] == [made.id]
    ended, note = rig.engine.expire_silence(made.id, by="@test")
    assert ended is not None and ended.expired_by == "@test" and note is None  # no room
    assert rig.engine.expire_silence(made.id, by="@test") == (None, None)
    assert rig.texts("bad") == ["repeat 1 bad"]


def test_a_silence_ends_by_itself(db: Database) -> None:

    rig = make_rig(db, [rule()])
    silence_rule(rig, "r1", 300)
    rig.advance(301)
    assert rig.texts("bad") == ["open e1 bad"]


def test_a_held_open_without_a_cancel_text_is_still_withdrawn(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(cancel=None, delay_open_seconds=60),))])
    rig.send("bad")
    rig.advance(30)
    rig.send("ok")
    assert [r.status for r in outbox_rows(db)] == ["cancelled"]
