"""What operators see: open alerts, history filters, windows, rule errors, the notification log."""

from __future__ import annotations

from datetime import timedelta

from rules.store import Database
from rules.store import outbox as outbox_store
from tests.engine.helpers import START, make_rig, rule, silence_rule


def test_history_filters_by_rule_and_close_time(db: Database) -> None:
    rig = make_rig(db, [rule("a"), rule("b", source="other")])
    for _ in range(3):
        rig.send("bad")
        rig.send("bad", source="other")
        rig.advance(30)
        rig.send("ok")
        rig.send("ok", source="other")
        rig.advance(30)
    history = rig.engine.alert_history()
    assert len(history) == 6 and history[0]["date"] >= history[-1]["date"]
    assert {h["rule"] for h in rig.engine.alert_history(rules=["b"])} == {"b"}
    since = START + timedelta(minutes=1)
    until = START + timedelta(minutes=2)
    window = rig.engine.alert_history(since=since, until=until)
    assert [h["rule"] for h in window] == ["b", "a"]  # closed at 1m30s, newest first
    assert len(rig.engine.alert_history(limit=2)) == 2
    record = history[0]
    assert record["tags"] == "" and record["metric"] == "message" and record["window"] == \
        "length(1)"


def test_open_alert_and_window_records(db: Database) -> None:
    rig = make_rig(db, [rule(group_by_tags=("host",))])
    rig.send("disk full", tags={"host": "h1", "dc": "x"})
    [alert] = rig.engine.open_alerts()
    assert alert["tags"] == {"host": "h1", "dc": "x"} and alert["windowTags"] == {"host": "h1"}
    assert alert["alert"] == "open e1 disk full" and alert["status"] == "OPEN"
    [window] = rig.engine.windows()
    assert window["last_command"]["message"] == "disk full" and window["alert_id"] == alert["id"]
    assert window["last_event_time"].endswith("Z")


def test_rule_errors_newest_first_with_limit(db: Database) -> None:
    rig = make_rig(db, [rule(condition="1 / (length(message) - 3) > 0")])
    for message in ("one", "two", "six"):
        rig.send(message)
    errors = rig.engine.rule_errors(2)
    assert [e["command"]["message"] for e in errors] == ["six", "two"]
    assert errors[0]["time"].endswith("Z") and errors[0]["expression"]


def test_in_memory_engine_keeps_errors_and_alerts_too() -> None:
    from rules.clock import ManualClock
    from rules.engine.rule_engine import RuleEngine
    from tests.engine.helpers import ENDPOINTS, cmd

    engine = RuleEngine(None, ManualClock(START), endpoints=ENDPOINTS)
    engine.load([rule(condition="1 / (length(message) - 3) > 0")])
    engine.process(None, cmd("bad!"), None)
    engine.process(None, cmd("bad"), None)
    engine.after_commit()
    assert len(engine.open_alerts()) == 1 and len(engine.rule_errors()) == 1
    assert engine.alert_history() == []


def test_notification_log_shows_every_status(db: Database) -> None:
    rig = make_rig(db, [rule()])
    silence_rule(rig, "r1", 60)
    rig.send("bad")
    rig.advance(120)
    rig.send("still")
    with db.connect() as conn:
        log = outbox_store.recent(conn, 10)
    assert [(n["trigger"], n["status"]) for n in log] == [("repeat", "pending"),
                                                         ("open", "silenced")]
