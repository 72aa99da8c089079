"""Loading rules and restoring windows: what changes the engine's rule set or rebuilds state.

A mixin of :class:`rules.engine.rule_engine.RuleEngine`.
``load`` swaps the compiled rules in one engine
transaction and drops the windows of rules whose fingerprint changed (no cancel
notifications; open alerts go to history with the reason). ``restore`` rebuilds windows from
the store after a restart, replaying big time windows from the message store.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection

from rules.definitions.model import Rule
from rules.engine.compiled import CompiledRule, RuleLoadError, compile_rules
from rules.engine.fields import command_fields
from rules.engine.index import RuleIndex
from rules.engine.state import close_alert, delete_window, load_windows
from rules.engine.trace import filters_key, rule_filters
from rules.engine.txn import EngineState
from rules.engine.windows import Window, window_key
from rules.expr import EvaluationError
from rules.store import explanations, outbox
from rules.store.engine_state import messages_since

log = logging.getLogger(__name__)


class RuleLifecycle(EngineState):
    _filters_key: str = ""
    endpoint_names: Collection[str]
    _rules: list[Rule]
    _index: RuleIndex[CompiledRule]

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
            # what ``why`` names when no rule could see a message: kept once per rule set
            self._filters_key = filters_key(active.values())
            if conn is not None:
                explanations.keep_filters(conn, self._filters_key,
                                          rule_filters(active.values()), now)

        self._run(swap)
        return errors

    def _drop(self, conn: Connection | None, name: str, reason: str, now: datetime) -> None:
        """Forget a rule's windows without cancel notifications; open alerts go to history."""
        for key, window in list(self._windows.get(name, {}).items()):
            self._touch(name, key, window)
            if conn is not None:
                if window.status.is_open:
                    close_alert(conn, window, now, reason)
                for outbox_id, _ in window.pending_open.values():
                    if outbox_id is not None:  # an alert that no longer exists is not announced
                        outbox.cancel_held(conn, outbox_id, now)
                self._delete(conn, window)
            del self._windows[name][key]

    def rules(self) -> list[Rule]:
        return list(self._rules)

    def compiled(self, name: str) -> CompiledRule | None:
        return self._active.get(name)

    def restore(self) -> None:
        """Load persisted windows (after ``load``), e.g. after a restart. Silences are read
        from the store when needed (:mod:`rules.engine.silencing`)."""
        def work(conn: Connection | None) -> None:
            if conn is None:
                return
            now = self.clock.now()
            self._windows.clear()
            replay: dict[str, dict[str, Window]] = {}
            for fingerprint, window, big in load_windows(conn):
                rule = self._active.get(window.rule)
                if rule is None or rule.fingerprint != fingerprint:
                    if window.status.is_open:
                        close_alert(conn, window, now,
                                          "rule changed" if rule else "rule removed")
                    delete_window(conn, window)
                    continue
                if rule.rule.window.kind != "time":
                    window.entries = None
                elif big:
                    replay.setdefault(rule.name, {})[window.key] = window
                self._windows.setdefault(window.rule, {})[window.key] = window
            for name, windows in replay.items():
                self._replay(conn, self._active[name], windows, now)
        self._run(work)
        log.info("restored %d windows", sum(len(w) for w in self._windows.values()))

    def _replay(self, conn: Connection, rule: CompiledRule, windows: dict[str, Window],
                now: datetime) -> None:
        """Rebuild big time windows from the stored commands of the last window span.

        Commands that were not stored (``persist=false``) cannot come back; the window then
        holds fewer commands than before the restart.
        """
        for message_id, command in messages_since(conn, now - rule.span):
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
