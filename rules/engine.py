"""The rule engine: command -> filter -> window -> condition -> status -> notifications.

:class:`RuleEngine` implements :class:`rules.ingest.CommandEngine`. ``process`` runs inside
the caller's transaction and writes window rows, alert rows, rule errors and outbox rows
through the caller's connection only; its in-memory changes are kept in an undo log until
``after_commit`` (or rolled back by ``after_rollback``). The engine lock is taken in
``process`` and held until then, always *after* the database transaction began, and
``tick``/``acknowledge``/``load`` take them in the same order, so they never deadlock.

With ``persist=False`` the engine keeps everything in memory (benchmarks); the dry run in
:mod:`rules.dryrun` uses the same stages without any engine state.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from rules import outbox, state
from rules.alerts import AlertViews
from rules.clock import Clock
from rules.command import MessageCommand, format_iso_date
from rules.compiled import CompiledRule, RuleIndex, RuleLoadError, compile_rules
from rules.expr import Environment, EvaluationError
from rules.model import Rule
from rules.notify import Notification
from rules.status import (
    Status,
    alert_severity,
    apply_transition,
    command_fields,
    transition,
    window_fields,
)
from rules.store import Database
from rules.triggers import Outgoing, decide
from rules.windows import Window, add_command, expire, new_window, window_key

log = logging.getLogger("atsd_bot.rules")
T = TypeVar("T")


class RuleEngine(AlertViews):
    """Applies message commands to rules; see the module docstring for the transaction rules."""

    def __init__(self, db: Database | None, clock: Clock, *,
                 endpoints: Collection[str] = ("log",),
                 default_endpoint_targets: Mapping[str, Mapping[str, Any]] | None = None,
                 persist: bool = True) -> None:
        self.db = db
        self.clock = clock
        self.endpoint_names = frozenset(endpoints)
        self.targets: Mapping[str, Mapping[str, Any]] = dict(default_endpoint_targets or {})
        self.persist = persist and db is not None
        self._rules: list[Rule] = []
        self._active: dict[str, CompiledRule] = {}
        self._index = RuleIndex([])
        self._windows: dict[str, dict[str, Window]] = {}
        self._silences: dict[str, datetime] = {}
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._undo: list[tuple[str, str, Window | None]] = []
        self._touched: set[tuple[str, str]] = set()
        self._ids = itertools.count(1)  # alert and notification ids when not persisting
        self._errors: deque[dict[str, Any]] = deque(maxlen=1000)

    # -- transactions -------------------------------------------------------------------

    def _enter(self) -> None:
        if self._owner == threading.get_ident():
            return
        self._lock.acquire()
        self._owner = threading.get_ident()

    def after_commit(self) -> None:
        if self._owner != threading.get_ident():
            return  # nothing of ours in that transaction
        self._undo.clear()
        self._touched.clear()
        self._owner = None
        self._lock.release()

    def after_rollback(self) -> None:
        if self._owner != threading.get_ident():
            return
        for rule, key, before in reversed(self._undo):
            windows = self._windows.setdefault(rule, {})
            if before is None:
                windows.pop(key, None)
            else:
                windows[key] = before
        self._undo.clear()
        self._touched.clear()
        self._owner = None
        self._lock.release()

    def _touch(self, rule: str, key: str, window: Window | None) -> None:
        """Remember a window as it was before this transaction first changed it."""
        if (rule, key) not in self._touched:
            self._touched.add((rule, key))
            self._undo.append((rule, key, window.copy() if window is not None else None))

    @contextmanager
    def _transaction(self) -> Iterator[Connection | None]:
        """The engine's own transaction (tick, load, acknowledge), database first, then lock."""
        try:
            if self.db is None or not self.persist:
                self._enter()
                yield None
            else:
                with self.db.begin() as conn:
                    self._enter()
                    yield conn
        except BaseException:
            self.after_rollback()
            raise
        self.after_commit()

    def _run(self, work: Callable[[Connection | None], T]) -> T:
        with self._transaction() as conn:
            return work(conn)

    # -- rules --------------------------------------------------------------------------

    def load(self, rules: Sequence[Rule]) -> list[RuleLoadError]:
        """Compile ``rules`` and make them current; windows of changed rules are dropped."""
        compiled, errors = compile_rules(rules, self.endpoint_names)
        for error in errors:
            log.warning("%s", error)
        active = {c.name: c for c in compiled if c.rule.enabled}
        ok = {c.name for c in compiled}

        def swap(conn: Connection | None) -> None:
            now = self.clock.now()
            for name in list(self._windows):
                new, old = active.get(name), self._active.get(name)
                if new is None:
                    self._drop(conn, name, "rule removed" if name not in ok else "rule disabled",
                               now)
                elif old is not None and old.fingerprint != new.fingerprint:
                    self._drop(conn, name, "rule changed", now)
            self._rules = [c.rule for c in compiled]
            self._active = active
            self._index = RuleIndex(list(active.values()))

        self._run(swap)
        return errors

    def _drop(self, conn: Connection | None, name: str, reason: str, now: datetime) -> None:
        """Forget a rule's windows without cancel notifications; open alerts go to history."""
        for key, window in list(self._windows.get(name, {}).items()):
            self._touch(name, key, window)
            if conn is not None:
                if window.status.is_open:
                    state.close_alert(conn, window, now, reason)
                for outbox_id, _ in window.pending_open.values():
                    if outbox_id is not None:  # an alert that no longer exists is not announced
                        outbox.cancel_held(conn, outbox_id, now)
                state.delete_window(conn, window)
            del self._windows[name][key]

    def rules(self) -> list[Rule]:
        return list(self._rules)

    def compiled(self, name: str) -> CompiledRule | None:
        return self._active.get(name)

    def restore(self) -> None:
        """Load persisted windows and silences (after ``load``), e.g. after a restart."""
        def work(conn: Connection | None) -> None:
            if conn is None:
                return
            now = self.clock.now()
            self._windows.clear()
            replay: dict[str, dict[str, Window]] = {}
            for fingerprint, window, big in state.load_windows(conn):
                rule = self._active.get(window.rule)
                if rule is None or rule.fingerprint != fingerprint:
                    if window.status.is_open:
                        state.close_alert(conn, window, now,
                                          "rule changed" if rule else "rule removed")
                    state.delete_window(conn, window)
                    continue
                if rule.rule.window.kind != "time":
                    window.entries = None
                elif big:
                    replay.setdefault(rule.name, {})[window.key] = window
                self._windows.setdefault(window.rule, {})[window.key] = window
            for name, windows in replay.items():
                self._replay(conn, self._active[name], windows, now)
            self._silences = state.load_silences(conn)
        self._run(work)
        log.info("restored %d windows", sum(len(w) for w in self._windows.values()))

    def _replay(self, conn: Connection, rule: CompiledRule, windows: dict[str, Window],
                now: datetime) -> None:
        """Rebuild big time windows from the stored commands of the last window span.

        Commands that were not stored (``persist=false``) cannot come back; the window then
        holds fewer commands than before the restart.
        """
        for message_id, command in state.messages_since(conn, now - rule.span):
            if rule.reject_reason(command, command.date) is not None:
                continue
            if rule.filter is not None:
                env = self.environment(conn, command_fields(command), now)
                try:
                    if not rule.filter.test(env):
                        continue
                except EvaluationError:
                    continue
            window = windows.get(window_key(rule.rule, command)[0])
            if window is not None and window.entries is not None:
                window.entries.append((command.date, message_id))
        for window in windows.values():
            window.count = len(window.entries or ())

    # -- the hot path -------------------------------------------------------------------

    def process(self, conn: Connection | None, command: MessageCommand,
                message_id: int | None) -> list[Notification]:
        """Run ``command`` through every rule it can match, inside the caller's transaction."""
        self._enter()
        now = self.clock.now()
        notes: list[Notification] = []
        filter_env: Environment | None = None
        for rule in self._index.candidates(command):
            if rule.reject_reason(command, now) is not None:
                continue
            if rule.filter is not None:
                if filter_env is None:
                    filter_env = self.environment(conn, command_fields(command), now)
                if not self._test(conn, rule, rule.filter, filter_env, command, now):
                    continue
            notes += self._apply(conn, rule, command, message_id, now)
        return notes

    def _apply(self, conn: Connection | None, rule: CompiledRule, command: MessageCommand,
               message_id: int | None, now: datetime) -> list[Notification]:
        key, entity, tags = window_key(rule.rule, command)
        windows = self._windows.setdefault(rule.name, {})
        window = windows.get(key)
        self._touch(rule.name, key, window)
        if window is None:
            window = windows[key] = new_window(rule.rule, key, entity, tags)
        add_command(rule.rule, window, command, message_id, now)
        return self._evaluate(conn, rule, window, command, now)

    def _evaluate(self, conn: Connection | None, rule: CompiledRule, window: Window,
                  command: MessageCommand, now: datetime) -> list[Notification]:
        env = self.environment(conn, window_fields(rule, window, command, now), now, window)
        condition: bool | None = True
        if rule.condition is not None:
            condition = self._test(conn, rule, rule.condition, env, command, now, fail=None)
        notes: list[Notification] = []
        if condition is not None:
            after, trigger = transition(window.status, condition)
            apply_transition(window, after, command, alert_severity(rule, command), now)
            if trigger == "open":
                window.alert_id = self._open_alert(conn, rule, window, now)
            if trigger is not None:
                env.fields = window_fields(rule, window, command, now)
                notes = self._notify(conn, rule, window, trigger, command, env, now)
            if trigger == "cancel":
                if conn is not None:
                    state.close_alert(conn, window, now, "CANCEL")
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
        return state.open_alert(conn, window, metric=rule.rule.metric,
                                expression=rule.rule.condition, filter_text=rule.rule.filter or "",
                                window_text=rule.rule.window.text, now=now)

    def _notify(self, conn: Connection | None, rule: CompiledRule, window: Window, trigger: Any,
                command: MessageCommand, env: Environment, now: datetime) -> list[Notification]:
        until = self._silences.get(rule.name)

        def cancel_held(outbox_id: int | None) -> bool:
            if conn is None or outbox_id is None:
                return conn is None
            return outbox.cancel_held(conn, outbox_id, now)

        items = decide(rule, window, trigger, command, env, now,
                       silenced=until is not None and until > now, targets=self.targets,
                       cancel_held=cancel_held)
        return self._store(conn, rule, window, items, command, now)

    def _store(self, conn: Connection | None, rule: CompiledRule, window: Window,
               items: list[Outgoing], command: MessageCommand, now: datetime
               ) -> list[Notification]:
        notes: list[Notification] = []
        for item in items:
            if item.skipped is not None:
                continue
            for expression, reason in item.errors:
                self.record_error(conn, rule.name, expression, reason, command, now)
            due = item.due_at if item.due_at is not None and item.due_at > now else None
            note = Notification(rule=rule.name, endpoint=item.endpoint, trigger=item.trigger,
                                text=item.text, alert_id=window.alert_id, target=item.target,
                                due_at=due)
            if conn is not None:
                outbox.write(conn, note, status=item.status, now=now)
            else:
                note.id = next(self._ids)
            index = item.notification.index
            if due is not None and index in window.pending_open:
                window.pending_open[index] = (note.id, due)
            window.last_text = item.text
            if item.status != "silenced":
                notes.append(note)
        return notes

    def _save(self, conn: Connection | None, rule: CompiledRule, window: Window,
              now: datetime) -> None:
        if conn is not None:
            state.save_window(conn, window, rule.fingerprint, now)

    def environment(self, conn: Connection | None, fields: Mapping[str, Any], now: datetime,
                    window: Window | None = None) -> Environment:
        """What expressions see; the db_message_* functions read through ``conn``."""
        env = Environment(fields=fields, now=now, rule_open=self.rule_open)
        if window is not None:
            env.count = lambda: window.count
        if conn is not None:
            env.db_message_count = lambda *a: state.message_count(conn, now, *a)
            env.db_message_last = lambda *a: state.message_last(conn, now, *a)
        return env

    def rule_open(self, name: str) -> bool:
        return any(w.status.is_open for w in self._windows.get(name, {}).values())

    def record_error(self, conn: Connection | None, rule: str, expression: str, reason: str,
                     command: MessageCommand | None, now: datetime) -> None:
        """A rule error: kept (in the store when persisting) and logged, never raised."""
        log.warning("rule %s: %s in %s", rule, reason, expression)
        if conn is not None:
            state.record_rule_error(conn, rule=rule, expression=expression, reason=reason,
                                    command=command, now=now)
        else:
            self._errors.appendleft({"time": format_iso_date(now), "rule": rule,
                                     "expression": expression, "reason": reason,
                                     "command": command.to_json() if command else None})

    # -- time ---------------------------------------------------------------------------

    def tick(self) -> list[Notification]:
        """Expire time windows (re-evaluating with check-on-exit), settle due delays."""
        if not self._anything_due():
            return []  # the usual second: no write transaction at all

        def work(conn: Connection | None) -> list[Notification]:
            now = self.clock.now()
            notes: list[Notification] = []
            for name, windows in list(self._windows.items()):
                rule = self._active.get(name)
                if rule is not None:
                    for window in list(windows.values()):
                        notes += self._tick_window(conn, rule, window, now)
            return notes
        return self._run(work)

    def _anything_due(self) -> bool:
        # Only the engine lock, no database wait inside it: the lock order stays intact.
        with self._lock:
            now = self.clock.now()
            for name, windows in self._windows.items():
                rule = self._active.get(name)
                if rule is None:
                    continue
                start = now - rule.span
                for window in windows.values():
                    if window.entries and window.entries[0][0] < start:
                        return True
                    if any(at <= now for _, at in window.pending_open.values()):
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
                if conn is not None:
                    state.delete_window(conn, window)
                del self._windows[rule.name][window.key]
                return notes
        if not evaluated:
            self._save(conn, rule, window, now)
        return notes

    # -- dry run ------------------------------------------------------------------------

    def dry_run(self, rule: Rule, commands: Sequence[MessageCommand]) -> Any:
        """What ``rule`` would do with ``commands``; sends nothing and touches no state."""
        from rules.dryrun import dry_run

        return dry_run(self, rule, commands)
