"""Rules compiled for the hot path, and the index that finds the rules a command can match.

:func:`compile_rules` turns loaded :class:`~rules.model.Rule` objects into
:class:`CompiledRule` objects: expressions and templates compiled once, patterns lower-cased,
the severity parsed, and a *fingerprint* of everything that decides window membership and
status (filters, grouping, window, condition), so a reload can tell which rules keep their
windows. A rule that fails to compile is skipped and reported as a :class:`RuleLoadError`.

:class:`RuleIndex` keeps rules by exact message type and source. A command is only tested
against the rules filed under its (type, source), its type alone, its source alone, and the
rules that constrain neither, so cost stays nearly flat as rules on other sources are added.
Exact values come from the rule's ``types``/``sources`` and also from its filter when the
filter is a plain conjunction such as ``source = 'rocket.chat' AND message LIKE '*x*'``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rules import wildcard
from rules.command import MessageCommand, Severity
from rules.expr import Expression, ExpressionError, compile_expression
from rules.model import TRIGGERS, NotificationSpec, Rule, Trigger
from rules.template import Template, compile_template

TIMER_TYPES = frozenset({"timer_15s", "timer_1m", "timer_15m", "timer_1h"})
TIMER_SOURCE = "timer"


@dataclass(frozen=True)
class RuleLoadError:
    """A rule that could not be compiled: its name, the field at fault and why."""

    rule: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"rule {self.rule!r}: {self.field}: {self.message}"


@dataclass(frozen=True)
class CompiledNotification:
    index: int
    spec: NotificationSpec
    templates: dict[Trigger, Template]  # only the enabled triggers

    @property
    def endpoint(self) -> str:
        return self.spec.endpoint


@dataclass
class CompiledRule:
    rule: Rule
    order: int
    fingerprint: str
    types: tuple[str, ...]
    sources: tuple[str, ...]
    entities: tuple[str, ...]
    filter: Expression | None
    condition: Expression | None  # None: the literal ``true``, skipped on the hot path
    severity: Severity | None  # None: inherit the message's
    notifications: tuple[CompiledNotification, ...]
    is_timer: bool = False
    index_types: tuple[str, ...] = ()  # exact lower-case values the index files it under
    index_sources: tuple[str, ...] = ()
    # values without wildcards, for a set lookup before any pattern is tried
    _exact_types: frozenset[str] = field(default_factory=frozenset)
    _exact_sources: frozenset[str] = field(default_factory=frozenset)
    _exact_entities: frozenset[str] = field(default_factory=frozenset)

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def span(self) -> timedelta:
        return timedelta(seconds=self.rule.window.seconds)

    def reject_reason(self, command: MessageCommand, now: datetime) -> str | None:
        """Why ``command`` cannot reach this rule's windows (the filter expression aside)."""
        if command.source == TIMER_SOURCE and command.type in TIMER_TYPES and not self.is_timer:
            return "timer command (the rule is not a timer rule)"
        if self.types and command.type not in self._exact_types and not _matches(
            self.types, command.type
        ):
            return f"type {command.type!r} does not match {', '.join(self.types)}"
        if self.sources and command.source not in self._exact_sources and not _matches(
            self.sources, command.source
        ):
            return f"source {command.source!r} does not match {', '.join(self.sources)}"
        if self.entities and command.entity not in self._exact_entities and not _matches(
            self.entities, command.entity
        ):
            return f"entity {command.entity!r} does not match {', '.join(self.entities)}"
        offset = self.rule.time_offset_seconds
        if offset > 0 and abs((now - command.date).total_seconds()) > offset:
            return f"date {command.date.isoformat()} is more than {offset:g}s from now"
        return None


def _matches(patterns: tuple[str, ...], value: str) -> bool:
    value = value.lower()
    return any(wildcard.match(p, value) for p in patterns)


def fingerprint(rule: Rule) -> str:
    """Hash of what decides windows and status; notification changes leave it alone."""
    parts = (rule.types, rule.sources, rule.entities, rule.filter, rule.time_offset_seconds,
             rule.group_by_entity, rule.group_by_tags, rule.window, rule.check_on_exit,
             rule.condition.strip(), rule.metric)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def compile_rules(
    rules: Sequence[Rule], endpoints: Collection[str]
) -> tuple[list[CompiledRule], list[RuleLoadError]]:
    """Compile every enabled rule; a rule with a fault is left out and reported."""
    compiled: list[CompiledRule] = []
    errors: list[RuleLoadError] = []
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            errors.append(RuleLoadError(rule.name, "name", "defined more than once"))
            continue
        seen.add(rule.name)
        try:
            compiled.append(compile_rule(rule, endpoints, order=len(compiled)))
        except _Fault as fault:
            errors.append(fault.error)
    return compiled, errors


