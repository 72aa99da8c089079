"""A new RuleEngine on the same store (a restart) continues where the old one stopped."""

from __future__ import annotations

from rules.store import Database
from tests.engine.helpers import (
    every,
    make_rig,
    note,
    outbox_rows,
    outbox_texts,
    rule,
    silence_rule,
    window_rows,
)


def test_open_alert_survives_and_its_open_is_not_resent(db: Database) -> None:
    rig = make_rig(db, [rule()])
    alert_id = rig.send("bad").notifications[0].alert_id
    rig.send("bad")
    again = rig.restart()
    assert [a["id"] for a in again.engine.open_alerts()] == [alert_id]
    assert again.texts("still bad") == ["repeat 2 still bad"]
    assert again.texts("ok") == ["cancel e1"]
    assert [t for t, _ in outbox_texts(db)] == ["open", "repeat", "repeat", "cancel"]


def test_length_window_count_survives(db: Database) -> None:
    rig = make_rig(db, [rule(condition="count() >= 3", window="length(3)")])
    rig.send("a")
    rig.send("b")
    again = rig.restart()
    assert again.texts("c") == ["open e1 c"]


def test_time_window_entries_survive_and_expire_after_restart(db: Database) -> None:
    rules = [rule(condition="count() >= 2", window="time(1 minute)", check_on_exit=True)]
    rig = make_rig(db, rules)
    rig.send("a")
    rig.advance(30)
    rig.send("b")
    again = rig.restart()
    assert again.engine.windows()[0]["count"] == 2
    again.advance(31)  # "a" leaves: count 1, condition false, cancel on exit
    assert [n.text for n in again.engine.tick()] == ["cancel e1"]


def test_repeat_every_events_counter_survives(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(repeat_every=every("events", 2)),))])
    rig.send("o")
    rig.send("1")
    again = rig.restart()
    assert again.texts("2") == ["repeat 2 2"]


def test_repeat_every_minutes_counter_survives(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(repeat_every=every("minutes", 2)),))])
    rig.send("o")
    rig.advance(130)
    assert rig.texts("1") == ["repeat 1 1"]
    again = rig.restart()
    again.advance(60)
    assert again.texts("2") == []  # only 60 s since the last repeat sent
    again.advance(61)
    assert again.texts("3") == ["repeat 3 3"]


def test_a_pending_delay_is_cancelled_after_restart(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    rig.send("bad")
    again = rig.restart()
    again.advance(10)
    assert again.texts("ok") == []
    assert [r.status for r in outbox_rows(db)] == ["cancelled"]


def test_a_pending_delay_still_fires_after_restart(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    rig.send("bad")
    again = rig.restart()
    again.advance(61)
    again.engine.tick()
    assert again.engine.windows()[0]["status"] == "OPEN"
    [row] = outbox_rows(db)
    assert row.status == "pending" and row.trigger == "open"  # now due for the sender
    assert again.texts("ok") == ["cancel e1"]


def test_silence_survives_restart(db: Database) -> None:
    rig = make_rig(db, [rule()])
    silence_rule(rig, "r1", 3600)
    again = rig.restart()
    assert again.texts("bad") == []
    assert outbox_texts(db, "silenced") == [("open", "open e1 bad")]


def test_acknowledged_flag_survives(db: Database) -> None:
    rig = make_rig(db, [rule()])
    alert_id = rig.send("bad").notifications[0].alert_id
    assert alert_id is not None
    assert rig.engine.acknowledge(alert_id, True) is True
    assert rig.engine.acknowledge(alert_id + 100, True) is False
    again = rig.restart()
    assert again.engine.open_alerts()[0]["acknowledged"] is True


def test_a_rule_changed_while_down_drops_its_windows_into_history(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    again = rig.restart([rule(condition="message = 'bad'")])
    assert again.engine.open_alerts() == [] and again.engine.windows() == []
    [record] = again.engine.alert_history()
    assert record["reason"] == "rule changed"
    assert [t for t, _ in outbox_texts(db)] == ["open"]  # no cancel notification


def test_a_rule_gone_while_down_drops_its_windows(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    again = rig.restart([rule("other")])
    assert again.engine.windows() == []
    assert again.engine.alert_history()[0]["reason"] == "rule removed"


def test_a_big_time_window_is_replayed_from_the_message_store(db: Database) -> None:
    rules = [rule(condition="count() >= 250", window="time(10 minute)", check_on_exit=True,
                  filter="tags.keep = 'yes'")]
    rig = make_rig(db, rules)
    for i in range(260):
        rig.send("bad", tags={"keep": "yes" if i % 13 else "no"})  # 20 filtered out
        rig.advance(1)
    assert rig.engine.windows()[0]["count"] == 240
    rig.send("bad", entity="other", tags={"keep": "yes"})  # another window, not replayed into
    [row] = [r for r in window_rows(db) if r.entity == "e1"]
    assert row.entries == {"replay": True, "count": 240}  # not 240 entries on every write
    again = rig.restart()
    assert {w["entity"]: w["count"] for w in again.engine.windows()} == {"e1": 240, "other": 1}
    again.advance(342)  # now 602 s: the first kept command (sent at 1 s) has left
    again.engine.tick()
    assert {w["entity"]: w["count"] for w in again.engine.windows()}["e1"] == 239
