"""The fields a window shows to expressions: the command alone for a filter, the command plus
the window and its alert for a condition or a notification text.

Window fields are computed on first use (:class:`WindowFields`): a condition usually reads two
or three of them, and the dates and durations cost more than the whole condition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from rules.command import MessageCommand, Severity, format_iso_date
from rules.engine.compiled import CompiledRule
from rules.engine.windows import Window


def alert_severity(rule: CompiledRule, command: MessageCommand) -> Severity:
    """The rule's fixed severity, or the message's (UNKNOWN when it has none)."""
    if rule.severity is not None:
        return rule.severity
    return command.severity if command.severity is not None else Severity.UNKNOWN


def duration_fields(start: datetime | None, end: datetime) -> tuple[str, str]:
    """``alert_duration`` as ``dd:hh:mm:ss`` and ``alert_duration_interval`` as ``1m:45s``."""
    seconds = int((end - start).total_seconds()) if start is not None else 0
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    full = f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"
    parts = [f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "m")) if v]
    return full, ":".join([*parts, f"{secs}s"])


def command_fields(command: MessageCommand) -> dict[str, Any]:
    """What a filter sees: the message command alone."""
    return {
        "entity": command.entity,
        "type": command.type,
        "source": command.source,
        "message": command.message,
        "severity": command.severity.name if command.severity is not None else None,
        "tags": command.tags,
        "command_time": command.date,
        "metric": "message",
    }


def window_fields(rule: CompiledRule, window: Window, command: MessageCommand, now: datetime,
                  received: datetime | None = None) -> WindowFields:
    """What a condition or a template sees: the command plus the window and its alert."""
    return WindowFields(rule, window, command, now, received)


def _duration(f: WindowFields) -> tuple[str, str]:
    window = f.window
    start = window.open_time if window.status.is_open or window.cancel_time else None
    return duration_fields(start, window.cancel_time or f.now)


def _severity_name(f: WindowFields) -> str:
    severity = f.window.severity
    return (severity if severity is not None else alert_severity(f.rule, f.command)).name


def _message_severity(f: WindowFields) -> str | None:
    severity = f.command.severity
    return severity.name if severity is not None else None


class WindowFields(Mapping[str, Any]):
    """A read-only mapping of the window fields, each computed on first use."""

    __slots__ = ("rule", "window", "command", "now", "received", "_cache")
    rule: CompiledRule
    window: Window
    command: MessageCommand
    now: datetime
    received: datetime | None

    def __init__(self, rule: CompiledRule, window: Window, command: MessageCommand,
                 now: datetime, received: datetime | None = None) -> None:
        self.rule = rule
        self.window = window
        self.command = command
        self.now = now
        self.received = received
        self._cache: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        cache = self._cache
        if key in cache:
            return cache[key]
        compute = _FIELDS.get(key)
        if compute is None:
            return default
        value = cache[key] = compute(self)
        return value

    def __getitem__(self, key: str) -> Any:
        if key not in _FIELDS:
            raise KeyError(key)
        return self.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELDS)

    def __len__(self) -> int:
        return len(_FIELDS)


_FIELDS: dict[str, Callable[[WindowFields], Any]] = {
    "entity": lambda f: f.command.entity,
    "type": lambda f: f.command.type,
    "source": lambda f: f.command.source,
    "message": lambda f: f.command.message,
    "tags": lambda f: f.command.tags,
    "command_time": lambda f: f.command.date,
    "severity": _severity_name,
    "message_severity": _message_severity,
    "rule": lambda f: f.rule.name,
    "status": lambda f: f.window.status.value,
    "before_status": lambda f: f.window.before_status.value,
    "repeat_count": lambda f: f.window.repeat_count,
    "window": lambda f: f.rule.rule.window.text,
    "metric": lambda f: f.rule.rule.metric,
    "open_time": lambda f: f.window.open_time,
    "repeat_time": lambda f: f.window.repeat_time,
    "cancel_time": lambda f: f.window.cancel_time,
    "add_time": lambda f: f.window.add_time,
    "now": lambda f: f.now,
    "alert_duration": lambda f: _duration(f)[0],
    "alert_duration_interval": lambda f: _duration(f)[1],
    "received_datetime": lambda f: format_iso_date(f.received or f.now),
    "alert_id": lambda f: f.window.alert_id,
    "window_tags": lambda f: f.window.tags,
    "count": lambda f: f.window.count,
}
