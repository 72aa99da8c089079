"""Export: rules back into an ATSD ``<rules>`` document that ATSD (and :mod:`.read`) imports.

Settings ATSD has no element for travel as parameters of ``firstWebConfigParameters``; rule
``type``/``source`` lists are folded into ``<filter>`` (see :mod:`rules.definitions.atsd_xml`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # building only; nothing is parsed here
from collections.abc import Sequence
from datetime import timedelta

from rules.definitions.atsd_xml.vocabulary import TRIGGER_TAGS
from rules.definitions.durations import ATSD_UNIT_SECONDS, format_span, number_text
from rules.definitions.model import REOPEN_WITHIN_SECONDS, TRIGGERS, NotificationSpec, Rule


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
                 if seconds and seconds % ATSD_UNIT_SECONDS[u] == 0), "SECOND")
    _add(element, "intervalCount", number_text(seconds / ATSD_UNIT_SECONDS[unit]))
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
        element.append(_notification_element(rule.name, spec, _conversation_extras(rule)))
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


def _conversation_extras(rule: Rule) -> dict[str, str]:
    """atsd-bot's conversation options ride along as free key/values, like ``room``."""
    if rule.conversation == "flat":
        return {}
    extras: dict[str, str] = {"conversation": rule.conversation}
    if rule.reopen_within_seconds != REOPEN_WITHIN_SECONDS:
        extras["reopen_within"] = span_text(rule.reopen_within_seconds)
    return extras


def span_text(seconds: float) -> str:
    """A duration option in the one syntax (``2m``, ``1h30m``), which the reader takes back
    without the bare-number warning; a fraction of a second stays a number of seconds."""
    if float(seconds).is_integer():
        return format_span(timedelta(seconds=seconds))
    return number_text(seconds)


def _notification_element(rule_name: str, spec: NotificationSpec,
                          conversation: dict[str, str]) -> ET.Element:
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
              "delay_open": span_text(spec.delay_open_seconds) if spec.delay_open_seconds else "",
              "sync_reply": "true" if spec.sync_reply else "", **conversation}
    for trigger in TRIGGERS:
        prefix = TRIGGER_TAGS[trigger]
        params = {"message": spec.trigger(trigger).text}
        if trigger == "open":
            params.update({k: v for k, v in extras.items() if v})
        for key, value in params.items():
            pair = _add(element, f"{prefix}WebConfigParameters")
            _add(pair, "key", key)
            _add(pair, "value", value)
    for trigger in TRIGGERS:
        _add(element, f"{TRIGGER_TAGS[trigger]}-enabled", _flag(spec.trigger(trigger).enabled))
    return element
