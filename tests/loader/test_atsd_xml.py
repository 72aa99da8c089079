"""ATSD rule XML: the real exports import, round-trip, and hostile or broken XML is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rules.definitions.atsd_xml import export_xml, parse_xml
from rules.definitions.loader import errors_of, load_bytes, load_file, load_rules, without_origin
from rules.definitions.model import NotificationSpec, RepeatSpec, Rule, TriggerSpec, WindowSpec
from rules.definitions.yaml_format import parse_yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "atsd-rules"
ENDPOINTS = {"log", "rocketchat"}
SEED = Path(__file__).resolve().parents[2] / "rules.d" / "seed.yml"


def stripped(rules: list[Rule]) -> list[Rule]:
    return [without_origin(r) for r in rules]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.xml")), ids=lambda p: p.name)
def test_every_fixture_imports_and_round_trips(path: Path) -> None:
    rules, issues = load_file(path, endpoints=ENDPOINTS)
    assert errors_of(issues) == []
    assert len(rules) == 1
    again, more = parse_xml(export_xml(rules), "again.xml", endpoints=ENDPOINTS)
    assert errors_of(more) == []
    assert stripped(again) == stripped(rules)


def test_seed_outgoing_webhook_rule() -> None:
    (rule,), _ = load_file(FIXTURES / "rules_outgoing_webhook.xml", endpoints=ENDPOINTS)
    assert rule.name == "outgoing_webhook" and rule.enabled and rule.metric == "message"
    assert rule.filter == ("type = 'webhook' && source = 'slack' || source = 'telegram' "
                           "&& entity = 'slack' || entity = 'telegram'")
    assert (rule.condition, rule.window.text, rule.group_by_tags) == ("true", "length(1)", "none")
    assert rule.check_on_exit is True and rule.group_by_entity is True
    assert rule.time_offset_seconds == 60.0 and rule.severity == "WARNING"


def test_series_metric_rules_import_disabled_with_warnings() -> None:
    (rule,), issues = load_file(FIXTURES / "rules.xml", endpoints=ENDPOINTS)
    assert rule.enabled is False and rule.metric == "jvm_memory_used_percent"
    assert rule.window == WindowSpec(kind="time", seconds=900.0, text="time(15 minute)")
    assert rule.entities == ("atsd",)
    (note,) = rule.notifications
    assert note.endpoint == "Telegram"  # unknown here: kept as written, reported
    assert note.repeat_every == RepeatSpec(kind="events", every=6)
    assert note.open == TriggerSpec(True, "[${status}] ${rule} for ${entity} ${tags}. ${ruleLink}")
    messages = " | ".join(i.message for i in issues)
    assert all(i.level == "warning" for i in issues)
    assert "imported disabled" in messages and "unknown function 'avg'" in messages
    assert "unknown endpoint 'Telegram'" in messages


def test_github_rule_notification_texts_and_grouping() -> None:
    (rule,), _ = load_file(FIXTURES / "custom-github-rule.xml", endpoints=ENDPOINTS)
    assert rule.group_by_tags == "all"
    (note,) = rule.notifications
    assert note.endpoint == "github-notif" and note.name == "Web Service Notification id=1"
    assert note.cancel.enabled and note.cancel.text.endswith("Duration: ${alert_duration_interval}")
    assert "\r\n" in note.repeat.text  # &#13; survives import (and export: see round trip)


def xml_rule(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><rules><rule>{body}</rule></rules>'


def test_billion_laughs_is_refused() -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [' + "".join(entities)
           + ']><rules><rule><name>&lol9;</name></rule></rules>')
    rules, issues = parse_xml(lol, "lol.xml")
    assert rules == []
    assert "entity-expansion" in issues[0].message and issues[0].level == "error"


def test_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    doc = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
           "<rules><rule><name>&x;</name></rule></rules>")
    rules, issues = parse_xml(doc, "xxe.xml")
    assert rules == [] and "s3cret" not in str(issues)


def test_malformed_xml_names_line_and_column() -> None:
    rules, issues = parse_xml("<rules>\n<rule><name>x</rule></rules>", "broken.xml")
    assert rules == [] and "not well-formed XML at line 2" in issues[0].message


@pytest.mark.parametrize(("body", "element", "words"), [
    ("<name>r</name><window>length(0)</window>", "window", "length must be 1"),
    ("<name>r</name><window>time(5 parsec)</window>", "window", "parsec"),
    ("<name>r</name><severity>LOUD</severity>", "severity", "unknown severity"),
    ("<name>r</name><enabled>yes</enabled>", "enabled", "true or false"),
    ("<name>r</name><tagsGroupingStrategy>SOME</tagsGroupingStrategy>", "tagsGroupingStrategy",
     "NO_TAGS"),
    ("<name>r</name><tagsGroupingStrategy>DEFINED_TAGS</tagsGroupingStrategy>", "tags",
     "tag list"),
    ("<name>r</name><timeFilter><intervalCount>x</intervalCount></timeFilter>", "timeFilter",
     "intervalCount"),
    ("<name>r</name><webNotification><repeat-interval><type>SOMETIMES</type>"
     "</repeat-interval></webNotification>", "webNotification.repeat-interval", "ALL, COUNT"),
    ("<name>r</name><expression>value &gt;</expression>", "condition", "column"),
    ("<window>length(1)</window>", "name", "required"),
    ("<name>r</name><timeFilter><intervalCount>999999999</intervalCount><intervalUnit>WEEK"
     "</intervalUnit></timeFilter>", "timeFilter", "366 days"),
    ("<name>r</name><webNotification><firstWebConfigParameters><key>delay_open</key><value>"
     "1e400</value></firstWebConfigParameters></webNotification>",
     "webNotification.firstWebConfigParameters", "delay_open"),
    ("<name>r</name><webNotification><firstWebConfigParameters><key>delay_open</key><value>"
     "30</value></firstWebConfigParameters></webNotification>",
     "webNotification.firstWebConfigParameters", "delay_open: a bare number ('30') has no unit"),
])
def test_invalid_element_is_an_error_naming_rule_and_element(body: str, element: str,
                                                             words: str) -> None:
    rules, issues = load_bytes(xml_rule(body), "bad.xml", fmt="xml", endpoints=ENDPOINTS)
    assert rules == []
    (error,) = errors_of(issues)
    assert error.field == element and words in error.message
    assert error.rule in ("r", "#1")


def test_unknown_elements_are_warnings() -> None:
    rules, issues = parse_xml(xml_rule("<name>r</name><sparkle>1</sparkle><derivedCommandEnabled>"
                                       "true</derivedCommandEnabled><webNotification><glitter/>"
                                       "</webNotification>"), "w.xml")
    assert [r.name for r in rules] == ["r"]
    assert {(i.field, i.level) for i in issues} == {
        ("sparkle", "warning"), ("derivedCommandEnabled", "warning"),
        ("webNotification[0].glitter", "warning")}


def test_endpoint_names_containing_rocket_map_to_rocketchat() -> None:
    doc = xml_rule("<name>r</name><webNotification><webNotificationConfigName>RocketChat Ops"
                   "</webNotificationConfigName><firstWebConfigParameters><key>message</key>"
                   "<value>hi ${entity}</value></firstWebConfigParameters><first-enabled>true"
                   "</first-enabled></webNotification>")
    (rule,), issues = load_bytes(doc, "rc.xml", fmt="xml", endpoints=ENDPOINTS)
    assert issues == []
    assert rule.notifications[0].endpoint == "rocketchat"
    assert rule.notifications[0].open == TriggerSpec(True, "hi ${entity}")


def test_unknown_endpoint_in_enabled_rule_is_an_error() -> None:
    doc = xml_rule("<name>r</name><webNotification><webNotificationConfigName>Telegram"
                   "</webNotificationConfigName></webNotification>")
    rules, issues = load_bytes(doc, "t.xml", fmt="xml", endpoints=ENDPOINTS)
    assert rules == [] and errors_of(issues)[0].field == "notifications[0].endpoint"


def test_native_rule_round_trips_through_xml() -> None:
    rule = Rule(
        name="full", enabled=True, entities=("web01", "db-*"), filter="tags.level != 'debug'",
        time_offset_seconds=90.0, group_by_entity=False, group_by_tags=("mount", "host"),
        window=WindowSpec(kind="time", seconds=7200.0, text="time(2 hour)"), check_on_exit=True,
        condition="count() > 2 && message LIKE '*<fail>*'", severity="CRITICAL",
        description="multi\nline & <escaped>", metric="timer_1m",
        notifications=(
            NotificationSpec(endpoint="rocketchat", open=TriggerSpec(True, "open ${entity}"),
                             repeat=TriggerSpec(False, "r"), cancel=TriggerSpec(True, "c\r\nx"),
                             repeat_every=RepeatSpec(kind="minutes", every=90),
                             delay_open_seconds=30.0, room="GENERAL", sync_reply=True,
                             enabled=False, name="n1"),
            NotificationSpec(endpoint="log", repeat_every=RepeatSpec(kind="events", every=3)),
        ),
    )
    written = export_xml([rule])
    assert "<value>30s</value>" in written  # in the one duration syntax, never bare seconds
    again, issues = parse_xml(written, "x.xml", endpoints=ENDPOINTS)
    assert issues == []
    assert stripped(again) == [rule]


def test_types_and_sources_are_folded_into_the_exported_filter() -> None:
    rule = Rule(name="s", types=("webhook",), sources=("rocket.chat", "node-*"),
                filter="tags.bot != 'true'")
    (again,), _ = parse_xml(export_xml([rule]), "x.xml")
    assert again.filter == ("type = 'webhook' AND (source = 'rocket.chat' OR source LIKE "
                            "'node-*') AND (tags.bot != 'true')")


def test_seed_yaml_exports_and_reimports_with_the_same_meaning(tmp_path: Path) -> None:
    rules, _ = parse_yaml(SEED.read_text(), "seed.yml")
    out = tmp_path / "seed.xml"
    out.write_text(export_xml(rules))
    (again,), issues = load_rules([out], endpoints=ENDPOINTS)
    assert errors_of(issues) == []
    assert again.filter == "source = 'rocket.chat' AND (tags.bot != 'true')"
    assert replace(without_origin(again), filter=None) == replace(
        without_origin(rules[0]), filter=None, sources=())
