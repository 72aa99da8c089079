"""The rule engine: command -> filter -> window -> condition -> status -> notifications.

:class:`RuleEngine` implements :class:`rules.ingest.CommandEngine`. ``process`` runs inside
the caller's transaction and writes window rows, alert rows, rule errors and outbox rows
through the caller's connection only; its in-memory changes are kept in an undo log until
``after_commit`` (or rolled back by ``after_rollback``); see :mod:`rules.engine.txn` for the lock
order that keeps ticks and commands from deadlocking. Loading rules and restoring state are in
:mod:`rules.engine.lifecycle`; diagnostics and operator actions in :mod:`rules.engine.alerts`.

With ``persist=False`` the engine keeps everything in memory (benchmarks); the dry run in
:mod:`rules.engine.dryrun` uses the same stages without any engine state.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from rules.clock import Clock
from rules.command import MessageCommand, format_iso_date
from rules.definitions.model import Rule
from rules.engine.alerts import AlertViews
from rules.engine.compiled import CompiledRule, false_part
from rules.engine.dryrun import DryRunReport, dry_run
from rules.engine.fields import alert_severity, command_fields, window_fields
from rules.engine.index import RuleIndex
from rules.engine.lifecycle import RuleLifecycle
from rules.engine.silencing import SilenceViews, first_covering
from rules.engine.state import close_alert, open_alert
from rules.engine.status import Status, transition
from rules.engine.trace import Step, Trace, short
from rules.engine.triggers import Outgoing, decide
from rules.engine.windows import (
    Window,
    add_command,
    apply_transition,
    expire,
    new_window,
    window_key,
)
from rules.expr import Environment, EvaluationError
from rules.living import Stories, Subject, Told
from rules.notification import Notification
from rules.silences import AlertFacts
from rules.store import Database, explanations, outbox
from rules.store.engine_state import message_count, message_last, record_rule_error

log = logging.getLogger(__name__)
T = TypeVar("T")


class RuleEngine(RuleLifecycle, AlertViews, SilenceViews):
    """Applies message commands to rules; see the module docstring for the transaction rules."""

    def __init__(self, db: Database | None, clock: Clock, *,
                 endpoints: Collection[str] = ("log",),
                 default_endpoint_targets: Mapping[str, Mapping[str, Any]] | None = None,
                 persist: bool = True) -> None:
        super().__init__(db, clock, persist)
        self.endpoint_names = frozenset(endpoints)
        self.targets: Mapping[str, Mapping[str, Any]] = dict(default_endpoint_targets or {})
        self._rules: list[Rule] = []
        self._index = RuleIndex([])
        self._ids = itertools.count(1)  # alert and notification ids when not persisting
        self.stories = Stories()  # conversation: thread (rules/living); runtime sets its budget

    # -- the hot path -------------------------------------------------------------------

    def process(self, conn: Connection | None, command: MessageCommand,
                message_id: int | None, cause: str | None = None) -> list[Notification]:
        """Run ``command`` through every rule it can match, inside the caller's transaction.

        A stored message (``message_id``) also gets its explanation recorded (what each rule
        that could see it did, :mod:`rules.engine.trace`) in the same transaction.
        ``cause``: the once-only key of the message, written into the target of each chat
        notification's row as it is made (see :class:`rules.ingest.CommandEngine`).
        """
        if conn is None and self.persist:
            raise ValueError("a persisting engine needs the caller's connection")
        self._enter()
        now = self.clock.now()
        notes: list[Notification] = []
        filter_env: Environment | None = None
        trace = Trace() if message_id is not None and conn is not None else None
        for rule in self._index.candidates(command):
            if rule.visibility_reason(command) is not None:
                continue
            step = trace.rule(rule.name) if trace is not None else None
            offset = rule.offset_reason(command, now)
            if offset is not None:
                if step is not None:
                    step["x"] = offset
                continue
            if rule.filter is not None:
                if filter_env is None:
                    filter_env = self.environment(conn, command_fields(command), now)
                if not self._filter(conn, rule, filter_env, command, now, step):
                    continue
            notes += self._apply(conn, rule, command, message_id, now, step, cause)
        if trace is not None and conn is not None and message_id is not None:
            if not trace.steps:
                trace.nobody(self._filters_key)
            explanations.record(conn, message_id, trace.rows())
        return notes

    def _filter(self, conn: Connection | None, rule: CompiledRule, env: Environment,
                command: MessageCommand, now: datetime, step: Step | None) -> bool:
        """The rule's filter; on false, the step names the part that was false."""
        assert rule.filter is not None
        try:
            if rule.filter.test(env):
                return True
        except EvaluationError as exc:
            self.record_error(conn, rule.name, exc.text or rule.filter.text, exc.reason,
                              command, now)
            if step is not None:
                step["fe"] = short(exc.reason)
            return False
        if step is not None:
            step["f"] = short(false_part(rule, env))
        return False

    def _apply(self, conn: Connection | None, rule: CompiledRule, command: MessageCommand,
               message_id: int | None, now: datetime, step: Step | None = None,
               cause: str | None = None) -> list[Notification]:
        key, entity, tags = window_key(rule.rule, command)
        windows = self._windows.setdefault(rule.name, {})
        window = windows.get(key)
        self._touch(rule.name, key, window)
        if window is None:
            window = windows[key] = new_window(rule.rule, key, entity, tags)
        add_command(rule.rule, window, command, message_id, now)
        if step is not None:
            step.update(k=key, n=window.count, w=rule.rule.window.text)
        return self._evaluate(conn, rule, window, command, now, step, cause)

    def _evaluate(self, conn: Connection | None, rule: CompiledRule, window: Window,
                  command: MessageCommand, now: datetime, step: Step | None = None,
                  cause: str | None = None) -> list[Notification]:
        env = self.environment(conn, window_fields(rule, window, command, now), now, window)
        condition: bool | None = True
        if rule.condition is not None:
            condition = self._test(conn, rule, rule.condition, env, command, now, fail=None)
        if step is not None:
            step["c"] = condition
        notes: list[Notification] = []
        if condition is not None:
            before = window.status
            after, trigger = transition(window.status, condition)
            apply_transition(window, after, alert_severity(rule, command), now)
            if step is not None:
                step.update(s=before + ">" + after, t=trigger)  # str members: their values
            if trigger == "open":
                window.alert_id = self._open_alert(conn, rule, window, now)
            if trigger is not None:
                env.fields = window_fields(rule, window, command, now)
                notes = self._notify(conn, rule, window, trigger, command, env, now, step,
                                     cause)
            if trigger == "cancel":
                if conn is not None:
                    if rule.rule.conversation == "thread" and window.alert_id is not None:
                        notes += self.stories.cancelled(conn, window.alert_id, now)
                    close_alert(conn, window, now, "CANCEL")
                window.alert_id = None
        self._save(conn, rule, window, now)
        return notes

    def _test(self, conn: Connection | None, rule: CompiledRule, expression: Any,
              env: Environment, command: MessageCommand, now: datetime,
              fail: bool | None = False) -> bool | None:
        try:
            return bool(expression.test(env))
        except EvaluationError as exc:
            self.record_error(conn, rule.name, exc.text or expression.text, exc.reason,
                              command, now)
            return fail

    def _open_alert(self, conn: Connection | None, rule: CompiledRule, window: Window,
                    now: datetime) -> int:
        if conn is None:
            return next(self._ids)
        return open_alert(conn, window, metric=rule.rule.metric,
                                expression=rule.rule.condition, filter_text=rule.rule.filter or "",
                                window_text=rule.rule.window.text, now=now)

    def _notify(self, conn: Connection | None, rule: CompiledRule, window: Window, trigger: Any,
                command: MessageCommand, env: Environment, now: datetime,
                step: Step | None = None, cause: str | None = None) -> list[Notification]:
        silence = None
        active = self._active_silences(conn, now)
        if active:  # usually none: no facts to build
            facts = AlertFacts(rule=rule.name, entity=window.entity, severity=window.severity,
                               tags=command.tags)
            silence = first_covering(active, facts, now)

        def cancel_held(outbox_id: int | None) -> bool:
            if conn is None or outbox_id is None:
                return conn is None
            return outbox.cancel_held(conn, outbox_id, now)

        items = decide(rule, window, trigger, command, env, now,
                       silenced=silence is not None, targets=self.targets,
                       cancel_held=cancel_held)
        silence_id = silence.id if silence is not None else None
        if step is not None and silence_id is not None:
            step["si"] = silence_id
        return self._store(conn, rule, window, items, command, now, silence_id, step, cause)

    def _store(self, conn: Connection | None, rule: CompiledRule, window: Window,
               items: list[Outgoing], command: MessageCommand, now: datetime,
               silence_id: int | None = None, step: Step | None = None,
               cause: str | None = None) -> list[Notification]:
        notes: list[Notification] = []
        for item in items:
            if item.skipped is not None:
                if step is not None:
                    step.setdefault("q", []).append(f"{item.endpoint}: {item.skipped}")
                continue
            for expression, reason in item.errors:
                self.record_error(conn, rule.name, expression, reason, command, now)
            due = item.due_at if item.due_at is not None and item.due_at > now else None
            note = Notification(rule=rule.name, endpoint=item.endpoint, trigger=item.trigger,
                                text=item.text, alert_id=window.alert_id, target=item.target,
                                due_at=due)
            told = self._living(conn, rule, window, item, note, now)
            if told is None:
                if cause is not None and "room_id" in note.target:
                    note.target["cause"] = cause
                if conn is not None:
                    outbox.write(conn, note, status=item.status, now=now,
                                 silence_id=silence_id if item.status == "silenced" else None)
                else:
                    note.id = next(self._ids)
                written = [note] if item.status != "silenced" else []
                if step is not None and conn is not None:
                    step.setdefault("o", []).append(note.id)
            else:
                written = told.notes
                if step is not None:
                    _trace_living(step, told)
            index = item.notification.index
            if due is not None and index in window.pending_open:
                window.pending_open[index] = (note.id, due)
            window.last_text = item.text
            notes += written
        return notes

    def _living(self, conn: Connection | None, rule: CompiledRule, window: Window,
                item: Outgoing, note: Notification, now: datetime) -> Told | None:
        """A ``thread`` rule's Rocket.Chat notification, written as rows of its alert's living
        message (:mod:`rules.living`); None: written flat."""
        if conn is None or item.status != "pending" or not Stories.applies(
                rule.rule.conversation, item.endpoint, self.targets):
            return None
        subject = Subject(rule=rule.name, window_key=window.key, entity=window.entity,
                          reopen_within=rule.rule.reopen_within_seconds,
                          slot=item.notification.index)
        return self.stories.notify(conn, subject, note, item.status, now)

    def _save(self, conn: Connection | None, rule: CompiledRule, window: Window,
              now: datetime) -> None:
        if conn is not None:  # written before the commit (rules.engine.txn)
            self._unsave(conn, window, rule.fingerprint, now)

    def environment(self, conn: Connection | None, fields: Mapping[str, Any], now: datetime,
                    window: Window | None = None) -> Environment:
        """What expressions see; the db_message_* functions read through ``conn``."""
        env = Environment(fields=fields, now=now, rule_open=self.rule_open)
        if window is not None:
            env.count = lambda: window.count
        if conn is not None:
            env.db_message_count = lambda *a: message_count(conn, now, *a)
            env.db_message_last = lambda *a: message_last(conn, now, *a)
        return env

    def rule_open(self, name: str) -> bool:
        return any(w.status.is_open for w in self._windows.get(name, {}).values())

    def record_error(self, conn: Connection | None, rule: str, expression: str, reason: str,
                     command: MessageCommand | None, now: datetime) -> None:
        """A rule error: kept (in the store when persisting) and logged, never raised."""
        log.warning("rule %s: %s in %s", rule, reason, expression)
        if conn is not None:
            record_rule_error(conn, rule=rule, expression=expression, reason=reason,
                                    command=command, now=now)
        else:
            self._errors.appendleft({"time": format_iso_date(now), "rule": rule,
                                     "expression": expression, "reason": reason,
                                     "command": command.to_json() if command else None})

    # -- time ---------------------------------------------------------------------------

    def tick(self) -> list[Notification]:
        """Expire time windows (re-evaluating with check-on-exit), settle due delays, tell
        the rooms of silences that ended."""
        ended = self.settle_silences()
        if not self._anything_due():
            return ended  # the usual second: no write transaction at all

        def work(conn: Connection | None) -> list[Notification]:
            now = self.clock.now()
            notes: list[Notification] = []
            for name, windows in list(self._windows.items()):
                rule = self._active.get(name)
                if rule is not None and rule.timed:
                    for window in list(windows.values()):
                        notes += self._tick_window(conn, rule, window, now)
            return notes
        return ended + self._run(work)

    def _anything_due(self) -> bool:
        # Only the engine lock, no database wait inside it: the lock order stays intact.
        with self._lock:
            now = self.clock.now()
            for name, windows in self._windows.items():
                rule = self._active.get(name)
                if rule is None or not rule.timed:
                    continue
                start = now - rule.span
                for window in windows.values():
                    if window.entries and window.entries[0][0] < start:
                        return True
                    if window.pending_open and any(
                            at <= now for _, at in window.pending_open.values()):
                        return True
            return False

    def _tick_window(self, conn: Connection | None, rule: CompiledRule, window: Window,
                     now: datetime) -> list[Notification]:
        due = [i for i, (_, at) in window.pending_open.items() if at <= now]
        entries = window.entries
        leaving = bool(entries) and entries is not None and entries[0][0] < now - rule.span
        if not due and not leaving:
            return []
        self._touch(rule.name, window.key, window)
        for index in due:
            del window.pending_open[index]  # the held open is the sender's now
        notes: list[Notification] = []
        evaluated = False
        if leaving:
            expire(rule.rule, window, now)
            if rule.rule.check_on_exit and window.last_command is not None:
                notes = self._evaluate(conn, rule, window, window.last_command, now)
                evaluated = True
            if not window.entries and window.status is Status.CANCEL:
                # nothing left to remember: an empty, cancelled time window costs nothing
                self._delete(conn, window)
                del self._windows[rule.name][window.key]
                return notes
        if not evaluated:
            self._save(conn, rule, window, now)
        return notes

    # -- dry run ------------------------------------------------------------------------

    def dry_run(self, rule: Rule, commands: Sequence[MessageCommand]) -> DryRunReport:
        """What ``rule`` would do with ``commands``; sends nothing and touches no state."""
        return dry_run(self, rule, commands)


def _trace_living(step: Step, told: Told) -> None:
    """What the living alert message did with a notification, for ``why``: its rows, the
    summary it was folded into (``fold``), the reopening it continued (``flap``)."""
    step.setdefault("o", []).extend(n.id for n in told.notes)
    if told.folded_into is not None:
        step["fold"] = told.folded_into
    if told.reopen:
        step["flap"] = told.reopen
