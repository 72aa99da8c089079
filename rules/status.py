"""The status table (ATSD's OPEN / REPEAT / CANCEL) and the fields a window shows to expressions.

| before          | condition | after  | trigger   |
|-----------------|-----------|--------|-----------|
| CANCEL          | true      | OPEN   | open      |
| OPEN or REPEAT  | true      | REPEAT | repeat    |
| OPEN or REPEAT  | false     | CANCEL | cancel    |
| CANCEL          | false     | CANCEL | (none)    |

:func:`apply_transition` updates a window's alert fields for the new status; what the
trigger then sends is decided in :mod:`rules.triggers`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rules.command import MessageCommand, Severity, format_iso_date
from rules.model import Trigger

if TYPE_CHECKING:
    from rules.compiled import CompiledRule
    from rules.windows import Window


class Status(enum.StrEnum):
    OPEN = "OPEN"
    REPEAT = "REPEAT"
    CANCEL = "CANCEL"

    @property
    def is_open(self) -> bool:
        return self is not Status.CANCEL


def transition(before: Status, condition: bool) -> tuple[Status, Trigger | None]:
    """One row of the status table."""
    if condition:
        return (Status.REPEAT, "repeat") if before.is_open else (Status.OPEN, "open")
    return (Status.CANCEL, "cancel") if before.is_open else (Status.CANCEL, None)


def apply_transition(
    window: Window, after: Status, command: MessageCommand, severity: Severity | None,
    now: datetime,
) -> None:
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
                  received: datetime | None = None) -> dict[str, Any]:
    """What a condition or a template sees: the command plus the window and its alert."""
    fields = command_fields(command)
    duration, interval = duration_fields(window.open_time if window.status.is_open
                                         or window.cancel_time else None,
                                         window.cancel_time or now)
    severity = window.severity if window.severity is not None else alert_severity(rule, command)
    fields.update({
        "rule": rule.name,
        "status": window.status.value,
        "before_status": window.before_status.value,
        "severity": severity.name,
        "message_severity": fields["severity"],
        "repeat_count": window.repeat_count,
        "window": rule.rule.window.text,
        "metric": rule.rule.metric,
        "open_time": window.open_time,
        "repeat_time": window.repeat_time,
        "cancel_time": window.cancel_time,
        "add_time": window.add_time,
        "now": now,
        "alert_duration": duration,
        "alert_duration_interval": interval,
        "received_datetime": format_iso_date(received or now),
        "alert_id": window.alert_id,
        "window_tags": window.tags,
        "count": window.count,
    })
    return fields
