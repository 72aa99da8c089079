"""Import: an ATSD rule XML document (``<rules><rule>...``) into
:class:`rules.definitions.model.Rule` objects.

The mapping and the decisions taken are in the docstring of
:mod:`rules.definitions.atsd_xml`. Parsing goes
through defusedxml with DTDs forbidden: a document that declares entities is refused, never
expanded.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET  # for ParseError and the Element type; parsing is defusedxml
from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from rules.command import Severity
from rules.definitions.atsd_xml.vocabulary import (
    IGNORED_ELEMENTS,
    IGNORED_NOTIFICATION_ELEMENTS,
    NOTIFICATION_ELEMENTS,
    RULE_ELEMENTS,
    TRIGGER_TAGS,
)
from rules.definitions.durations import (
    ATSD_UNIT_SECONDS,
    SYNTAX,
    bare_number,
    format_span,
    parse_duration,
    parse_window,
)
from rules.definitions.issues import RuleIssue, show
from rules.definitions.model import (
    REOPEN_WITHIN_SECONDS,
    Conversation,
    NotificationSpec,
    RepeatSpec,
    Rule,
    TriggerSpec,
)
from rules.definitions.rule_check import TIMER_METRICS


class _Invalid(ValueError):
    """An element whose value cannot be used; becomes an error naming rule and element."""

    def __init__(self, element: str, message: str) -> None:
        super().__init__(message)
        self.element = element


def parse_xml(
    data: bytes | str, origin: str, *, endpoints: Collection[str] | None = None
) -> tuple[list[Rule], list[RuleIssue]]:
    """Rules of an ATSD XML export; issues name the rule and the element."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        return [], [RuleIssue(origin, "", "", "XML refused: a document type declaration "
                              "(<!DOCTYPE>, <!ENTITY>) is not allowed in rule files; this "
                              "protects against entity-expansion ('billion laughs') attacks")]
    except ET.ParseError as exc:
        line, column = exc.position
        return [], [RuleIssue(origin, "", "", f"not well-formed XML at line {line} column "
                              f"{column + 1}: {str(exc).split(':')[0]}")]
    candidates = [root] if root.tag == "rule" else list(root)
    if root.tag not in ("rules", "rule"):
        return [], [RuleIssue(origin, "", root.tag, "expected a <rules> document")]
    rules: list[Rule] = []
    issues: list[RuleIssue] = []
    for index, element in enumerate(candidates):
        if element.tag != "rule":
            issues.append(RuleIssue(origin, "", element.tag, "unknown element ignored", "warning"))
            continue
        rule, problems = _rule(element, index, origin, endpoints)
        issues += problems
        if rule is not None:
            rules.append(rule)
    return rules, issues


def _text(parent: ET.Element, tag: str, default: str = "") -> str:
    found = parent.find(tag)
    return (found.text or "").strip() if found is not None else default


def _bool(parent: ET.Element, tag: str, default: bool) -> bool:
    value = _text(parent, tag).lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise _Invalid(tag, f"expected true or false, got {show(value)}")
    return value == "true"


def _interval_seconds(parent: ET.Element, tag: str) -> float:
    element = parent.find(tag)
    if element is None:
        return 0.0
    count, unit = _text(element, "intervalCount", "0"), _text(element, "intervalUnit", "MINUTE")
    if not count.replace(".", "", 1).isdigit() or unit.upper() not in ATSD_UNIT_SECONDS:
        raise _Invalid(tag, f"expected intervalCount >= 0 and intervalUnit one of "
                       f"{', '.join(ATSD_UNIT_SECONDS)}, got {show(count)} {show(unit)}")
    try:
        return parse_duration(float(count) * ATSD_UNIT_SECONDS[unit.upper()])
    except ValueError as exc:
        raise _Invalid(tag, str(exc)) from None


