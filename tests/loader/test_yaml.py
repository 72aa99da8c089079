"""The YAML rule format: what loads, and every bad input named by file, rule and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rules.definitions.durations import parse_duration, parse_window
from rules.definitions.loader import RuleIssue, errors_of, load_bytes, load_rules
from rules.definitions.model import RepeatSpec, TriggerSpec, WindowSpec

ENDPOINTS = {"log", "rocketchat"}
SEED = Path(__file__).resolve().parents[2] / "rules.d" / "seed.yml"


def load(text: str, endpoints: set[str] | None = ENDPOINTS):
    return load_bytes(textwrap.dedent(text), "ops.yml", fmt="yaml", endpoints=endpoints)


def only_error(issues: list[RuleIssue]) -> RuleIssue:
    errors = errors_of(issues)
    assert len(errors) == 1, issues
    return errors[0]


FULL = """
rules:
  - name: disk
    description: Disk alerts
    source: [collectd, "node-*"]
    type: webhook
    entities: [Web01, "db-?"]
    filter: "tags.level != 'debug'"
    window: time(5 minute)
    check_on_exit: true
    group_by_entity: false
    group_by_tags: [Mount]
    condition: "count() > 2"
    severity: major
    time_offset: 1 minute
    notifications:
      - endpoint: rocketchat
        name: ops room
        open: 'Disk ${tags.mount} on ${entity}'
        repeat: {enabled: true, text: 'still ${repeat_count}'}
        cancel: {enabled: false}
        repeat_every: {minutes: 10}
        delay_open: 30 second
        room: GENERAL
        sync_reply: true
