"""The rule options ``conversation`` and ``reopen_within``: YAML, ATSD XML export and import."""

from __future__ import annotations

import textwrap

from rules.definitions.atsd_xml import export_xml, parse_xml
from rules.definitions.loader import errors_of, load_bytes
from rules.definitions.model import NotificationSpec, Rule, TriggerSpec

ENDPOINTS = {"log", "rocketchat"}


def load(text: str) -> tuple[list[Rule], list]:
    return load_bytes(textwrap.dedent(text), "ops.yml", fmt="yaml", endpoints=ENDPOINTS)


def test_flat_is_the_default_and_ten_minutes_the_reopen_window() -> None:
    (rule,), issues = load("rules:\n  - name: a\n    condition: 'true'\n")
    assert errors_of(issues) == []
    assert (rule.conversation, rule.reopen_within_seconds) == ("flat", 600.0)


def test_thread_with_a_reopen_window_loads() -> None:
    (rule,), issues = load("""
        rules:
          - name: disk
            conversation: thread
            reopen_within: 5m
    """)
    assert errors_of(issues) == []
    assert (rule.conversation, rule.reopen_within_seconds) == ("thread", 300.0)


def test_an_unknown_conversation_is_named() -> None:
    rules, issues = load("rules:\n  - name: a\n    conversation: threads\n")
    assert rules == []
    [error] = errors_of(issues)
    assert error.field == "conversation" and "flat or thread" in error.message


def test_thread_round_trips_through_atsd_xml_as_extra_keys() -> None:
    rule = Rule(name="disk", conversation="thread", reopen_within_seconds=120.0,
                notifications=(NotificationSpec(endpoint="rocketchat",
                                                open=TriggerSpec(True, "open")),))
    xml = export_xml([rule])
    assert "<key>conversation</key>" in xml and "<value>thread</value>" in xml
    # a duration in the one syntax, as a rule file writes it, never bare seconds
    assert "<key>reopen_within</key><value>2m</value>" in xml.replace("\n", "").replace(" ", "")
    (again,), issues = parse_xml(xml, "x.xml", endpoints=ENDPOINTS)
    assert issues == []
    assert (again.conversation, again.reopen_within_seconds) == ("thread", 120.0)


def test_an_atsd_export_without_the_keys_is_flat() -> None:
    rule = Rule(name="plain", notifications=(NotificationSpec(endpoint="rocketchat"),))
    (again,), _ = parse_xml(export_xml([rule]), "x.xml", endpoints=ENDPOINTS)
    assert (again.conversation, again.reopen_within_seconds) == ("flat", 600.0)


def test_a_bare_number_is_read_as_seconds_with_the_rule_files_warning() -> None:
    rule = Rule(name="disk", conversation="thread", reopen_within_seconds=120.0,
                notifications=(NotificationSpec(endpoint="rocketchat", delay_open_seconds=30,
                                                open=TriggerSpec(True, "open")),))
    xml = export_xml([rule]).replace("<value>2m</value>", "<value>120</value>") \
        .replace("<value>30s</value>", "<value>30</value>")
    (again,), issues = parse_xml(xml, "x.xml", endpoints=ENDPOINTS)
    assert (again.reopen_within_seconds, again.notifications[0].delay_open_seconds) == (120, 30)
    assert errors_of(issues) == []
    words = sorted(i.message for i in issues)
    assert [i.level for i in issues] == ["warning", "warning"]
    assert words[0].startswith("delay_open: a bare number ('30') is read as seconds; write 30s")
    assert words[1].startswith("reopen_within: a bare number ('120') is read as seconds; "
                               "write 2m")
    # and the YAML reader says the same of a bare reopen_within
    (_,), yaml_issues = load("rules:\n  - name: a\n    condition: 'true'\n    reopen_within: 120\n")
    assert [i.level for i in yaml_issues] == ["warning"]
    assert "a bare number (120) is read as seconds; write 2m" in yaml_issues[0].message
