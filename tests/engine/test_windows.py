"""Length and time windows (driven by a ManualClock), check-on-exit, grouping, filters."""

from __future__ import annotations

from datetime import timedelta

from rules.store import Database
from tests.engine.helpers import START, make_rig, outbox_texts, rule, window_rows

COUNT3 = "count() >= 3"


def test_length_window_counts_the_last_n_commands(db: Database) -> None:
    rig = make_rig(db, [rule(condition=COUNT3, window="length(3)")])
    assert rig.texts("a") == [] and rig.texts("b") == []
    assert rig.texts("c") == ["open e1 c"]
    assert rig.engine.windows()[0]["count"] == 3
    assert rig.texts("d") == ["repeat 1 d"]  # still 3: the oldest left
    assert rig.engine.windows()[0]["count"] == 3


def test_time_window_expires_on_tick(db: Database) -> None:
    rig = make_rig(db, [rule(condition=COUNT3, window="time(1 minute)")])
    for message in "abc":
        rig.send(message)
        rig.advance(10)
    assert [a["textValue"] for a in rig.engine.open_alerts()] == ["c"]
    rig.advance(25)  # the first command (at 0s) is now 55s old: still inside
    assert rig.engine.tick() == []
    assert rig.engine.windows()[0]["count"] == 3
    rig.advance(10)  # 65s: the first has left; no check on exit, so the alert stays
    assert rig.engine.tick() == []
    assert rig.engine.windows()[0]["count"] == 2
    assert len(rig.engine.open_alerts()) == 1
    assert window_rows(db)[0].count == 2


def test_check_on_exit_cancels_when_commands_leave(db: Database) -> None:
    rig = make_rig(db, [rule(condition=COUNT3, window="time(1 minute)", check_on_exit=True)])
    for message in "abc":
        rig.send(message)
    rig.advance(61)
    notes = rig.engine.tick()
    assert [n.text for n in notes] == ["cancel e1"]
    assert rig.engine.open_alerts() == []
    assert outbox_texts(db)[-1] == ("cancel", "cancel e1")
    # empty and cancelled: the window is gone, in memory and in the store
    assert rig.engine.windows() == [] and window_rows(db) == []


def test_commands_arriving_late_keep_the_window_sorted(db: Database) -> None:
    rig = make_rig(db, [rule(condition=COUNT3, window="time(1 minute)")])
    rig.send("now")
    rig.send("older", date=START - timedelta(seconds=30))
    rig.advance(35)  # "older" (at -30s) leaves at +30s; "now" stays
    rig.engine.tick()
    assert rig.engine.windows()[0]["count"] == 1
    assert rig.engine.windows()[0]["last_command"]["message"] == "now"


def test_group_by_entity_makes_one_window_per_entity(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad", entity="a")
    rig.send("bad", entity="b")
    assert sorted(a["entity"] for a in rig.engine.open_alerts()) == ["a", "b"]


def test_without_entity_grouping_all_entities_share_a_window(db: Database) -> None:
    rig = make_rig(db, [rule(group_by_entity=False)])
    assert rig.texts("bad", entity="a") == ["open a bad"]
    assert rig.texts("bad", entity="b") == ["repeat 1 bad"]
    assert len(rig.engine.windows()) == 1


def test_group_by_listed_tags(db: Database) -> None:
    rig = make_rig(db, [rule(group_by_tags=("host",))])
    rig.send("bad", tags={"host": "h1", "x": "1"})
    rig.send("bad", tags={"host": "h1", "x": "2"})
    rig.send("bad", tags={"host": "h2"})
    rig.send("bad")  # no host tag: groups as host=""
    windows = sorted(w["tags"]["host"] for w in rig.engine.windows())
    assert windows == ["", "h1", "h2"]
    assert {w["tags"]["host"]: w["repeat_count"] for w in rig.engine.windows()}["h1"] == 1


def test_group_by_all_tags(db: Database) -> None:
    rig = make_rig(db, [rule(group_by_tags="all")])
    rig.send("bad", tags={"a": "1"})
    rig.send("bad", tags={"a": "1"})
    rig.send("bad", tags={"a": "1", "b": "2"})
    assert sorted(w["repeat_count"] for w in rig.engine.windows()) == [0, 1]


def test_type_source_entity_filters_and_filter_expression(db: Database) -> None:
    rig = make_rig(db, [rule(source="app", entities=("web-*",), types=("webhook",),
                             filter="tags.env = 'prod'")])
    assert rig.texts("bad", entity="web-1", tags={"env": "prod"}) == ["open web-1 bad"]
    assert rig.texts("bad", entity="db-1", tags={"env": "prod"}) == []
    assert rig.texts("bad", entity="web-2", tags={"env": "test"}) == []
    assert rig.texts("bad", entity="web-3", source="other", tags={"env": "prod"}) == []
    assert rig.texts("bad", entity="web-4", type="x", tags={"env": "prod"}) == []


def test_time_offset_discards_old_commands(db: Database) -> None:
    rig = make_rig(db, [rule(time_offset_seconds=60)])
    assert rig.texts("bad", date=START - timedelta(minutes=5)) == []
    assert rig.texts("bad", date=START - timedelta(seconds=30)) == ["open e1 bad"]


def test_a_failing_filter_is_a_rule_error_and_filters_out(db: Database) -> None:
    rig = make_rig(db, [rule(filter="1 / (length(message) - 3) > 0")])
    assert rig.texts("bad") == []
    [error] = rig.engine.rule_errors(10)
    assert error["rule"] == "r1" and "zero" in error["reason"].lower()
    assert error["command"]["message"] == "bad"
    assert rig.texts("badder") == ["open e1 badder"]  # the engine keeps going


def test_a_failing_condition_leaves_the_status_alone(db: Database) -> None:
    rig = make_rig(db, [rule(condition="1 / (length(message) - 2) > 0")])
    assert rig.texts("bad") == ["open e1 bad"]
    assert rig.texts("ok") == []  # division by zero: recorded, no cancel
    assert rig.engine.open_alerts()[0]["status"] == "OPEN"
    assert len(rig.engine.rule_errors(10)) == 1


def test_template_errors_keep_the_placeholder_and_are_recorded(db: Database) -> None:
    from tests.engine.helpers import note

    spec = note(open="x=${1 / (length(message) - 3)} m=${message}", repeat=None, cancel=None)
    rig = make_rig(db, [rule(notifications=(spec,))])
    assert rig.texts("bad") == ["x=${1 / (length(message) - 3)} m=bad"]
    [error] = rig.engine.rule_errors(10)
    assert error["expression"] and error["command"]["message"] == "bad"


def test_conditions_read_the_message_store_in_the_same_transaction(db: Database) -> None:
    condition = ("db_message_count('10 minute', 'webhook', 'app') >= 2 AND "
                 "db_message_last('10 minute', 'webhook', 'app').message = 'second'")
    rig = make_rig(db, [rule(condition=condition)])
    assert rig.texts("first") == []  # only itself in the store so far
    rig.advance(1)
    assert rig.texts("second") == ["open e1 second"]  # the command just stored counts
    assert rig.engine.rule_errors(10) == []
