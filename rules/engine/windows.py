"""Windows: one per (rule, entity if grouped, grouping tags), kept in memory on the hot path.

A ``length(N)`` window only needs how many commands it holds (``min(N, added)``) and the
newest command: conditions see ``count()`` and the newest command's fields, nothing else of
the older ones. A ``time(N unit)`` window keeps the (date, message id) of each command still
inside, sorted by date, so that commands leave it on time and a restart can rebuild it.

**Decision:** membership of a time window is decided by the command's own date (the ATSD
view: an event belongs to the interval it happened in). A command dated earlier than the
window's start is still evaluated when it arrives (its count includes it) and leaves at the
next expiry; ``time_offset`` is the tool for discarding old commands altogether.

:func:`apply_transition` moves a window to the status the table in :mod:`rules.engine.status`
gives and keeps its alert fields (times, counts, severity) up to date.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules.command import MessageCommand, Severity
from rules.definitions.model import Rule
from rules.engine.status import Status

Entry = tuple[datetime, int | None]  # command date, message id (None: not persisted)


@dataclass(slots=True)
class Window:
    rule: str
    key: str
    entity: str
    tags: dict[str, str]
    status: Status = Status.CANCEL
    before_status: Status = Status.CANCEL
    count: int = 0
    entries: list[Entry] | None = None  # time windows only
    last_command: MessageCommand | None = None
    last_message_id: int | None = None
    add_time: datetime | None = None
    repeat_count: int = 0
    alert_id: int | None = None
    severity: Severity | None = None
    open_time: datetime | None = None
    repeat_time: datetime | None = None
    cancel_time: datetime | None = None
    last_event_time: datetime | None = None
    acknowledged: bool = False
    last_text: str | None = None
    # per notification index: when a repeat was last sent (repeat every N minutes)
    last_repeat_sent: dict[int, datetime] = field(default_factory=dict)
    # per notification index: (outbox id, due time) of an open notification held by a delay
    pending_open: dict[int, tuple[int | None, datetime]] = field(default_factory=dict)
    db_id: int | None = None

    def copy(self) -> Window:
        """A copy that shares nothing mutable with this one (the undo log keeps it)."""
        return Window(
            self.rule, self.key, self.entity, self.tags, self.status, self.before_status,
            self.count, list(self.entries) if self.entries is not None else None,
            self.last_command, self.last_message_id, self.add_time, self.repeat_count,
            self.alert_id, self.severity, self.open_time, self.repeat_time, self.cancel_time,
            self.last_event_time, self.acknowledged, self.last_text,
            dict(self.last_repeat_sent), dict(self.pending_open), self.db_id)


def window_key(rule: Rule, command: MessageCommand) -> tuple[str, str, dict[str, str]]:
    """(key, entity, grouping tags) of the window ``command`` belongs to under ``rule``."""
    entity = command.entity if rule.group_by_entity else ""
    grouping = rule.group_by_tags
    if grouping == "none":
        return entity, entity, {}
    if grouping == "all":
        tags = dict(sorted(command.tags.items()))
    else:
        # a listed tag the command lacks groups as empty, like ATSD
        tags = {name: command.tags.get(name, "") for name in sorted(grouping)}
    return json.dumps([entity, tags], separators=(",", ":"), ensure_ascii=False), entity, tags


def new_window(rule: Rule, key: str, entity: str, tags: dict[str, str]) -> Window:
    window = Window(rule=rule.name, key=key, entity=entity, tags=tags)
    if rule.window.kind == "time":
        window.entries = []
    return window


def add_command(rule: Rule, window: Window, command: MessageCommand, message_id: int | None,
                now: datetime) -> None:
    """Put ``command`` into ``window`` (time windows first drop what has left)."""
    if window.entries is not None:
        expire(rule, window, now)
        entries = window.entries
        if entries and command.date < entries[-1][0]:
            bisect.insort(entries, (command.date, message_id), key=_entry_date)
        else:
            entries.append((command.date, message_id))
        window.count = len(entries)
    else:
        window.count = min(window.count + 1, rule.window.count)
    if window.last_command is None or command.date >= window.last_command.date or (
        window.entries is None
    ):
        window.last_command = command
        window.last_message_id = message_id
    window.add_time = now


def _entry_date(entry: Entry) -> datetime:
    return entry[0]


def expire(rule: Rule, window: Window, now: datetime) -> int:
    """Drop the commands of a time window dated before its start; returns how many left."""
    if window.entries is None or not window.entries:
        return 0
    start = now - timedelta(seconds=rule.window.seconds)
    cut = bisect.bisect_left(window.entries, start, key=_entry_date)
    if cut:
        del window.entries[:cut]
        window.count = len(window.entries)
    return cut


def next_expiry(rule: Rule, window: Window) -> datetime | None:
    """When the oldest command of a time window leaves it."""
    if not window.entries:
        return None
    return window.entries[0][0] + timedelta(seconds=rule.window.seconds)


def apply_transition(window: Window, after: Status, severity: Severity | None,
                     now: datetime) -> None:
    """Move ``window`` to ``after`` and keep its alert fields (times, counts) up to date."""
    before = window.status
    window.before_status = before
    window.status = after
    if after is Status.OPEN:
        window.open_time = now
        window.repeat_count = 0
        window.acknowledged = False
        window.cancel_time = None
        window.severity = severity
        window.last_repeat_sent.clear()
    elif after is Status.REPEAT:
        window.repeat_count += 1
        window.repeat_time = now
        # an inherited severity follows the newest message while the alert is open
        window.severity = severity
    elif before.is_open:
        window.cancel_time = now
    if after.is_open:
        window.last_event_time = now


def describe(window: Window) -> dict[str, Any]:
    """The window as the diagnostics API and the chat command show it."""
    return {
        "rule": window.rule,
        "key": window.key,
        "entity": window.entity,
        "tags": dict(window.tags),
        "status": window.status.value,
        "count": window.count,
        "repeat_count": window.repeat_count,
        "alert_id": window.alert_id,
        "last_event_time": window.last_event_time,
        "add_time": window.add_time,
        "last_command": window.last_command.to_json() if window.last_command else None,
    }
