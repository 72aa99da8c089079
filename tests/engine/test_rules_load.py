"""Loading rules: compile errors, reload semantics, the type/source index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.clock import ManualClock
from rules.definitions.model import Rule, WindowSpec
from rules.engine.compiled import compile_rules
from rules.engine.index import RuleIndex, required_value
from rules.engine.rule_engine import RuleEngine
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
    ("!(source = 'a') AND type = 'x'", ()),
    ("(source = 'a')", ("a",)),
    ("tags.source = 'a'", ()),
    ("source != 'a'", ()),
    ("message = 'source = ''x'''", ()),
    ("message = 'a OR b' AND source = 'c'", ("c",)),
    ("type = 'webhook' AND (source = 'a' OR source = 'b') AND (tags.x = '1' OR x > 2)",
     ("a", "b")),
    ("type = 'webhook' AND (source = 'a' OR source LIKE 'b*')", ()),
    ("(source = 'a' OR entity = 'b') AND message = 'x'", ()),
    ("source IN ('a', 'B') && message != ''", ("a", "b")),
    ("source = 'a' ? true : false", ()),
    ("source = 'a' /* or source = 'b' */", ()),
    ("(source = 'a'", ()),
    ("source = 'a\\'b'", ()),
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


FILTERS = [
    None, "source = 'a'", "source = 'b' AND tags.x = '1'", "(source = 'a' OR source = 'c')",
    "source IN ('b', 'c') && type = 'webhook'", "source = 'A'", "type = 'other'",
    "source = 'a' OR tags.x = '1'", "NOT source = 'a'", "type = 'webhook' AND (source = 'c')",
    "(source = 'a' OR tags.x = '1') AND type = 'webhook'", "source = 'b' ? true : false",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(FILTERS), min_size=1, max_size=6),
       st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]),
                          st.sampled_from(["webhook", "other"]),
                          st.sampled_from(["0", "1"])), min_size=1, max_size=8))
def test_the_index_never_changes_which_rules_see_a_command(
    filters: list[str | None], commands: list[tuple[str, str, str]]
) -> None:
    rules = [rule(f"r{i}", source="", filter=f, condition="true")
             for i, f in enumerate(filters)]

    def seen(brute_force: bool) -> list[tuple[str, str]]:
        engine = RuleEngine(None, ManualClock(START), endpoints=ENDPOINTS)
        assert engine.load(rules) == []
        if brute_force:
            for compiled in engine._active.values():
                compiled.index_types = compiled.index_sources = ()
            engine._index = RuleIndex(list(engine._active.values()))
        for n, (source, type_, x) in enumerate(commands):
            engine.process(None, cmd(f"m{n}", entity=f"e{n}", source=source, type=type_,
                                     tags={"x": x}), None)
            engine.after_commit()
        return sorted((w["rule"], w["entity"]) for w in engine.windows())

    assert seen(brute_force=False) == seen(brute_force=True)


def test_dropping_a_window_cancels_its_held_open(db: Database) -> None:
    from tests.engine.helpers import outbox_rows

    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=60),))])
    rig.send("bad")
    rig.engine.load([rule(condition="message = 'bad'",
                          notifications=(note(delay_open_seconds=60),))])
    assert [r.status for r in outbox_rows(db)] == ["cancelled"]
