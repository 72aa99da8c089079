"""What a living message says: the alert message's status line, the notes posted in its
thread, the storm summary, and the state reactions. Pure functions of stored state.

Decisions (the contract leaves the wording open):

- The alert message's ``msg`` is the rule's open text as first posted; an edit appends one
  status line after it, ``— `` followed by the facts in force, joined with `` · ``:
  ``reopened`` / ``reopened 2 times`` / ``flapping: reopened 3 times``, ``acknowledged by @alice:
  looking`` or ``unacknowledged by @bob``, and ``resolved after 12m 5s`` (``resolved by @alice
  after 3m: fixed`` when resolved by hand). The open text is never rewritten.
- The summary's first line is exactly ``+N alerts: rule/entity, rule/entity, ...`` (N the
  alerts folded into it; at most :data:`SUMMARY_LISTED` of them by name, then ``… and K
  more``), so it stays parseable; once any of them is resolved a second line says how many:
  ``2 of 5 resolved``, then ``all resolved``.
- Reactions: ``:rotating_light:`` open (also reopened), ``:eyes:`` acknowledged,
  ``:white_check_mark:`` resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.chat_text import mention_free
from rules.clock import aware

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
UNACKNOWLEDGED = "unacknowledged"
REACTIONS = {OPEN: ":rotating_light:", ACKNOWLEDGED: ":eyes:", RESOLVED: ":white_check_mark:"}
FLAPPING_FROM = 3  # the third reopening within reopen_within is flapping
SUMMARY_LISTED = 30
MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class AlertState:
    """One ``living_alerts`` row, as the texts need it."""

    alert_id: int
    rule: str
    entity: str
    state: str
    opened_at: datetime
    closed_at: datetime | None = None
    reopen: int = 0
    ack: str | None = None  # None | acknowledged | unacknowledged
    ack_by: str | None = None
    ack_reason: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None

    @classmethod
    def of(cls, row: Any) -> AlertState:
        opened = aware(row.opened_at)
        assert opened is not None
        return cls(alert_id=int(row.alert_id), rule=row.rule, entity=row.entity,
                   state=row.state, opened_at=opened, closed_at=aware(row.closed_at),
                   reopen=int(row.reopen or 0), ack=row.ack, ack_by=row.ack_by,
                   ack_reason=row.ack_reason,
                   closed_by=row.closed_by, close_reason=row.close_reason)


def duration(seconds: float) -> str:
    """``45s``, ``12m 5s``, ``2h 3m``, ``1d 4h``: two units at most."""
    total = max(0, int(round(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{n}{unit}" for n, unit in parts[:2] if n or unit == parts[0][1])


def reopen_words(reopen: int) -> str | None:
    if reopen <= 0:
        return None
    if reopen >= FLAPPING_FROM:
        return f"flapping: reopened {reopen} times"
    return "reopened" if reopen == 1 else f"reopened {reopen} times"


def _clip(text: str | None) -> str:
    # a reason is a person's text: shown as written (the contract's `acknowledged by @alice:
    # looking`), but a mention in it notifies nobody
    return mention_free(text or "", MAX_REASON)


def ack_words(acknowledged: bool, by: str | None, reason: str | None) -> str:
    """``acknowledged by @alice: looking`` / ``unacknowledged by @bob``."""
    words = "acknowledged" if acknowledged else "unacknowledged"
    if by:
        words += f" by {by}"
    if reason and acknowledged:
        words += f": {_clip(reason)}"
    return words


def resolved_words(alert: AlertState) -> str:
    lasted = ""
    if alert.closed_at is not None:
        lasted = f" after {duration((alert.closed_at - alert.opened_at).total_seconds())}"
    if alert.closed_by:
        reason = f": {_clip(alert.close_reason)}" if alert.close_reason else ""
        return f"resolved by {alert.closed_by}{lasted}{reason}"
    return f"resolved{lasted}"


def status_line(alert: AlertState) -> str:
    """The facts in force, or "" for a plain open alert."""
    parts = [p for p in (reopen_words(alert.reopen),) if p]
    if alert.ack == ACKNOWLEDGED:
        parts.append(ack_words(True, alert.ack_by, alert.ack_reason))
    elif alert.ack == UNACKNOWLEDGED and alert.state != RESOLVED:
        parts.append(ack_words(False, alert.ack_by, None))
    if alert.state == RESOLVED:
        parts.append(resolved_words(alert))
    return " · ".join(parts)


def alert_text(open_text: str, alert: AlertState) -> str:
    """The alert message as it should read now: the open text, then the status line."""
    line = status_line(alert)
    return f"{open_text}\n— {line}" if line else open_text


def summary_text(members: list[AlertState], total: int, resolved: int) -> str:
    """``+N alerts: rule/entity, rule/entity, …``, then ``R of N resolved`` / ``all
    resolved`` on a line of its own once any is."""
    names = [f"{m.rule}/{m.entity}" if m.entity else m.rule for m in members[:SUMMARY_LISTED]]
    more = total - len(names)
    listed = ", ".join(names) + (f", … and {more} more" if more > 0 else "")
    head = f"+{total} alerts: {listed}"
    if total and resolved == total:
        return f"{head}\nall resolved"
    return f"{head}\n{resolved} of {total} resolved" if resolved else head


def summary_state(total: int, resolved: int) -> str:
    return RESOLVED if total and resolved == total else OPEN
