"""Dry run: what one rule would do with some commands, stage by stage, sending nothing.

Used by ``atsd-bot rules test`` and the chat command ``test``. The rule is compiled on its
own (a rule that fails to compile gives a report with the load errors), runs on windows of
its own that start empty, and neither the engine's windows, the store nor the outbox are
touched; ``db_message_*`` functions only read the message store.

**Decision:** each command is evaluated at its own date, so that replaying stored commands
(``--replay SINCE``) fills and expires time windows as it happened; ``time_offset`` is
therefore not applied in a dry run.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from rules.command import MessageCommand
from rules.definitions.model import Rule
from rules.engine.compiled import CompiledRule, RuleFault, RuleLoadError, compile_rule
from rules.engine.fields import alert_severity, command_fields, window_fields
from rules.engine.status import transition
from rules.engine.triggers import Outgoing, decide
from rules.engine.windows import Window, add_command, apply_transition, new_window, window_key
from rules.expr import Environment, EvaluationError
from rules.silences import AlertFacts
from rules.store import Database
from rules.store.engine_state import message_count, message_last


class DryRunHost(Protocol):
    """What a dry run reads of the engine (a :class:`rules.engine.rule_engine.RuleEngine`)."""

    @property
    def endpoint_names(self) -> Collection[str]: ...

    @property
    def targets(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def db(self) -> Database | None: ...

    @property
    def persist(self) -> bool: ...

    def environment(self, conn: Connection | None, fields: Mapping[str, Any], now: datetime,
                    window: Window | None = None) -> Environment: ...

    def silence_covering(self, facts: AlertFacts, now: datetime) -> Any: ...


@dataclass
class StepReport:
    """What happened to one command."""

    command: dict[str, Any]
    filtered_out: str | None = None
    window_key: str | None = None
    count: int | None = None
    condition: bool | None = None
    before: str | None = None
    after: str | None = None
    trigger: str | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class DryRunReport:
    rule: str
    load_errors: list[RuleLoadError] = field(default_factory=list)
    steps: list[StepReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "load_errors": [str(e) for e in self.load_errors],
                "steps": [asdict(s) for s in self.steps]}

    def format(self) -> str:
        """Plain text, one block per command (CLI output and chat replies)."""
        lines = [f"rule {self.rule}"]
        lines += [f"  cannot load: {e.field}: {e.message}" for e in self.load_errors]
        for number, step in enumerate(self.steps, 1):
            command = step.command
            lines.append(f"{number}. {command['entity']} {command['type']}/{command['source']}"
                         f" {command['message']!r}")
            lines += [f"   error: {e}" for e in step.errors]
            if step.filtered_out is not None:
                lines.append(f"   filtered out: {step.filtered_out}")
                continue
            lines.append(f"   window {step.window_key!r} count={step.count} "
                         f"condition={_word(step.condition)} {step.before} -> {step.after}")
            for note in step.notifications:
                if note["skipped"]:
                    lines.append(f"   {note['trigger']} -> {note['endpoint']}: not sent "
                                 f"({note['skipped']})")
                else:
                    lines.append(f"   {note['trigger']} -> {note['endpoint']} "
                                 f"[{note['status']}]: {note['text']}")
        return "\n".join(lines)


def _word(value: bool | None) -> str:
    return "error" if value is None else str(value).lower()


def dry_run(engine: DryRunHost, rule: Rule, commands: Sequence[MessageCommand]
            ) -> DryRunReport:
    report = DryRunReport(rule=rule.name)
    try:
        compiled = compile_rule(rule, engine.endpoint_names)
    except RuleFault as fault:
        report.load_errors.append(fault.error)
        return report
    runner = _Runner(engine, compiled)
    for command in commands:
        report.steps.append(runner.step(command))
    return report


class _Runner:
    def __init__(self, engine: DryRunHost, rule: CompiledRule) -> None:
        self.engine = engine
        self.rule = rule
        self.windows: dict[str, Window] = {}
        self.ids = itertools.count(1)

    def _environment(self, fields: Mapping[str, Any], now: datetime,
                     window: Window | None = None) -> Environment:
        """The engine's environment; db_message_* read through a short connection each, so a
        long replay never holds the store (on SQLite a connection may hold the write lock)."""
        env = self.engine.environment(None, fields, now, window)
        db = self.engine.db
        if db is not None and self.engine.persist:
            def count(*args: Any) -> int:
                with db.connect() as conn:
                    return message_count(conn, now, *args)

            def last(*args: Any) -> dict[str, Any] | None:
                with db.connect() as conn:
                    return message_last(conn, now, *args)

            env.db_message_count, env.db_message_last = count, last
        return env

    def step(self, command: MessageCommand) -> StepReport:
        report = StepReport(command=command.to_json())
        now = command.date
        reason = self.rule.reject_reason(command, now)
        if reason is None and self.rule.filter is not None:
            env = self._environment(command_fields(command), now)
            passed = self._test(self.rule.filter, env, report)
            reason = None if passed else ("the filter failed" if passed is None
                                          else f"filter is false: {self.rule.rule.filter}")
        if reason is not None:
            report.filtered_out = reason
            return report
        key, entity, tags = window_key(self.rule.rule, command)
        window = self.windows.setdefault(key, new_window(self.rule.rule, key, entity, tags))
        add_command(self.rule.rule, window, command, None, now)
        report.window_key, report.count = key, window.count
        self._evaluate(window, command, report)
        return report

    def _evaluate(self, window: Window, command: MessageCommand,
                  report: StepReport) -> None:
        now = command.date
        env = self._environment(window_fields(self.rule, window, command, now), now, window)
        condition: bool | None = True
        if self.rule.condition is not None:
            condition = self._test(self.rule.condition, env, report)
        report.condition, report.before = condition, window.status.value
        if condition is None:
            report.after = window.status.value
            return
        after, trigger = transition(window.status, condition)
        apply_transition(window, after, alert_severity(self.rule, command), now)
        report.after, report.trigger = after.value, trigger
        if trigger == "open":
            window.alert_id = next(self.ids)
        if trigger is None:
            return
        env.fields = window_fields(self.rule, window, command, now)
        facts = AlertFacts(rule=self.rule.name, entity=window.entity, severity=window.severity,
                           tags=command.tags)
        items = decide(self.rule, window, trigger, command, env, now,
                       silenced=self.engine.silence_covering(facts, now) is not None,
                       targets=self.engine.targets, cancel_held=lambda _id: True)
        report.notifications = [_describe(item) for item in items]
        for item in items:
            report.errors += [f"{reason} in {expr}" for expr, reason in item.errors]

    @staticmethod
    def _test(expression: Any, env: Environment, report: StepReport) -> bool | None:
        try:
            return bool(expression.test(env))
        except EvaluationError as exc:
            report.errors.append(str(exc))
            return None


def _describe(item: Outgoing) -> dict[str, Any]:
    return {"endpoint": item.endpoint, "trigger": item.trigger, "text": item.text,
            "target": item.target, "status": item.status, "skipped": item.skipped,
            "due": item.due_at.isoformat() if item.due_at else None,
            "errors": [f"{reason} in {expr}" for expr, reason in item.errors]}