"""


def test_every_field_is_read() -> None:
    rules, issues = load(FULL)
    assert issues == []
    (rule,) = rules
    assert rule.sources == ("collectd", "node-*")
    assert rule.types == ("webhook",)
    assert rule.entities == ("web01", "db-?")
    assert rule.window == WindowSpec(kind="time", seconds=300.0, text="time(5 minute)")
    assert (rule.check_on_exit, rule.group_by_entity, rule.group_by_tags) == (True, False,
                                                                            ("mount",))
    assert rule.severity == "MAJOR"
    assert rule.time_offset_seconds == 60.0
    assert rule.origin == "ops.yml"
    (note,) = rule.notifications
    assert note.open == TriggerSpec(True, "Disk ${tags.mount} on ${entity}")
    assert note.repeat == TriggerSpec(True, "still ${repeat_count}")
    assert note.cancel == TriggerSpec(False, "")
    assert note.repeat_every == RepeatSpec(kind="minutes", every=10)
    assert (note.delay_open_seconds, note.room, note.sync_reply, note.name) == (
        30.0, "GENERAL", True, "ops room")


def test_defaults() -> None:
    rules, issues = load("rules:\n  - name: plain\n")
    assert issues == []
    (rule,) = rules
    assert (rule.enabled, rule.condition, rule.severity, rule.window.text, rule.metric) == (
        True, "true", "WARNING", "length(1)", "message")
    assert rule.group_by_tags == "none" and rule.notifications == ()


def test_seed_rule_loads_and_replies_on_open_and_repeat() -> None:
    rules, issues = load_bytes(SEED.read_bytes(), str(SEED), fmt="yaml", endpoints=ENDPOINTS)
    assert issues == []
    (rule,) = rules
    assert rule.sources == ("rocket.chat",)
    assert rule.filter == "tags.bot != 'true'"
    (note,) = rule.notifications
    text = 'User ${tags.alias}/@${tags.user_name} said "${message}"'
    assert note.endpoint == "rocketchat"
    assert note.open == TriggerSpec(True, text) and note.repeat == TriggerSpec(True, text)
    assert not note.cancel.enabled


@pytest.mark.parametrize(
    ("snippet", "field", "words"),
    [
        ("filter: \"tags.bot != \"", "filter", "column"),
        ("condition: \"count() >\"", "condition", "column"),
        ("condition: \"nosuch(1) > 2\"", "condition", "unknown function 'nosuch'"),
        ("window: length(0)", "window", "length must be 1"),
        ("window: time(5 parsec)", "window", "unknown unit 'parsec'"),
        ("window: sliding(5)", "window", "unknown window"),
        ("severity: BOGUS", "severity", "unknown severity"),
        ("colour: red", "colour", "unknown field"),
        ("enabled: maybe", "enabled", "true or false"),
        ("group_by_tags: some", "group_by_tags", "none, all or a list"),
        ("time_offset: 5 parsec", "time_offset", "unknown unit"),
        ("time_offset: 60", "time_offset", "a bare number (60) has no unit: write 90s"),
        ("reopen_within: '600'", "reopen_within", "a bare number ('600') has no unit"),
        ("notifications: [{endpoint: log, delay_open: 30}]", "notifications[0].delay_open",
         "a bare number (30) has no unit: write 90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'"),
        ("metric: cpu_busy", "metric", "expected message"),
        ("notifications: [{endpoint: pager, open: hi}]", "notifications[0].endpoint",
         "unknown endpoint 'pager'"),
        ("notifications: [{endpoint: log, open: 'x ${upper(}'}]", "notifications[0].open",
         "column"),
        ("notifications: [{endpoint: log, open: {enabled: true}}]", "notifications[0].open",
         "without a text"),
        ("notifications: [{endpoint: log, repeat_every: {hours: 1}}]",
         "notifications[0].repeat_every", "events: N"),
        ("notifications: [{endpoint: log, bell: true}]", "notifications[0].bell",
         "unknown field"),
        ("notifications: [{open: hi}]", "notifications[0].endpoint", "required"),
    ],
)
def test_bad_field_is_named(snippet: str, field: str, words: str) -> None:
    rules, issues = load(f"rules:\n  - name: bad\n    {snippet}\n  - name: good\n")
    assert [r.name for r in rules] == ["good"]  # one bad rule does not stop the others
    error = only_error(issues)
    assert (error.origin, error.rule, error.field) == ("ops.yml", "bad", field)
    assert words in error.message
    assert str(error).startswith(f"ops.yml: rule 'bad': {field}: ")


def test_yaml_syntax_error_names_line() -> None:
    rules, issues = load("rules:\n  - name: x\n    filter: [unclosed\n")
    assert rules == []
    assert "YAML syntax error at line" in only_error(issues).message


def test_document_shape_errors() -> None:
    assert "'rules' list" in only_error(load("- name: x\n")[1]).message
    assert "unknown top-level" in only_error(load("rules: []\nextra: 1\n")[1]).message
    assert only_error(load("rules:\n  - description: no name\n")[1]).field == "name"
    assert load("")[1][0].level == "warning"


def test_unquoted_booleans_are_expressions() -> None:
    rules, issues = load("rules:\n  - name: b\n    condition: true\n    filter: false\n")
    assert issues == [] and (rules[0].condition, rules[0].filter) == ("true", "false")


def test_names_yaml_reads_as_other_types() -> None:
    assert "quote it" in only_error(load("rules:\n  - name: off\n")[1]).message
    rules, issues = load("rules:\n  - name: 404\n")
    assert [r.name for r in rules] == ["404"] and issues == []


ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.parametrize("field", ["entities", "severity", "window", "time_offset", "enabled",
                                   "group_by_tags", "metric", "filter", "notifications"])
def test_alias_bomb_is_reported_briefly(field: str) -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + ALIAS_BOMB + (
        f"rules:\n  - name: bomb\n    {field}: *i\n")
    rules, issues = load_bytes(text, "bomb.yml", fmt="yaml")
    assert rules == []
    assert issues and len(str(issues)) < 5000  # 10**9 elements would never print


def test_deep_nesting_is_an_error() -> None:
    rules, issues = load("rules:\n  - name: x\n    entities: " + "[" * 1200 + "]" * 1200)
    message = only_error(issues).message
    assert rules == [] and ("nested too deeply" in message or "nesting depth" in message)


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("rules:\n  - name: same\n    condition: 'true'\n")
    (tmp_path / "b.yaml").write_text("rules:\n  - name: same\n  - name: other\n")
    (tmp_path / "notes.txt").write_text("not a rule file")
    rules, issues = load_rules([tmp_path], endpoints=ENDPOINTS)
    assert sorted(r.name for r in rules) == ["other", "same"]
    error = only_error(issues)
    assert error.origin.endswith("b.yaml") and error.rule == "same"
    assert "duplicate rule name" in error.message and "a.yml" in error.message


def test_missing_path_is_reported(tmp_path: Path) -> None:
    rules, issues = load_rules([tmp_path / "nope.yml"], endpoints=ENDPOINTS)
    assert rules == [] and "file not found" in only_error(issues).message


def test_unknown_endpoint_not_checked_without_configuration() -> None:
    rules, issues = load("rules:\n  - name: x\n    notifications: [{endpoint: pager, open: hi}]\n",
                         endpoints=None)
    assert len(rules) == 1 and issues == []


def test_disabled_rule_faults_are_warnings() -> None:
    rules, issues = load("rules:\n  - name: quiet\n    enabled: false\n"
                         "    condition: 'avg() > 1'\n")
    assert [r.name for r in rules] == ["quiet"]
    assert [i.level for i in issues] == ["warning"]


def test_unknown_field_in_condition_is_a_warning() -> None:
    rules, issues = load("rules:\n  - name: v\n    condition: 'value > 50'\n")
    assert len(rules) == 1
    assert issues[0].level == "warning" and "'value'" in issues[0].message


def test_unknown_field_in_a_text_is_a_warning() -> None:
    rules, issues = load("rules:\n  - name: t\n    notifications:\n      - endpoint: log\n"
                         "        open: '${ruleLink} ${status} ${tags.x}'\n")
    assert len(rules) == 1
    (issue,) = issues
    assert issue.field == "notifications[0].open" and issue.level == "warning"
    assert "'ruleLink'" in issue.message and "renders empty" in issue.message


def test_filter_sees_only_command_fields() -> None:
    rules, issues = load("rules:\n  - name: f\n    filter: \"status = 'OPEN'\"\n")
    assert len(rules) == 1 and issues[0].field == "filter" and "'status'" in issues[0].message


@pytest.mark.parametrize(("value", "seconds"), [
    (0, 0.0), ("0", 0.0), ("45s", 45.0), ("30 second", 30.0), ("5 minutes", 300.0),
    ("1h", 3600.0), ("2 DAY", 172800.0), ("1.5 second", 1.5),
])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", [-1, True, None, "soon", "5 parsec", "1.2.3 s", 30, "45", 1.5,
                                   float("nan"), float("inf"), 1e300, "367 day", [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(("text", "expected"), [
    ("length(1)", WindowSpec(kind="length", count=1, text="length(1)")),
    ("LENGTH( 20 )", WindowSpec(kind="length", count=20, text="length(20)")),
    ("time(15 minute)", WindowSpec(kind="time", seconds=900.0, text="time(15 minute)")),
    ("time(2 hours)", WindowSpec(kind="time", seconds=7200.0, text="time(2 hour)")),
    ("time(30 sec)", WindowSpec(kind="time", seconds=30.0, text="time(30 second)")),
])
def test_windows(text: str, expected: WindowSpec) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["length(0)", "length(-1)", "length(1.5)", "length(100001)",
                                  "time(5)", "time(0 minute)", "time(31 day)", "count(5)", 5])
def test_bad_windows(text: object) -> None:
    with pytest.raises(ValueError):
        parse_window(text)