class _Fault(Exception):
    def __init__(self, rule: Rule, where: str, message: str) -> None:
        super().__init__(message)
        self.error = RuleLoadError(rule.name, where, message)


def compile_rule(rule: Rule, endpoints: Collection[str], *, order: int = 0) -> CompiledRule:
    """Compile one rule; raises ``_Fault`` (wrapping a RuleLoadError) on the first fault."""
    _check_window(rule)
    is_timer = rule.metric in TIMER_TYPES
    if rule.metric != "message" and not is_timer:
        raise _Fault(rule, "metric", f"{rule.metric!r}: expected message or a timer_* type")
    types = tuple(t.lower() for t in rule.types) or ((rule.metric,) if is_timer else ())
    sources = tuple(s.lower() for s in rule.sources)
    entities = tuple(e.lower() for e in rule.entities)
    filter_expr = _expression(rule, "filter", rule.filter) if rule.filter else None
    condition = rule.condition.strip() or "true"
    cond_expr = None if condition.lower() == "true" else _expression(rule, "condition", condition)
    return CompiledRule(
        rule=rule, order=order, fingerprint=fingerprint(rule), types=types, sources=sources,
        entities=entities, filter=filter_expr, condition=cond_expr,
        severity=_severity(rule), notifications=_notifications(rule, endpoints),
        is_timer=is_timer,
        index_types=_index_values(types, rule.filter, "type"),
        index_sources=_index_values(sources, rule.filter, "source"),
        _exact_types=_exact(types), _exact_sources=_exact(sources),
        _exact_entities=_exact(entities),
    )


def _exact(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v for v in values if not wildcard.has_wildcards(v))


def _check_window(rule: Rule) -> None:
    window = rule.window
    if window.kind == "length" and window.count < 1:
        raise _Fault(rule, "window", f"{window.text}: a length window holds at least 1 command")
    if window.kind == "time" and window.seconds <= 0:
        raise _Fault(rule, "window", f"{window.text}: a time window must be longer than 0")
    if rule.time_offset_seconds < 0:
        raise _Fault(rule, "time_offset", "must not be negative")


def _expression(rule: Rule, where: str, text: str) -> Expression:
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise _Fault(rule, where, str(exc)) from None


def _severity(rule: Rule) -> Severity | None:
    try:
        severity = Severity.parse(rule.severity)
    except ValueError as exc:
        raise _Fault(rule, "severity", str(exc)) from None
    return None if severity == Severity.UNKNOWN else severity


def _notifications(rule: Rule, endpoints: Collection[str]) -> tuple[CompiledNotification, ...]:
    out: list[CompiledNotification] = []
    for index, spec in enumerate(rule.notifications):
        where = f"notifications[{index}]"
        if spec.endpoint not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none"
            raise _Fault(rule, f"{where}.endpoint",
                         f"no endpoint named {spec.endpoint!r} (configured: {known})")
        if spec.repeat_every.every < 1:
            raise _Fault(rule, f"{where}.repeat", "the repeat interval must be at least 1")
        if spec.delay_open_seconds < 0:
            raise _Fault(rule, f"{where}.delay", "the open delay must not be negative")
        templates: dict[Trigger, Template] = {}
        for trigger in TRIGGERS:
            spec_trigger = spec.trigger(trigger)
            if spec.enabled and spec_trigger.enabled:
                try:
                    templates[trigger] = compile_template(spec_trigger.text)
                except ExpressionError as exc:
                    raise _Fault(rule, f"{where}.{trigger}", str(exc)) from None
        out.append(CompiledNotification(index=index, spec=spec, templates=templates))
    return tuple(out)


# -- what a filter requires -------------------------------------------------------------

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_OR = re.compile(r"\|\||\bor\b", re.IGNORECASE)
_AND = re.compile(r"&&|\band\b", re.IGNORECASE)
_EQUALS = re.compile(r"^(?:(\w+)\s*==?\s*@(\d+)@|@(\d+)@\s*==?\s*(\w+))$")
_IN = re.compile(r"^(\w+)\s+in\s*\(\s*(@\d+@(?:\s*,\s*@\d+@)*)\s*\)$", re.IGNORECASE)


