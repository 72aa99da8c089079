"""Load rules: discover ``*.yml``/``*.yaml``/``*.xml`` in the rule folders, build and check them.

``load_rules(paths, endpoints=...)`` returns ``(rules, issues)``. One bad rule never stops the
others: a rule with an error is left out and reported; a warning keeps the rule. Every
:class:`RuleIssue` names the file, the rule and the field, e.g.
``rules.d/ops.yml: rule 'disk': window: length must be 1 to 100000, got 0``.

The native YAML format (documented in README "Rules") is read by the second half of this
module; ATSD XML exports by :mod:`rules.atsd_xml`. Both build :class:`rules.model.Rule`
structurally; :func:`check_rule` then compiles filter, condition and templates with the
expression language (syntax errors, unknown functions) and checks endpoint names.

Decisions:
- A *disabled* rule is checked like any other, but faults of its expressions, templates and
  endpoints are warnings: an ATSD export full of series-metric rules (``avg() > 85``, a
  ``Telegram`` endpoint) imports disabled, is listed and exports back unchanged.
- A field the language does not know (ATSD's ``value`` on a message rule) is ``null`` at run
  time; it is reported as a warning, not an error, since such rules still load in ATSD.
- Files are read in sorted order (folders in the configured order); for a duplicate name the
  first definition wins and the later one is an error.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from rules.command import Severity
from rules.model import TRIGGERS, NotificationSpec, RepeatSpec, Rule, TriggerSpec, WindowSpec

MAX_FILE_BYTES = 4 * 1024 * 1024  # a rule file larger than this is refused, not parsed
RULE_SUFFIXES = (".yml", ".yaml", ".xml")


@dataclass(frozen=True)
class RuleIssue:
    """One problem found while loading: an error leaves the rule out, a warning keeps it."""

    origin: str  # the file (or "<text>")
    rule: str  # the rule's name, "#N" for an unnamed rule, "" for the whole file
    field: str  # e.g. "window", "notifications[0].open"; "" when about the whole rule/file
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = [self.origin or "<text>"]
        if self.rule:
            where.append(f"rule {self.rule!r}")
        if self.field:
            where.append(self.field)
        prefix = "warning: " if self.level == "warning" else ""
        return f"{prefix}{': '.join(where)}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"file": self.origin, "rule": self.rule, "field": self.field,
                "message": self.message, "level": self.level, "text": str(self)}


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxlist, _SHOW.maxdict, _SHOW.maxstring, _SHOW.maxother = 2, 4, 4, 60, 60


def show(value: object) -> str:
    """A short repr for messages: a YAML alias bomb must not expand into the error text."""
    return _SHOW.repr(value)


def errors_of(issues: Iterable[RuleIssue]) -> list[RuleIssue]:
    return [i for i in issues if i.level == "error"]


# -- discovery and loading ----------------------------------------------------------------


def discover(paths: Sequence[str | Path], base_dir: Path | None = None) -> list[Path]:
    """Rule files under ``paths`` (files or folders; relative to ``base_dir``), sorted."""
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if path.is_dir():
            found += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in RULE_SUFFIXES
                            and not p.name.startswith("."))
        else:
            found.append(path)  # a missing file is reported by load_file
    return found


def load_rules(
    paths: Sequence[str | Path], *, endpoints: Collection[str] | None = None,
    base_dir: Path | None = None,
) -> tuple[list[Rule], list[RuleIssue]]:
    """Load every rule file under ``paths``; ``endpoints``: the configured names (None: skip)."""
    rules: list[Rule] = []
    issues: list[RuleIssue] = []
    for path in discover(paths, base_dir):
        found, problems = load_file(path, endpoints=endpoints)
        rules += found
        issues += problems
    kept, dup_issues = drop_duplicates(rules)
    return kept, issues + dup_issues


def load_file(
    path: str | Path, *, endpoints: Collection[str] | None = None
) -> tuple[list[Rule], list[RuleIssue]]:
    file = Path(path)
    origin = str(path)
    if file.suffix.lower() not in RULE_SUFFIXES:
        return [], [RuleIssue(origin, "", "", "not a rule file: expected .yml, .yaml or .xml")]
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [RuleIssue(origin, "", "", f"file is {size} bytes; the limit is "
                                  f"{MAX_FILE_BYTES}")]
        data = file.read_bytes()
    except FileNotFoundError:
        return [], [RuleIssue(origin, "", "", "file not found")]
    except OSError as exc:
        return [], [RuleIssue(origin, "", "", f"cannot read: {exc.strerror or exc}")]
    if file.suffix.lower() == ".xml":
        return load_bytes(data, origin, fmt="xml", endpoints=endpoints)
    return load_bytes(data, origin, fmt="yaml", endpoints=endpoints)


def load_bytes(
    data: bytes | str, origin: str, *, fmt: Literal["yaml", "xml"],
    endpoints: Collection[str] | None = None,
) -> tuple[list[Rule], list[RuleIssue]]:
    """Parse one document (YAML or ATSD XML), check each rule; duplicates within it too."""
    if len(data) > MAX_FILE_BYTES:
        return [], [RuleIssue(origin, "", "", f"document is larger than {MAX_FILE_BYTES} bytes")]
    if fmt == "xml":
        from rules.atsd_xml import parse_xml

        built, issues = parse_xml(data, origin, endpoints=endpoints)
    else:
        built, issues = parse_yaml(data, origin)
    rules: list[Rule] = []
    for rule in built:
        problems = check_rule(rule, endpoints)
        issues += problems
        if not errors_of(problems):
            rules.append(rule)
    kept, dup_issues = drop_duplicates(rules)
    return kept, issues + dup_issues


def drop_duplicates(rules: Sequence[Rule]) -> tuple[list[Rule], list[RuleIssue]]:
    seen: dict[str, Rule] = {}
    issues: list[RuleIssue] = []
    for rule in rules:
        first = seen.get(rule.name)
        if first is None:
            seen[rule.name] = rule
            continue
        where = "earlier in the same file" if first.origin == rule.origin else f"in {first.origin}"
        issues.append(RuleIssue(rule.origin, rule.name, "name",
                                f"duplicate rule name: already defined {where}"))
    return list(seen.values()), issues


# -- semantic checks ----------------------------------------------------------------------


def check_rule(rule: Rule, endpoints: Collection[str] | None) -> list[RuleIssue]:
    """Compile the rule's expressions and templates; check endpoints and severity.

    Problems of a disabled rule are downgraded to warnings (see the module docstring).
    """
    from rules.expr import ExpressionError, compile_expression
    from rules.template import compile_template

    found: list[tuple[str, str, bool]] = []  # (field, message, is_error)

    def expression(field: str, text: str | None, known: frozenset[str]) -> None:
        if text is None:
            return
        try:
            compiled = compile_expression(text)
        except ExpressionError as exc:
            found.append((field, str(exc), True))
            return
        unknown = sorted(set(compiled.fields) - known)
        if unknown:
            found.append((field, f"field {', '.join(map(repr, unknown))} is not available "
                          "here and is always null", False))

    expression("filter", rule.filter, COMMAND_FIELDS)
    expression("condition", rule.condition, COMMAND_FIELDS | WINDOW_FIELDS)
    for index, spec in enumerate(rule.notifications):
        where = f"notifications[{index}]"
        if endpoints is not None and spec.endpoint not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none"
            found.append((f"{where}.endpoint", f"unknown endpoint {spec.endpoint!r}; "
                          f"configured: {known}", True))
        for trigger in TRIGGERS:
            text = spec.trigger(trigger).text
            if not text:
                continue
            try:
                template = compile_template(text)
            except ExpressionError as exc:
                found.append((f"{where}.{trigger}", str(exc), True))
                continue
            unknown = sorted(set(template.fields) - COMMAND_FIELDS - WINDOW_FIELDS)
            if unknown:
                found.append((f"{where}.{trigger}", f"field {', '.join(map(repr, unknown))} "
                              "is not available and renders empty", False))
    return [RuleIssue(rule.origin, rule.name, field, message,
                      "error" if is_error and rule.enabled else "warning")
            for field, message, is_error in found]


def without_origin(rule: Rule) -> Rule:
    """The rule with ``origin`` cleared: for comparing rules read from different files."""
    return replace(rule, origin="")


# -- field names the language knows (for "always null" warnings) --------------------------

# What rules.status gives a filter (the command) and a condition or text (plus the window).
COMMAND_FIELDS = frozenset({"entity", "type", "source", "message", "severity", "tags",
                            "command_time", "metric"})
WINDOW_FIELDS = frozenset({
    "rule", "status", "before_status", "message_severity", "repeat_count", "window",
    "open_time", "repeat_time", "cancel_time", "add_time", "now", "alert_duration",
    "alert_duration_interval", "received_datetime", "alert_id", "window_tags", "count",
})

# -- durations and windows ----------------------------------------------------------------

MAX_LENGTH_WINDOW = 100_000  # commands kept per window
MAX_TIME_WINDOW = 30 * 86400.0  # seconds
MAX_DURATION = 366 * 86400.0  # offsets and delays: beyond a year is a typo, not a plan

_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0,
                 "week": 604800.0}
_UNIT_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute",
                 "h": "hour", "d": "day", "w": "week"}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_WINDOW = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$")


def _unit(word: str) -> str:
    """``minutes``/``MINUTE``/``min`` -> ``minute``; ValueError names an unknown unit."""
    lower = word.lower()
    name = _UNIT_ALIASES.get(lower, lower[:-1] if lower.endswith("s") and len(lower) > 2
                             else lower)
    if name not in _UNIT_SECONDS:
        raise ValueError(f"unknown unit {word!r}; expected second, minute, hour, day or week")
    return name


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``"30"``, ``"30 second"``, ``"5 minutes"``, ``"1h"``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected seconds or a duration like '5 minute', got {show(value)}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _AMOUNT.match(value) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"expected seconds or a duration like '5 minute', got {show(value)}")
        word = match.group(2)
        seconds = float(match.group(1)) * (_UNIT_SECONDS[_unit(word)] if word else 1.0)
    if not 0 <= seconds <= MAX_DURATION:  # also false for NaN
        raise ValueError(f"must be 0 to {int(MAX_DURATION)} seconds (366 days), got {show(value)}")
    return seconds


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def parse_window(text: object) -> WindowSpec:
    """``length(N)`` (1 <= N <= 100,000) or ``time(N unit)`` (at most 30 days)."""
    match = _WINDOW.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"expected length(N) or time(N unit), got {show(text)}")
    kind, inner = match.group(1).lower(), match.group(2).strip()
    if kind == "length":
        if not inner.isdigit():
            raise ValueError(f"length needs a whole number of commands, got {inner!r}")
        count = int(inner)
        if not 1 <= count <= MAX_LENGTH_WINDOW:
            raise ValueError(f"length must be 1 to {MAX_LENGTH_WINDOW}, got {count}")
        return WindowSpec(kind="length", count=count, text=f"length({count})")
    if kind == "time":
        amount = _AMOUNT.match(inner)
        if not amount or not amount.group(2):
            raise ValueError(f"time needs an amount and a unit like time(5 minute), got {inner!r}")
        unit = _unit(amount.group(2))
        seconds = float(amount.group(1)) * _UNIT_SECONDS[unit]
        if not 0 < seconds <= MAX_TIME_WINDOW:
            raise ValueError(f"time must be more than 0 and at most 30 days, got {inner!r}")
        return WindowSpec(kind="time", seconds=seconds,
                          text=f"time({_number_text(float(amount.group(1)))} {unit})")
    raise ValueError(f"unknown window {kind!r}; expected length(N) or time(N unit)")


# -- the native YAML format -----------------------------------------------------------------

RULE_KEYS = ("name", "description", "enabled", "metric", "type", "source", "entities",
             "filter", "window", "check_on_exit", "group_by_entity", "group_by_tags",
             "condition", "severity", "time_offset", "notifications")
NOTIFICATION_KEYS = ("endpoint", "name", "enabled", "open", "repeat", "cancel",
                     "repeat_every", "delay_open", "room", "sync_reply")
TIMER_METRICS = ("timer_15s", "timer_1m", "timer_15m", "timer_1h")


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
        try:
            return parse_duration(self.data.get(key, 0))
        except ValueError as exc:
            self.fail(key, str(exc))
            return 0.0


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
    label = f"#{index + 1}"
    if not isinstance(entry, dict):
        return None, [RuleIssue(origin, label, "", "expected a mapping of rule fields")]
    name = entry.get("name")
    if isinstance(name, bool):
        return None, [RuleIssue(origin, label, "name", f"YAML read the name as {name}: quote "
                                "it (off/on/yes/no are booleans in YAML)")]
    if isinstance(name, (int, float)):
        name = str(name)  # `name: 404` means the text
    if not isinstance(name, str) or not name.strip() or len(name) > 256 or "\n" in name:
        return None, [RuleIssue(origin, label, "name",
                                "required: a non-empty one-line name of at most 256 characters")]
    r = _Reader(origin, name.strip(), entry)
    r.unknown(RULE_KEYS)
    window = WindowSpec(kind="length", count=1)
    if "window" in entry:
        try:
            window = parse_window(entry["window"])
        except ValueError as exc:
            r.fail("window", str(exc))
    rule = Rule(
        name=name.strip(),
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
    )
    return (None if r.issues else rule), r.issues


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
        where = f"notifications[{index}]."
        if not isinstance(entry, dict):
            r.fail(where[:-1], "expected a mapping with at least 'endpoint'")
            continue
        n = _Reader(r.origin, r.rule, entry, where)
        n.unknown(NOTIFICATION_KEYS)
        endpoint = n.text("endpoint")
        if not endpoint:
            n.fail("endpoint", "required: the name of a configured endpoint")
        specs.append(NotificationSpec(
            endpoint=(endpoint or "").strip(),
            open=_trigger(n, "open"), repeat=_trigger(n, "repeat"), cancel=_trigger(n, "cancel"),
            repeat_every=_repeat_every(n), delay_open_seconds=n.duration("delay_open"),
            room=n.text("room") or None, sync_reply=n.boolean("sync_reply", False),
            enabled=n.boolean("enabled", True), name=n.text("name", "") or "",
        ))
        r.issues += n.issues
    return tuple(specs)


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
