"""What the engine shows and what operators change: open alerts, history, windows, errors,
acknowledgement and silences. A mixin of :class:`rules.engine.rule_engine.RuleEngine`.

Records use ATSD's field names (``repeatCount``, ``openDate``...) so the ATSD-compatible API
can hand them out as they are; dates are ISO 8601 UTC text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rules.command import format_iso_date
from rules.engine.state import set_acknowledged
from rules.engine.txn import EngineState
from rules.engine.windows import Window, describe
from rules.living import Stories
from rules.store.engine_state import delete_silence, history, recent_rule_errors, save_silence


def _iso(value: datetime | None) -> str | None:
    return format_iso_date(value) if value is not None else None


def alert_record(window: Window, metric: str) -> dict[str, Any]:
    command = window.last_command
    return {
        "id": window.alert_id,
        "rule": window.rule,
        "entity": window.entity,
        "metric": metric,
        "tags": dict(command.tags) if command is not None else dict(window.tags),
        "windowTags": dict(window.tags),
        "severity": window.severity.name if window.severity is not None else None,
        "status": window.status.value,
        "repeatCount": window.repeat_count,
        "textValue": command.message if command is not None else "",
        "alert": window.last_text,
        "openDate": _iso(window.open_time),
        "lastEventDate": _iso(window.last_event_time),
        "acknowledged": window.acknowledged,
        "windowKey": window.key,
    }


class AlertViews(EngineState):
    """Diagnostics and operator actions; every change takes the engine's own transaction."""

    stories: Stories  # the engine's living alert messages (rules/living)

    def open_alerts(self) -> list[dict[str, Any]]:
        """Every open alert (status OPEN or REPEAT), newest first."""
        with self._lock:
            found = [alert_record(w, self._metric(w.rule)) for windows in self._windows.values()
                     for w in windows.values() if w.status.is_open and w.alert_id is not None]
        return sorted(found, key=lambda a: a["id"], reverse=True)

    def _metric(self, rule: str) -> str:
        compiled = self._active.get(rule)
        return compiled.rule.metric if compiled is not None else "message"

    def alert_history(self, *, rules: Iterable[str] = (),
                      since: datetime | None = None, until: datetime | None = None,
                      limit: int = 1000) -> list[dict[str, Any]]:
        """Closed alerts, newest first (from the store; empty when not persisting)."""
        if self.db is None or not self.persist:
            return []
        with self.db.connect() as conn:
            return history(conn, rules=rules, since=since, until=until, limit=limit)

    def acknowledge(self, alert_id: int, acknowledged: bool, *, by: str | None = None,
                    reason: str | None = None) -> bool:
        """Set an open alert's acknowledged flag; False when no open alert has that id.

        The id of an alert whose living message now tells a newer alert's story (its window
        reopened within ``reopen_within``) stands for that newer alert, so the buttons of
        the message keep working. A ``thread`` alert gets a note and an edit (rules/living).
        """
        def work(conn: Connection | None) -> bool:
            window = self._window_of_alert(alert_id)
            if window is None and conn is not None:
                current = self.stories.current_alert(conn, alert_id)
                if current is not None and current != alert_id:
                    window = self._window_of_alert(current)
            if window is None or window.alert_id is None:
                return False
            self._touch(window.rule, window.key, window)
            window.acknowledged = acknowledged
            if conn is not None:
                set_acknowledged(conn, window, acknowledged)
                self.stories.acknowledged(conn, window.alert_id, acknowledged, by, reason,
                                          self.clock.now())
            return True
        return self._run(work)

    def _window_of_alert(self, alert_id: int) -> Window | None:
        for windows in self._windows.values():
            for window in windows.values():
                if window.alert_id == alert_id and window.status.is_open:
                    return window
        return None

    def silence(self, rule: str, until: datetime) -> None:
        """Until ``until`` the rule's notifications are stored as ``silenced``, not sent."""
        def work(conn: Connection | None) -> None:
            if conn is not None:
                save_silence(conn, rule, until, self.clock.now())
            self._silences[rule] = until
        self._run(work)

    def unsilence(self, rule: str) -> bool:
        def work(conn: Connection | None) -> bool:
            stored = delete_silence(conn, rule) if conn is not None else False
            return self._silences.pop(rule, None) is not None or stored
        return self._run(work)

    def silences(self) -> dict[str, datetime]:
        now = self.clock.now()
        return {rule: until for rule, until in self._silences.items() if until > now}

    def windows(self) -> list[dict[str, Any]]:
        """Every live window: rule, key, entity, tags, status, count, last command."""
        with self._lock:
            found = [describe(w) for windows in self._windows.values() for w in windows.values()]
        for record in found:
            record["last_event_time"] = _iso(record["last_event_time"])
            record["add_time"] = _iso(record["add_time"])
        return found

    def rule_errors(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recent rule errors, newest first."""
        if self.db is None or not self.persist:
            return list(self._errors)[:limit] if limit > 0 else list(self._errors)
        with self.db.connect() as conn:
            return recent_rule_errors(conn, limit)
