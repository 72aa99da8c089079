"""Rules compiled for the hot path.

:func:`compile_rules` turns loaded :class:`~rules.definitions.model.Rule` objects into
:class:`CompiledRule` objects: expressions and templates compiled once, patterns lower-cased,
the severity parsed, and a *fingerprint* of everything that decides window membership and
status (filters, grouping, window, condition), so a reload can tell which rules keep their
windows. A rule that fails to compile is skipped and reported as a :class:`RuleLoadError`
(:func:`compile_rule` alone raises it inside a :class:`RuleFault`).

Each compiled rule also carries the exact types and sources it requires, under which
:class:`rules.engine.index.RuleIndex` files it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules.command import MessageCommand, Severity, format_iso_date
from rules.definitions.durations import format_span
from rules.definitions.model import TRIGGERS, NotificationSpec, Rule, Trigger
from rules.engine.index import conjuncts, index_values
from rules.errors import AtsdBotError
from rules.expr import EvaluationError, Expression, ExpressionError, compile_expression, wildcard
from rules.expr.template import Template, compile_template

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
    # the filter's top-level AND parts, each compiled: which part was false, for ``why``
    filter_parts: tuple[Expression, ...] = ()
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
    def timed(self) -> bool:
        """Whether ``tick`` has anything to do for this rule: time windows or held opens."""
        return self.rule.window.kind == "time" or any(
            n.spec.delay_open_seconds > 0 for n in self.notifications)

    @property
    def span(self) -> timedelta:
        return timedelta(seconds=self.rule.window.seconds)

    def reject_reason(self, command: MessageCommand, now: datetime) -> str | None:
        """Why ``command`` cannot reach this rule's windows (the filter expression aside)."""
        return self.visibility_reason(command) or self.offset_reason(command, now)

    def visibility_reason(self, command: MessageCommand) -> str | None:
        """Why this rule cannot see ``command`` at all: a timer, or its type, source or entity
        does not fit (``why`` leaves such rules out)."""
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
        return None

    def offset_reason(self, command: MessageCommand, now: datetime) -> str | None:
        """Why ``command`` is outside the rule's ``time_offset``, or None."""
        offset = self.rule.time_offset_seconds
        if offset > 0 and abs((now - command.date).total_seconds()) > offset:
            return (f"outside time_offset: date {format_iso_date(command.date)} is more than "
                    f"{format_span(timedelta(seconds=offset))} from now")
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
        except RuleFault as fault:
            errors.append(fault.error)
    return compiled, errors


class RuleFault(AtsdBotError):
    """Raised by :func:`compile_rule` on a rule's first fault; ``error`` says which and why."""

    def __init__(self, rule: Rule, where: str, message: str) -> None:
        super().__init__(message)
        self.error = RuleLoadError(rule.name, where, message)


def compile_rule(rule: Rule, endpoints: Collection[str], *, order: int = 0) -> CompiledRule:
    """Compile one rule; :class:`RuleFault` (wrapping a RuleLoadError) on the first fault."""
    _check_window(rule)
    is_timer = rule.metric in TIMER_TYPES
    if rule.metric != "message" and not is_timer:
        raise RuleFault(rule, "metric", f"{rule.metric!r}: expected message or a timer_* type")
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
        is_timer=is_timer, filter_parts=_parts(rule.filter),
        index_types=index_values(types, rule.filter, "type"),
        index_sources=index_values(sources, rule.filter, "source"),
        _exact_types=_exact(types), _exact_sources=_exact(sources),
        _exact_entities=_exact(entities),
    )


def _parts(filter_text: str | None) -> tuple[Expression, ...]:
    if not filter_text:
        return ()
    texts = conjuncts(filter_text)
    if len(texts) < 2:
        return ()
    try:
        return tuple(compile_expression(t) for t in texts)
    except ExpressionError:  # a split we got wrong: the whole filter is named instead
        return ()


def false_part(rule: CompiledRule, env: Any) -> str:
    """The first top-level AND part of the rule's filter that is false in ``env`` (the whole
    filter when it has one part, or when the parts cannot tell), as ``why`` shows it."""
    assert rule.filter is not None
    for part in rule.filter_parts:
        try:
            if not part.test(env):
                return f"{part.text.strip()} is false"
        except EvaluationError as exc:
            return f"{part.text.strip()} failed: {exc.reason}"
    return f"{rule.filter.text.strip()} is false"


def _exact(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v for v in values if not wildcard.has_wildcards(v))


def _check_window(rule: Rule) -> None:
    window = rule.window
    if window.kind == "length" and window.count < 1:
        raise RuleFault(rule, "window", f"{window.text}: a length window holds at least 1 command")
    if window.kind == "time" and window.seconds <= 0:
        raise RuleFault(rule, "window", f"{window.text}: a time window must be longer than 0")
    if rule.time_offset_seconds < 0:
        raise RuleFault(rule, "time_offset", "must not be negative")


def _expression(rule: Rule, where: str, text: str) -> Expression:
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise RuleFault(rule, where, str(exc)) from None


def _severity(rule: Rule) -> Severity | None:
    try:
        severity = Severity.parse(rule.severity)
    except ValueError as exc:
        raise RuleFault(rule, "severity", str(exc)) from None
    return None if severity == Severity.UNKNOWN else severity


def _notifications(rule: Rule, endpoints: Collection[str]) -> tuple[CompiledNotification, ...]:
    out: list[CompiledNotification] = []
    for index, spec in enumerate(rule.notifications):
        where = f"notifications[{index}]"
        if spec.endpoint not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none"
            raise RuleFault(rule, f"{where}.endpoint",
                         f"no endpoint named {spec.endpoint!r} (configured: {known})")
        if spec.repeat_every.every < 1:
            raise RuleFault(rule, f"{where}.repeat", "the repeat interval must be at least 1")
        if spec.delay_open_seconds < 0:
            raise RuleFault(rule, f"{where}.delay", "the open delay must not be negative")
        templates: dict[Trigger, Template] = {}
        for trigger in TRIGGERS:
            spec_trigger = spec.trigger(trigger)
            if spec.enabled and spec_trigger.enabled:
                try:
                    templates[trigger] = compile_template(spec_trigger.text)
                except ExpressionError as exc:
                    raise RuleFault(rule, f"{where}.{trigger}", str(exc)) from None
        out.append(CompiledNotification(index=index, spec=spec, templates=templates))
    return tuple(out)
