"""ATSD rule XML (``<rules><rule>...</rule></rules>``): import into Rules, export back.

Parsing goes through defusedxml with DTDs forbidden: a document that declares entities (the
"billion laughs" and external-entity attacks) is refused with a clear error, never expanded.

Mapping (ATSD element -> Rule field): ``name``, ``metric``, ``description``, ``filter``,
``expression`` -> condition, ``window``, ``tagsGroupingStrategy`` NO_TAGS/ALL_TAGS/DEFINED_TAGS
(the tag list of DEFINED_TAGS from ``<tags>``, comma-separated) -> group_by_tags,
``disableEntityGrouping`` -> not group_by_entity, ``leavingEvents`` -> check_on_exit,
``severity``, ``timeFilter`` (intervalCount + intervalUnit) -> time_offset, ``enabled``,
``entityFilter`` (comma-separated names/patterns) -> entities, and each ``webNotification``.

Decisions (written in README "Rules" too):
- A rule on a series metric (not ``message`` or a ``timer_*``) cannot fire in atsd-bot, which
  receives only message commands: it is imported **disabled** with a warning, so a whole ATSD
  export imports and exports back unchanged.
- ``webNotificationConfigName`` names the endpoint: an exactly configured name is kept; else a
  name containing "rocket" (any case) becomes ``rocketchat``; else a configured name equal
  ignoring case; else the name is kept as written and the loader reports it as unknown.
- The text of a trigger is the ``message`` key of its ``*WebConfigParameters``, or ``text`` when
  there is no ``message`` key (ATSD's Telegram/Slack endpoints call it ``text``).
- ``repeat-interval``: type ALL -> every repeat; COUNT -> every ``intervalCount`` events;
  INTERVAL/TIME -> at most every ``intervalCount`` ``intervalUnit`` (in whole minutes).
- atsd-bot settings ATSD has no element for travel as parameters of ``firstWebConfigParameters``
  (``room``, ``delay_open`` in seconds, ``sync_reply``), which ATSD keeps as free key/values.
  Rule ``type``/``source`` lists are written into ``<filter>`` (ATSD has no such fields).
- ATSD elements atsd-bot has no use for (alert logger messages, scripts, derived commands,
  screenshots...) are skipped quietly, with a warning when one of them is switched on;
  elements ATSD does not define either are skipped with a warning.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET  # building only; parsing goes through defusedxml
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from rules.command import Severity
from rules.durations import parse_duration, parse_window
from rules.issues import RuleIssue, show
from rules.model import TRIGGERS, NotificationSpec, RepeatSpec, Rule, TriggerSpec
from rules.rule_check import TIMER_METRICS

_UNIT_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}
_TRIGGER_TAGS = {"open": "first", "repeat": "repeat", "cancel": "cancel"}

RULE_ELEMENTS = {"name", "metric", "description", "filter", "expression", "window",
                 "tagsGroupingStrategy", "tags", "disableEntityGrouping", "leavingEvents",
                 "severity", "timeFilter", "enabled", "entityFilter", "webNotification"}
# ATSD rule elements with no meaning here; the *Enabled ones warn when true.
IGNORED_ELEMENTS = {
    "alertOpenMessage", "alertMessage", "alertCancellationMessage", "alertMessageAsOpen",
    "alertCancellationMessageAsOpen", "alertStrategy", "lastUpdated", "loadHistory",
    "scriptAsOpen", "alertCancellationScriptAsOpen", "logOutput", "owner", "actionStrategy",
    "discardPreviousValues", "ruleTable", "alertLoggerName", "derivedCommand",
    "derivedCommandEnabled", "derivedCommandStrategy", "alertOpenMessageEnabled",
    "alertMessageEnabled", "alertCancellationMessageEnabled", "alertOpenScriptEnabled",
    "scriptEnabled", "alertCancellationScriptEnabled", "alertOpenScript", "script",
    "alertCancellationScript", "emailNotification", "minimumInterval", "lastUpdatedUser",
}
NOTIFICATION_ELEMENTS = {"disabled", "repeat-interval", "name", "webNotificationConfigName",
                         "firstWebConfigParameters", "repeatWebConfigParameters",
                         "cancelWebConfigParameters", "first-enabled", "repeat-enabled",
                         "cancel-enabled"}
IGNORED_NOTIFICATION_ELEMENTS = {
    "rule-name", "use-in-threshold-only", "first-details", "repeat-details", "cancel-details",
    "first-screenshot", "repeat-screenshot", "cancel-screenshot", "repeat-as-open",
    "cancel-as-open", "id",
}


class _Invalid(ValueError):
    """An element whose value cannot be used; becomes an error naming rule and element."""

    def __init__(self, element: str, message: str) -> None:
        super().__init__(message)
        self.element = element


# -- import ---------------------------------------------------------------------------------


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
    if not count.replace(".", "", 1).isdigit() or unit.upper() not in _UNIT_SECONDS:
        raise _Invalid(tag, f"expected intervalCount >= 0 and intervalUnit one of "
                       f"{', '.join(_UNIT_SECONDS)}, got {show(count)} {show(unit)}")
    try:
        return parse_duration(float(count) * _UNIT_SECONDS[unit.upper()])
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
    )


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
    for trigger, prefix in _TRIGGER_TAGS.items():
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


# -- export ---------------------------------------------------------------------------------


def export_xml(rules: Sequence[Rule]) -> str:
    """The rules as an ATSD ``<rules>`` document (UTF-8 text with the XML declaration)."""
    root = ET.Element("rules")
    for rule in rules:
        root.append(_rule_element(rule))
    ET.indent(root, space="    ")
    # A bare CR in text would come back as LF (XML end-of-line handling): keep it as a reference.
    body = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    return '<?xml version="1.0" encoding="UTF-8"?>' + body + "\n"


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _interval(parent: ET.Element, tag: str, seconds: float, kind: str | None = None) -> None:
    element = _add(parent, tag)
    if kind is not None:
        _add(element, "type", kind)
    unit = next((u for u in ("WEEK", "DAY", "HOUR", "MINUTE")
                 if seconds and seconds % _UNIT_SECONDS[u] == 0), "SECOND")
    count = seconds / _UNIT_SECONDS[unit]
    _add(element, "intervalCount", str(int(count)) if count == int(count) else str(count))
    _add(element, "intervalUnit", unit)


def _rule_element(rule: Rule) -> ET.Element:
    element = ET.Element("rule")
    _add(element, "name", rule.name)
    _add(element, "metric", rule.metric)
    if rule.group_by_tags == "all":
        _add(element, "tagsGroupingStrategy", "ALL_TAGS")
    elif rule.group_by_tags == "none":
        _add(element, "tagsGroupingStrategy", "NO_TAGS")
    else:
        _add(element, "tagsGroupingStrategy", "DEFINED_TAGS")
        _add(element, "tags", ",".join(rule.group_by_tags))
    _add(element, "expression", rule.condition)
    _add(element, "window", rule.window.text)
    folded = _folded_filter(rule)
    if folded:
        _add(element, "filter", folded)
    _add(element, "severity", rule.severity)
    if rule.description:
        _add(element, "description", rule.description)
    _add(element, "enabled", _flag(rule.enabled))
    _add(element, "disableEntityGrouping", _flag(not rule.group_by_entity))
    _add(element, "leavingEvents", _flag(rule.check_on_exit))
    if rule.entities:
        _add(element, "entityFilter", ",".join(rule.entities))
    if rule.time_offset_seconds:
        _interval(element, "timeFilter", rule.time_offset_seconds)
    for spec in rule.notifications:
        element.append(_notification_element(rule.name, spec))
    return element


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _quote(value: str) -> str:
    return "'" + value + "'" if "'" not in value else '"' + value + '"'


def _match_clause(field: str, patterns: Sequence[str]) -> str:
    parts = [f"{field} {'LIKE' if ('*' in p or '?' in p) else '='} {_quote(p)}" for p in patterns]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _folded_filter(rule: Rule) -> str:
    parts = [_match_clause(field, patterns) for field, patterns in
             (("type", rule.types), ("source", rule.sources)) if patterns]
    if rule.filter:
        parts.append(f"({rule.filter})" if parts else rule.filter)
    return " AND ".join(parts)


def _notification_element(rule_name: str, spec: NotificationSpec) -> ET.Element:
    element = ET.Element("webNotification")
    _add(element, "disabled", _flag(not spec.enabled))
    _add(element, "rule-name", rule_name)
    every = spec.repeat_every
    if every.kind == "minutes":
        _interval(element, "repeat-interval", every.every * 60.0, "INTERVAL")
    else:
        repeat = _add(element, "repeat-interval")
        _add(repeat, "type", "COUNT" if every.kind == "events" else "ALL")
        _add(repeat, "intervalCount", str(every.every))
        _add(repeat, "intervalUnit", "MINUTE")
    if spec.name:
        _add(element, "name", spec.name)
    _add(element, "webNotificationConfigName", spec.endpoint)
    extras = {"room": spec.room or "",
              "delay_open": _number(spec.delay_open_seconds) if spec.delay_open_seconds else "",
              "sync_reply": "true" if spec.sync_reply else ""}
    for trigger in TRIGGERS:
        prefix = _TRIGGER_TAGS[trigger]
        params = {"message": spec.trigger(trigger).text}
        if trigger == "open":
            params.update({k: v for k, v in extras.items() if v})
        for key, value in params.items():
            pair = _add(element, f"{prefix}WebConfigParameters")
            _add(pair, "key", key)
            _add(pair, "value", value)
    for trigger in TRIGGERS:
        _add(element, f"{_TRIGGER_TAGS[trigger]}-enabled", _flag(spec.trigger(trigger).enabled))
    return element


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)