def _rule(element: ET.Element, index: int, origin: str,
          endpoints: Collection[str] | None) -> tuple[Rule | None, list[RuleIssue]]:
    name = _text(element, "name")
    if not name:
        return None, [RuleIssue(origin, f"#{index + 1}", "name", "required: the rule's name")]
    issues = _skipped(element, origin, name)
    try:
        rule = _build(element, name, origin, endpoints)
    except _Invalid as exc:
        return None, issues + [RuleIssue(origin, name, exc.element, str(exc))]
    issues += _bare_durations(element, origin, name)
    if rule.metric != "message" and rule.metric not in TIMER_METRICS and rule.enabled:
        issues.append(RuleIssue(origin, name, "metric", f"series metric {show(rule.metric)}: "
                                "atsd-bot receives only message commands; imported disabled",
                                "warning"))
        rule = replace(rule, enabled=False)
    return rule, issues


def _build(element: ET.Element, name: str, origin: str,
           endpoints: Collection[str] | None) -> Rule:
    try:
        window = parse_window(_text(element, "window", "length(1)"))
    except ValueError as exc:
        raise _Invalid("window", str(exc)) from None
    try:
        severity = Severity.parse(_text(element, "severity", "WARNING")).name
    except ValueError as exc:
        raise _Invalid("severity", str(exc)) from None
    entities = tuple(e.strip().lower() for e in _text(element, "entityFilter").split(",")
                     if e.strip())
    return Rule(
        name=name, enabled=_bool(element, "enabled", True), entities=entities,
        filter=_text(element, "filter") or None,
        time_offset_seconds=_interval_seconds(element, "timeFilter"),
        group_by_entity=not _bool(element, "disableEntityGrouping", False),
        group_by_tags=_grouping(element), window=window,
        check_on_exit=_bool(element, "leavingEvents", False),
        condition=_text(element, "expression") or "true", severity=severity,
        notifications=tuple(_notification(n, endpoints)
                            for n in element.findall("webNotification")),
        description=_text(element, "description"),
        metric=_text(element, "metric", "message").lower() or "message", origin=origin,
        **_conversation(element),
    )


def _conversation(rule: ET.Element) -> dict[str, Any]:
    """atsd-bot's ``conversation`` and ``reopen_within``, written as free key/values of a
    notification (an ATSD export has none: ``flat``, ATSD's behaviour)."""
    extras: dict[str, str] = {}
    for notification in rule.findall("webNotification"):
        extras.update({k: v for k, v in _parameters(notification, "first").items()
                       if k in ("conversation", "reopen_within")})
    kind = extras.get("conversation", "flat").strip().lower()
    if kind not in ("flat", "thread"):
        raise _Invalid("webNotification.firstWebConfigParameters",
                       f"conversation: expected flat or thread, got {show(kind)}")
    conversation: Conversation = "thread" if kind == "thread" else "flat"
    try:
        reopen = parse_duration(extras.get("reopen_within") or REOPEN_WITHIN_SECONDS)
    except ValueError as exc:
        raise _Invalid("webNotification.firstWebConfigParameters",
                       f"reopen_within: {exc}") from None
    return {"conversation": conversation, "reopen_within_seconds": reopen}


def _bare_durations(rule: ET.Element, origin: str, name: str) -> list[RuleIssue]:
    """A warning per ``reopen_within`` / ``delay_open`` written as a bare number, as the
    YAML reader gives: read as seconds (older exports wrote them so), never silently."""
    issues = []
    for index, notification in enumerate(rule.findall("webNotification")):
        for key, value in _parameters(notification, "first").items():
            if key in ("reopen_within", "delay_open") and bare_number(value):
                span = format_span(timedelta(seconds=float(value)))
                issues.append(RuleIssue(
                    origin, name, f"webNotification[{index}].firstWebConfigParameters",
                    f"{key}: a bare number ({show(value)}) is read as seconds; write {span} "
                    f"({SYNTAX})", level="warning"))
    return issues


