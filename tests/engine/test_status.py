"""Every row of the status table, through the engine and into the outbox."""

from __future__ import annotations

import pytest

from rules.engine.status import Status, transition
from rules.store import Database
from tests.engine.helpers import alert_rows, make_rig, outbox_texts, rule


@pytest.mark.parametrize(("before", "condition", "after", "trigger"), [
    (Status.CANCEL, True, Status.OPEN, "open"),
    (Status.OPEN, True, Status.REPEAT, "repeat"),
    (Status.REPEAT, True, Status.REPEAT, "repeat"),
    (Status.OPEN, False, Status.CANCEL, "cancel"),
    (Status.REPEAT, False, Status.CANCEL, "cancel"),
    (Status.CANCEL, False, Status.CANCEL, None),
])
def test_transition_table(before: Status, condition: bool, after: Status,
                          trigger: str | None) -> None:
    assert transition(before, condition) == (after, trigger)


def test_cancel_and_false_stays_cancel_and_sends_nothing(db: Database) -> None:
    rig = make_rig(db, [rule()])
    assert rig.texts("ok") == []
    assert rig.engine.windows()[0]["status"] == "CANCEL"
    assert outbox_texts(db) == [] and alert_rows(db) == []


def test_open_repeat_repeat_cancel(db: Database) -> None:
    rig = make_rig(db, [rule()])
    assert rig.texts("bad") == ["open e1 bad"]
    assert rig.texts("worse") == ["repeat 1 worse"]
    assert rig.texts("worst") == ["repeat 2 worst"]
    assert rig.texts("ok") == ["cancel e1"]
    assert outbox_texts(db) == [("open", "open e1 bad"), ("repeat", "repeat 1 worse"),
                                ("repeat", "repeat 2 worst"), ("cancel", "cancel e1")]
    assert rig.engine.windows()[0]["status"] == "CANCEL"


def test_open_alert_carries_id_severity_and_counts(db: Database) -> None:
    rig = make_rig(db, [rule(severity="CRITICAL")])
    first = rig.send("bad").notifications[0]
    rig.advance(5)
    rig.send("still bad")
    [alert] = rig.engine.open_alerts()
    assert alert["id"] == first.alert_id
    assert (alert["severity"], alert["repeatCount"], alert["textValue"]) == (
        "CRITICAL", 1, "still bad")
    assert alert["openDate"] < alert["lastEventDate"]
    assert not alert["acknowledged"]


def test_cancel_moves_the_alert_into_history(db: Database) -> None:
    rig = make_rig(db, [rule()])
    alert_id = rig.send("bad").notifications[0].alert_id
    rig.send("bad again")
    rig.advance(90)
    rig.send("ok")
    assert rig.engine.open_alerts() == []
    [record] = rig.engine.alert_history()
    assert record["id"] == alert_id and record["type"] == "CANCEL"
    assert record["repeatCount"] == 1 and record["alertDuration"] == 90_000
    assert record["ruleExpression"] == "message != 'ok'" and record["alert"] == "cancel e1"


def test_a_new_open_after_cancel_gets_a_new_alert_id(db: Database) -> None:
    rig = make_rig(db, [rule()])
    first = rig.send("bad").notifications[0].alert_id
    rig.send("ok")
    second = rig.send("bad").notifications[0].alert_id
    assert first is not None and second is not None and second > first
    assert [n["repeatCount"] for n in rig.engine.open_alerts()] == [0]


def test_inherited_severity_follows_the_message(db: Database) -> None:
    from rules.command import Severity

    rig = make_rig(db, [rule(severity="UNKNOWN")])
    rig.send("bad", severity=Severity.MAJOR)
    assert rig.engine.open_alerts()[0]["severity"] == "MAJOR"
    rig.send("bad", severity=Severity.MINOR)
    assert rig.engine.open_alerts()[0]["severity"] == "MINOR"
    rig.send("bad")
    assert rig.engine.open_alerts()[0]["severity"] == "UNKNOWN"
