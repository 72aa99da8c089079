"""Loading rules: compile errors, reload semantics, the type/source index."""

from __future__ import annotations

import pytest

from rules.clock import ManualClock
from rules.compiled import RuleIndex, compile_rules, required_value
from rules.engine import RuleEngine
from rules.model import Rule, WindowSpec
from rules.store import Database
from tests.engine.helpers import ENDPOINTS, START, cmd, make_rig, note, outbox_texts, rule


def test_faulty_rules_are_skipped_and_reported(sqlite_db: Database) -> None:
    engine = RuleEngine(sqlite_db, ManualClock(START), endpoints=ENDPOINTS)
    errors = engine.load([
        rule("good"),
        rule("syntax", condition="message = "),
        rule("function", condition="nope(message)"),
        rule("endpoint", notifications=(note("nowhere"),)),
        rule("window", window="length(0)"),
        Rule(name="time", window=WindowSpec(kind="time", seconds=0, text="time(0 second)")),
        rule("severity", severity="PURPLE"),
        rule("template", notifications=(note(open="${message"),)),
        rule("good"),
    ])
    assert [(e.rule, e.field) for e in errors] == [
        ("syntax", "condition"), ("function", "condition"),
        ("endpoint", "notifications[0].endpoint"), ("window", "window"), ("time", "window"),
        ("severity", "severity"), ("template", "notifications[0].open"), ("good", "name"),
    ]
    assert "column" in errors[0].message and "nowhere" in errors[2].message
    assert [r.name for r in engine.rules()] == ["good"]


def test_notification_only_change_keeps_windows(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    changed = rule(notifications=(note(repeat="again ${repeat_count}"),))
    assert rig.engine.load([changed]) == []
    assert rig.texts("bad") == ["again 1"]


def test_condition_change_drops_windows_without_cancel(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    assert rig.engine.load([rule(condition="message = 'bad'")]) == []
    assert rig.engine.windows() == [] and rig.engine.open_alerts() == []
    assert rig.engine.alert_history()[0]["reason"] == "rule changed"
    assert rig.texts("bad") == ["open e1 bad"]
    assert [t for t, _ in outbox_texts(db)] == ["open", "open"]


def test_disabling_a_rule_drops_its_windows(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    rig.engine.load([rule(enabled=False)])
    assert rig.engine.windows() == []
    assert rig.texts("bad") == []
    assert rig.engine.alert_history()[0]["reason"] == "rule disabled"


@pytest.mark.parametrize(("text", "expected"), [
    ("source = 'rocket.chat'", ("rocket.chat",)),
    ("tags.bot != 'true' AND source == \"Slack\"", ("slack",)),
    ("'x' = source && message LIKE '*a*'", ("x",)),
    ("source = 'a' OR source = 'b'", ()),
    ("NOT source = 'a'", ()),
    ("(source = 'a')", ()),
    ("tags.source = 'a'", ()),
    ("message = 'source = ''x'''", ()),
    ("message = 'a OR b' AND source = 'c'", ("c",)),
])
def test_required_value_is_conservative(text: str, expected: tuple[str, ...]) -> None:
    assert required_value(text, "source") == expected


def test_index_returns_only_rules_that_can_match_in_rule_order() -> None:
    rules = [rule("any", source=""), rule("a", source="src-a"),
             rule("by-filter", source="", filter="source = 'src-b'"),
             rule("pattern", source="src-*"), rule("timer", source="", metric="timer_1m"),
             rule("b-type", source="src-b", types=("webhook",))]
    compiled, errors = compile_rules(rules, ENDPOINTS)
    assert errors == []
    index = RuleIndex(compiled)

    def names(source: str, type_: str = "webhook") -> list[str]:
        return [r.name for r in index.candidates(cmd(source=source, type=type_))]

    assert names("src-a") == ["any", "a", "pattern"]
    assert names("src-b") == ["any", "by-filter", "pattern", "b-type"]
    assert names("other") == ["any", "pattern"]
    assert names("timer", "timer_1m") == ["any", "pattern", "timer"]