def _grouping(element: ET.Element) -> Literal["none", "all"] | tuple[str, ...]:
    strategy = _text(element, "tagsGroupingStrategy", "NO_TAGS").upper()
    if strategy == "NO_TAGS":
        return "none"
    if strategy == "ALL_TAGS":
        return "all"
    if strategy == "DEFINED_TAGS":
        tags = tuple(t.strip().lower() for t in _text(element, "tags").split(",") if t.strip())
        if not tags:
            raise _Invalid("tags", "DEFINED_TAGS needs a comma-separated tag list in <tags>")
        return tags
    raise _Invalid("tagsGroupingStrategy", f"expected NO_TAGS, ALL_TAGS or DEFINED_TAGS, "
                   f"got {show(strategy)}")


def _skipped(element: ET.Element, origin: str, name: str) -> list[RuleIssue]:
    issues: list[RuleIssue] = []
    for child in element:
        tag = child.tag
        if tag in RULE_ELEMENTS:
            continue
        if tag not in IGNORED_ELEMENTS:
            issues.append(RuleIssue(origin, name, tag, "unknown element ignored", "warning"))
        elif tag.endswith("Enabled") and (child.text or "").strip().lower() == "true":
            issues.append(RuleIssue(origin, name, tag, "enabled in ATSD, not supported by "
                                    "atsd-bot; ignored", "warning"))
    for index, notification in enumerate(element.findall("webNotification")):
        for child in notification:
            if child.tag not in NOTIFICATION_ELEMENTS | IGNORED_NOTIFICATION_ELEMENTS:
                issues.append(RuleIssue(origin, name, f"webNotification[{index}].{child.tag}",
                                        "unknown element ignored", "warning"))
    return issues


def _parameters(notification: ET.Element, prefix: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in notification.findall(f"{prefix}WebConfigParameters"):
        key = _text(pair, "key")
        if key:
            found = pair.find("value")
            params[key] = (found.text or "") if found is not None else ""
    return params


def _endpoint(name: str, endpoints: Collection[str] | None) -> str:
    known = endpoints or ()
    if name in known:
        return name
    if "rocket" in name.lower():
        return "rocketchat"
    for candidate in known:
        if candidate.lower() == name.lower():
            return candidate
    return name


def _notification(element: ET.Element, endpoints: Collection[str] | None) -> NotificationSpec:
    where = "webNotification"
    triggers: dict[str, TriggerSpec] = {}
    for trigger, prefix in TRIGGER_TAGS.items():
        params = _parameters(element, prefix)
        text = params.get("message", params.get("text", ""))
        triggers[trigger] = TriggerSpec(enabled=_bool(element, f"{prefix}-enabled", False),
                                        text=text)
    extras = _parameters(element, "first")
    try:
        delay = parse_duration(extras.get("delay_open") or 0)
    except ValueError as exc:
        raise _Invalid(f"{where}.firstWebConfigParameters", f"delay_open: {exc}") from None
    return NotificationSpec(
        endpoint=_endpoint(_text(element, "webNotificationConfigName"), endpoints),
        open=triggers["open"], repeat=triggers["repeat"], cancel=triggers["cancel"],
        repeat_every=_repeat(element), delay_open_seconds=delay,
        room=extras.get("room") or None,
        sync_reply=extras.get("sync_reply", "").strip().lower() == "true",
        enabled=not _bool(element, "disabled", False), name=_text(element, "name"),
    )


def _repeat(notification: ET.Element) -> RepeatSpec:
    element = notification.find("repeat-interval")
    if element is None:
        return RepeatSpec()
    kind = _text(element, "type", "ALL").upper()
    if kind == "ALL":
        return RepeatSpec()
    count = _text(element, "intervalCount", "1")
    if not count.isdigit() or int(count) < 1:
        raise _Invalid("webNotification.repeat-interval",
                       f"intervalCount must be a whole number >= 1, got {show(count)}")
    if kind == "COUNT":
        return RepeatSpec(kind="events", every=int(count))
    if kind in ("INTERVAL", "TIME"):
        seconds = _interval_seconds(notification, "repeat-interval")
        return RepeatSpec(kind="minutes", every=max(1, math.ceil(seconds / 60)))
    raise _Invalid("webNotification.repeat-interval",
                   f"type must be ALL, COUNT or INTERVAL, got {show(kind)}")