def _index_values(declared: tuple[str, ...], filter_text: str | None, name: str
                  ) -> tuple[str, ...]:
    """Exact values a command's ``name`` must have for this rule, or () when unknown."""
    if declared:
        return declared if not any(wildcard.has_wildcards(v) for v in declared) else ()
    return required_value(filter_text, name) if filter_text else ()


def required_value(filter_text: str, name: str) -> tuple[str, ...]:
    """The values ``name`` must take for ``filter_text`` to be true, or ``()`` when unknown.

    Found when the filter is a conjunction (``AND`` at the top level, no top-level ``OR`` or
    ``?:``) with a term ``name = 'x'``, ``name IN ('x', 'y')`` or ``(name = 'x' OR name =
    'y')`` - the shape ``rules export`` writes. Any other shape gives ``()``: the rule is then
    tested against every command, which is slower but never wrong. Values are lower-cased:
    command types and sources are lower-case, so an upper-case literal can never match.
    """
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        literals.append(match.group(0)[1:-1])
        return f"@{len(literals) - 1}@"

    shape = _STRING.sub(hide, filter_text)
    if "/*" in shape or "'" in shape or '"' in shape:
        return ()  # a comment or an unterminated string: do not guess
    top = _depth0(shape)
    if top is None or _OR.search(top) or "?" in top:
        return ()
    for term in _split(shape, top, _AND):
        values = _term_values(_unwrap(term.strip()), name, literals)
        if values:
            return values
    return ()


def _depth0(shape: str) -> str | None:
    """``shape`` with everything inside parentheses blanked; None when unbalanced."""
    depth, out = 0, []
    for ch in shape:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        out.append(ch if depth == 0 and ch not in "()" else " ")
    return "".join(out) if depth == 0 else None


def _split(shape: str, top: str, separator: re.Pattern[str]) -> list[str]:
    parts, start = [], 0
    for match in separator.finditer(top):
        parts.append(shape[start:match.start()])
        start = match.end()
    parts.append(shape[start:])
    return parts


def _unwrap(term: str) -> str:
    while term.startswith("(") and term.endswith(")") and _depth0(term[1:-1]) is not None:
        term = term[1:-1].strip()
    return term


def _term_values(term: str, name: str, literals: list[str]) -> tuple[str, ...]:
    found = _EQUALS.match(term)
    if found:
        field_name = found.group(1) or found.group(4)
        return _values(field_name, [found.group(2) or found.group(3)], name, literals)
    found = _IN.match(term)
    if found:
        return _values(found.group(1), re.findall(r"\d+", found.group(2)), name, literals)
    top = _depth0(term)
    if top is None or not _OR.search(top) or "?" in top or _AND.search(top):
        return ()
    values: list[str] = []
    for part in _split(term, top, _OR):
        one = _term_values(_unwrap(part.strip()), name, literals)
        if not one:
            return ()  # one alternative without a known value: nothing is required
        values += one
    return tuple(dict.fromkeys(values))


def _values(field_name: str, numbers: list[str], name: str, literals: list[str]
            ) -> tuple[str, ...]:
    if field_name.lower() != name:
        return ()
    texts = [literals[int(n)] for n in numbers]
    if any("\\" in t for t in texts):
        return ()  # escapes: leave the exact value to the expression
    return tuple(t.lower() for t in texts)


class RuleIndex:
    """Rules filed by exact (type, source); the candidates of a command in rule order."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self._buckets: dict[tuple[str | None, str | None], list[CompiledRule]] = {}
        for rule in rules:
            for type_key in rule.index_types or (None,):
                for source_key in rule.index_sources or (None,):
                    self._buckets.setdefault((type_key, source_key), []).append(rule)
        self._cache: dict[tuple[str, str], tuple[CompiledRule, ...]] = {}

    def candidates(self, command: MessageCommand) -> tuple[CompiledRule, ...]:
        key = (command.type, command.source)
        found = self._cache.get(key)
        if found is None:
            found = self._lookup(command.type.lower(), command.source.lower())
            if len(self._cache) > 10_000:  # bound the cache against many distinct sources
                self._cache.clear()
            self._cache[key] = found
        return found

    def _lookup(self, type_: str, source: str) -> tuple[CompiledRule, ...]:
        seen: dict[int, CompiledRule] = {}
        for key in ((type_, source), (type_, None), (None, source), (None, None)):
            for rule in self._buckets.get(key, ()):
                seen[rule.order] = rule
        return tuple(seen[k] for k in sorted(seen))
