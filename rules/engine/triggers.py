"""What a status change sends: per notification, the trigger's text, target, due time, status.

Decisions (where the spec leaves a choice):

- **Repeat frequency** ``every N events`` sends the repeats whose repeat count is a multiple
  of N (the 1st repeat is count 1); ``every N minutes`` sends a repeat when N minutes have
  passed since the open or the last repeat sent for that notification.
- **Delay on open**: the open notification is stored with a due time ``delay`` later; the
  outbox sender does not touch it before then. Repeats are not sent while the open is held
  (an alert nobody has been told about should not "repeat"). If the window cancels while
  the open is still held, the held row is cancelled and neither open nor cancel is sent.
- A **synchronous reply** (``sync_reply``) ignores the delay: the HTTP answer cannot wait.
- **Silenced** rules still change status; their notifications are stored as ``silenced``.
- The default Rocket.Chat target is the triggering message's room (``tags.channel_id``) and
  thread (``tags.tmid``); a notification naming a room, or an endpoint configured with one,
  posts there instead, outside any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules.command import MessageCommand
from rules.definitions.model import NotificationSpec, Trigger
from rules.engine.compiled import CompiledNotification, CompiledRule
from rules.engine.windows import Window


@dataclass(slots=True)
class Outgoing:
    """One notification a transition produced (or skipped, with the reason, for dry runs)."""

    notification: CompiledNotification
    trigger: Trigger
    text: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)  # (expression, reason)
    target: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    status: str = "pending"  # pending | silenced | response
    skipped: str | None = None  # why nothing is sent

    @property
    def endpoint(self) -> str:
        return self.notification.endpoint


def decide(
    rule: CompiledRule,
    window: Window,
    trigger: Trigger,
    command: MessageCommand,
    env: Any,
    now: datetime,
    *,
    silenced: bool,
    targets: Mapping[str, Mapping[str, Any]],
    cancel_held: Callable[[int | None], bool],
) -> list[Outgoing]:
    """Render and address every notification of ``rule`` that ``trigger`` fires."""
    # Held opens are withdrawn first, also for notifications that send no cancel text.
    withdrawn = _withdraw_held(window, now, cancel_held) if trigger == "cancel" else set()
    out: list[Outgoing] = []
    for note in rule.notifications:
        template = note.templates.get(trigger)
        if template is None:
            continue
        item = Outgoing(notification=note, trigger=trigger, due_at=now)
        item.skipped = (_WITHDRAWN if note.index in withdrawn
                        else _gate(note, window, trigger, now))
        if item.skipped is None:
            rendered = template.render(env)
            item.text = rendered.text
            item.errors = [_error_pair(e) for e in rendered.errors]
            item.target = target_for(note.spec, command, targets)
            item.status = _status(note.spec, silenced)
            _hold(note, window, trigger, item, now)
        out.append(item)
    if trigger == "cancel":
        window.pending_open.clear()
    return out


_WITHDRAWN = "the open notification was still held by its delay: neither is sent"


def _withdraw_held(window: Window, now: datetime,
                   cancel_held: Callable[[int | None], bool]) -> set[int]:
    """Cancel the opens still held by a delay; the notification indexes that were."""
    return {index for index, (outbox_id, due) in window.pending_open.items()
            if due > now and cancel_held(outbox_id)}


def _gate(note: CompiledNotification, window: Window, trigger: Trigger, now: datetime
          ) -> str | None:
    held = window.pending_open.get(note.index)
    held_now = held is not None and held[1] > now
    if trigger == "open":
        window.last_repeat_sent[note.index] = now
        return None
    if trigger == "cancel":
        return None
    if held_now:
        return "the open notification is still held by its delay"
    return _repeat_gate(note.spec, window, note.index, now)


def _repeat_gate(spec: NotificationSpec, window: Window, index: int, now: datetime
                 ) -> str | None:
    every = spec.repeat_every
    if every.kind == "events":
        if window.repeat_count % every.every:
            return f"repeat {window.repeat_count}: sent every {every.every} repeats"
        return None
    if every.kind == "minutes":
        last = window.last_repeat_sent.get(index) or window.open_time
        if last is not None and now - last < timedelta(minutes=every.every):
            return f"repeats are sent at most every {every.every} minutes"
        window.last_repeat_sent[index] = now
    return None


def _hold(note: CompiledNotification, window: Window, trigger: Trigger, item: Outgoing,
          now: datetime) -> None:
    delay = note.spec.delay_open_seconds
    if trigger != "open" or delay <= 0 or item.status != "pending":
        return
    item.due_at = now + timedelta(seconds=delay)
    window.pending_open[note.index] = (None, item.due_at)  # the outbox id is filled in later


def _status(spec: NotificationSpec, silenced: bool) -> str:
    if silenced:
        return "silenced"
    return "response" if spec.sync_reply else "pending"


def target_for(spec: NotificationSpec, command: MessageCommand,
               targets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    target = dict(targets.get(spec.endpoint, {}))
    if spec.endpoint == "rocketchat" or "room_id" in target:
        if spec.room:
            target["room_id"] = spec.room
            target["tmid"] = None
        elif not target.get("room_id"):
            target["room_id"] = command.tags.get("channel_id")
            target["tmid"] = command.tags.get("tmid")
    if spec.sync_reply:
        target["sync_reply"] = True
    return target


def _error_pair(error: Any) -> tuple[str, str]:
    if isinstance(error, tuple) and len(error) == 2:
        return str(error[0]), str(error[1])
    expression = getattr(error, "expression", None) or getattr(error, "text", None) or ""
    reason = getattr(error, "reason", None) or str(error)
    return str(expression), str(reason)
