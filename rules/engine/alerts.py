"""What the engine shows and what operators change: open alerts, history, windows, errors,
acknowledgement and resolving by hand. A mixin of :class:`rules.engine.rule_engine.RuleEngine`
(silences are :mod:`rules.engine.silencing`).

Records use ATSD's field names (``repeatCount``, ``openDate``...) so the ATSD-compatible API
can hand them out as they are; dates are ISO 8601 UTC text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rules.command import format_iso_date
from rules.engine.state import close_alert, set_acknowledged
from rules.engine.txn import EngineState
from rules.engine.windows import Window, describe
from rules.living import Stories
from rules.store import outbox
from rules.store.engine_state import alert_row, history, recent_rule_errors

# characters of an acknowledge or resolve reason, however it is given (chat, web UI, API)
MAX_REASON = 500


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
    """Diagnostics and operator actions; a change takes the engine's own transaction, or the
    caller's when it passes ``conn`` (then the caller commits, as the ingestor does)."""

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
                    reason: str | None = None, conn: Connection | None = None) -> bool:
        """Set an open alert's acknowledged flag, recording who and why; False when no open
        alert has that id. In ``conn``'s transaction when given (a chat command's).

        The id of an alert whose living message now tells a newer alert's story (its window
        reopened within ``reopen_within``) stands for that newer alert, so the buttons of
        the message keep working. A ``thread`` alert gets a note and an edit (rules/living).
        """
        def work(c: Connection | None) -> bool:
            window = self._open_window(c, alert_id)
            if window is None or window.alert_id is None:
                return False
            self._touch(window.rule, window.key, window)
            window.acknowledged = acknowledged
            if c is not None:
                set_acknowledged(c, window, acknowledged, by=by, reason=reason)
                self.stories.acknowledged(c, window.alert_id, acknowledged, by, reason,
                                          self.clock.now())
            return True
        return self._within(conn, work)

    def resolve(self, alert_id: int, *, by: str, reason: str = "",
                conn: Connection | None = None) -> bool:
        """Close an open alert by hand: it goes to history (``RESOLVED``, who, why) and its
        window starts again from CANCEL; no cancel notification is sent. False when no open
        alert has that id. Like :meth:`acknowledge`, the id of an alert whose living message
        now tells a reopened window's newer alert stands for that one."""
        def work(c: Connection | None) -> bool:
            window = self._open_window(c, alert_id)
            if window is None:
                return False
            self._touch(window.rule, window.key, window)
            if c is not None:
                now = self.clock.now()
                if window.alert_id is not None:  # a thread alert: a note and an edit
                    self.stories.resolved(c, window.alert_id, by, reason, now)
                close_alert(c, window, now, "RESOLVED", by=by, note=reason)
                for outbox_id, _ in window.pending_open.values():
                    if outbox_id is not None:  # a held open of a resolved alert is not sent
                        outbox.cancel_held(c, outbox_id, now)
                self._delete(c, window)
            del self._windows[window.rule][window.key]
            return True
        return self._within(conn, work)

    def alert_detail(self, alert_id: int, conn: Connection | None = None
                     ) -> dict[str, Any] | None:
        """One alert, open or closed: the stored row, plus the live window when it is open
        (status, repeats, last text). None for an unknown id."""
        row: dict[str, Any] | None = None
        if conn is not None:
            row = alert_row(conn, alert_id)
        elif self.db is not None and self.persist:
            with self.db.connect() as own:
                row = alert_row(own, alert_id)
        with self._lock:
            window = self._window_of_alert(alert_id)
            live = alert_record(window, self._metric(window.rule)) if window else None
        if row is None and live is None:
            return None
        return {"row": row, "live": live}

    def _open_window(self, conn: Connection | None, alert_id: int) -> Window | None:
        """The open window of ``alert_id``, or of the alert now living in its message (a
        reopened window's newer alert, so the first message's buttons and id keep working)."""
        window = self._window_of_alert(alert_id)
        if window is None and conn is not None:
            current = self.stories.current_alert(conn, alert_id)
            if current is not None and current != alert_id:
                window = self._window_of_alert(current)
        return window

    def _window_of_alert(self, alert_id: int) -> Window | None:
        for windows in self._windows.values():
            for window in windows.values():
                if window.alert_id == alert_id and window.status.is_open:
                    return window
        return None

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
