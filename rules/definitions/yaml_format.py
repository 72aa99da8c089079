"""The native YAML rule format (README "Rules"): ``{rules: [...]}`` into :class:`Rule` objects.

:func:`parse_yaml` checks structure and types only and names every fault by rule and field;
expressions and templates are compiled afterwards by
:func:`rules.definitions.rule_check.check_rule`.

Decisions:
- YAML's booleans are not names: ``name: off`` is refused with a hint to quote it, while a
  number (``name: 404``, ``room: 123``) means its text.
- ``condition: true`` is the expression ``true``; an empty condition is ``true`` as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

import yaml

from rules.command import Severity
from rules.definitions.durations import (
    SYNTAX,
    bare_number,
    format_span,
    parse_duration,
    parse_window,
)
from rules.definitions.issues import RuleIssue, errors_of, show
from rules.definitions.model import (
    CONVERSATIONS,
    REOPEN_WITHIN_SECONDS,
    Conversation,
    NotificationSpec,
    RepeatSpec,
    Rule,
    TriggerSpec,
    WindowSpec,
)
from rules.definitions.rule_check import TIMER_METRICS

RULE_KEYS = ("name", "description", "enabled", "metric", "type", "source", "entities",
             "filter", "window", "check_on_exit", "group_by_entity", "group_by_tags",
             "condition", "severity", "time_offset", "notifications", "conversation",
             "reopen_within")
NOTIFICATION_KEYS = ("endpoint", "name", "enabled", "open", "repeat", "cancel",
                     "repeat_every", "delay_open", "room", "sync_reply")


# libyaml's safe loader when present: 9x faster, and it refuses nesting deeper than 1000
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Reader:
    """Typed reads from one YAML mapping; each fault becomes an issue that names the field."""

    def __init__(self, origin: str, rule: str, data: Mapping[str, Any], prefix: str = ""):
        self.origin, self.rule, self.data, self.prefix = origin, rule, data, prefix
        self.issues: list[RuleIssue] = []

    def fail(self, key: str, message: str) -> None:
        self.issues.append(RuleIssue(self.origin, self.rule, self.prefix + key, message))

    def unknown(self, allowed: Sequence[str]) -> None:
        for key in self.data:
            if key not in allowed:
                self.fail(str(key), f"unknown field; known: {', '.join(allowed)}")

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {show(value)}")
            return default
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"  # `condition: true` means the expression
        if isinstance(value, (int, float)):
            return str(value)  # `room: 123` means the text
        self.fail(key, f"expected text, got {show(value)}")
        return default

    def names(self, key: str, *, lower: bool = True) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in items):
            self.fail(key, f"expected a name or a list of names, got {show(value)}")
            return ()
        return tuple(v.strip().lower() if lower else v.strip() for v in items)

    def duration(self, key: str) -> float:
        value = self.data.get(key, 0)
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.fail(key, str(exc))
            return 0.0
        if bare_number(value):
            # kept for rule files written before the one duration syntax, but never silently
            self.issues.append(RuleIssue(
                self.origin, self.rule, self.prefix + key,
                f"a bare number ({show(value)}) is read as seconds; write "
                f"{format_span(timedelta(seconds=seconds))} ({SYNTAX})", level="warning"))
        return seconds


def parse_yaml(data: bytes | str, origin: str) -> tuple[list[Rule], list[RuleIssue]]:
    """Build the rules of one YAML document ``{rules: [...]}`` (structure and types only)."""
    try:
        doc = yaml.load(data, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except RecursionError:
        return [], [RuleIssue(origin, "", "", "YAML nested too deeply")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [RuleIssue(origin, "", "", f"YAML syntax error{where}: {problem}")]
    if doc is None:
        return [], [RuleIssue(origin, "", "", "no rules in this file", "warning")]
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        return [], [RuleIssue(origin, "", "rules", "expected a mapping with a 'rules' list")]
    issues = [RuleIssue(origin, "", str(k), "unknown top-level field; known: rules")
              for k in doc if k != "rules"]
    rules: list[Rule] = []
    for index, entry in enumerate(doc["rules"]):
        rule, problems = _yaml_rule(entry, index, origin)
        issues += problems
        if rule is not None:
            rules.append(rule)
    return rules, issues


def _yaml_rule(entry: Any, index: int, origin: str) -> tuple[Rule | None, list[RuleIssue]]:
    label = f"#{index + 1}"  # an unnamed rule is reported by its position
    if not isinstance(entry, dict):
        return None, [RuleIssue(origin, label, "", "expected a mapping of rule fields")]
    name = _rule_name(entry.get("name"))
    if isinstance(name, RuleIssue):
        return None, [replace(name, origin=origin, rule=label)]
    r = _Reader(origin, name, entry)
    r.unknown(RULE_KEYS)
    window = _window(r)
    rule = Rule(
        name=name,
        enabled=r.boolean("enabled", True),
        types=r.names("type"),
        sources=r.names("source"),
        entities=r.names("entities"),
        filter=r.text("filter") or None,
        time_offset_seconds=r.duration("time_offset"),
        group_by_entity=r.boolean("group_by_entity", True),
        group_by_tags=_group_by_tags(r),
        window=window,
        check_on_exit=r.boolean("check_on_exit", False),
        condition=r.text("condition", "true") or "true",
        severity=_severity(r),
        notifications=_notifications(r),
        description=r.text("description", "") or "",
        metric=_metric(r),
        origin=origin,
        conversation=_conversation(r),
        reopen_within_seconds=(r.duration("reopen_within") if "reopen_within" in entry
                               else REOPEN_WITHIN_SECONDS),
    )
    # a warning (a bare number read as seconds) keeps the rule; only an error drops it
    return (None if errors_of(r.issues) else rule), r.issues


def _conversation(r: _Reader) -> Conversation:
    value = (r.text("conversation", "flat") or "flat").strip().lower()
    if value == "thread":
        return "thread"
    if value != "flat":
        r.fail("conversation", f"expected {' or '.join(CONVERSATIONS)}, got {show(value)}")
    return "flat"


def _rule_name(value: object) -> str | RuleIssue:
    """The stripped name, or the issue (without origin and rule, which the caller knows)."""
    if isinstance(value, bool):
        return RuleIssue("", "", "name", f"YAML read the name as {value}: quote "
                         "it (off/on/yes/no are booleans in YAML)")
    if isinstance(value, (int, float)):
        value = str(value)  # `name: 404` means the text
    if not isinstance(value, str) or not value.strip() or len(value) > 256 or "\n" in value:
        return RuleIssue("", "", "name",
                         "required: a non-empty one-line name of at most 256 characters")
    return value.strip()


def _window(r: _Reader) -> WindowSpec:
    if "window" not in r.data:
        return WindowSpec(kind="length", count=1)  # each command judged on its own
    try:
        return parse_window(r.data["window"])
    except ValueError as exc:
        r.fail("window", str(exc))
        return WindowSpec(kind="length", count=1)


def _group_by_tags(r: _Reader) -> Literal["none", "all"] | tuple[str, ...]:
    value = r.data.get("group_by_tags", "none")
    if value in ("none", "all"):
        return "all" if value == "all" else "none"
    if isinstance(value, list):
        names = r.names("group_by_tags")
        return names if names else "none"
    r.fail("group_by_tags", f"expected none, all or a list of tag names, got {show(value)}")
    return "none"


def _severity(r: _Reader) -> str:
    value = r.data.get("severity", "WARNING")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        r.fail("severity", f"expected a severity name or code, got {show(value)}")
        return "WARNING"
    try:
        return Severity.parse(value).name
    except ValueError as exc:
        r.fail("severity", str(exc))
        return "WARNING"


def _metric(r: _Reader) -> str:
    value = (r.text("metric", "message") or "message").strip().lower()
    if value != "message" and value not in TIMER_METRICS:
        r.fail("metric", f"expected message or one of {', '.join(TIMER_METRICS)}, "
               f"got {show(value)}")
    return value


def _notifications(r: _Reader) -> tuple[NotificationSpec, ...]:
    value = r.data.get("notifications", [])
    if not isinstance(value, list):
        r.fail("notifications", "expected a list of notifications")
        return ()
    specs: list[NotificationSpec] = []
    for index, entry in enumerate(value):
        where = f"notifications[{index}]"
        if not isinstance(entry, dict):
            r.fail(where, "expected a mapping with at least 'endpoint'")
            continue
        n = _Reader(r.origin, r.rule, entry, f"{where}.")
        specs.append(_notification(n))
        r.issues += n.issues
    return tuple(specs)


def _notification(n: _Reader) -> NotificationSpec:
    n.unknown(NOTIFICATION_KEYS)
    endpoint = n.text("endpoint")
    if not endpoint:
        n.fail("endpoint", "required: the name of a configured endpoint")
    return NotificationSpec(
        endpoint=(endpoint or "").strip(),
        open=_trigger(n, "open"), repeat=_trigger(n, "repeat"), cancel=_trigger(n, "cancel"),
        repeat_every=_repeat_every(n), delay_open_seconds=n.duration("delay_open"),
        room=n.text("room") or None, sync_reply=n.boolean("sync_reply", False),
        enabled=n.boolean("enabled", True), name=n.text("name", "") or "",
    )


def _trigger(n: _Reader, key: str) -> TriggerSpec:
    value = n.data.get(key)
    if value is None or value is False:
        return TriggerSpec()
    if isinstance(value, str):
        return TriggerSpec(enabled=True, text=value)
    if isinstance(value, dict):
        t = _Reader(n.origin, n.rule, value, f"{n.prefix}{key}.")
        t.unknown(("enabled", "text"))
        text = t.text("text", "") or ""
        enabled = t.boolean("enabled", True)
        n.issues += t.issues
        if enabled and not text:
            n.fail(key, "enabled without a text: give 'text' or set enabled: false")
        return TriggerSpec(enabled=enabled, text=text)
    n.fail(key, "expected the message text, {enabled, text} or false")
    return TriggerSpec()


def _repeat_every(n: _Reader) -> RepeatSpec:
    value = n.data.get("repeat_every", "all")
    if value == "all":
        return RepeatSpec()
    if isinstance(value, dict) and len(value) == 1:
        (kind, every), = value.items()
        if kind in ("events", "minutes") and isinstance(every, int) \
                and not isinstance(every, bool) and every >= 1:
            return RepeatSpec(kind=kind, every=every)
    n.fail("repeat_every", f"expected all, {{events: N}} or {{minutes: N}} with N >= 1, "
           f"got {show(value)}")
    return RepeatSpec()
