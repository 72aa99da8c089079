"""``why``: what the rules did with one stored message, from what the engine recorded then.

:func:`explain` reads the message, its recorded steps (:mod:`rules.engine.trace`) and the
notification rows they name (whose delivery state is read now: sent, waiting, retrying,
failed), and returns an :class:`Explanation`; :meth:`Explanation.lines` is the few lines chat,
the web UI and the API show, :meth:`Explanation.to_json` the API's shape. Nothing is re-run
through today's rules, so the answer stays true after the rules change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rules.clock import aware
from rules.command import format_iso_date
from rules.engine.trace import Step, short
from rules.living.text import FLAPPING_FROM
from rules.store import explanations as rows

TEXT_SHOWN = 80


@dataclass
class RuleOutcome:
    """One rule's part: the stage that stopped the message or what it did."""

    rule: str
    stage: str  # time_offset | filter | condition | window
    detail: str
    notifications: list[dict[str, Any]] = field(default_factory=list)
    silence_id: int | None = None

    def lines(self) -> list[str]:
        out = [f"• `{self.rule}`: {self.detail}"]
        out += [f"    ↳ {n['text']}" for n in self.notifications]
        return out


@dataclass
class Explanation:
    message_id: int
    command: dict[str, Any]
    path: str
    received_at: datetime
    state: str  # explained | nobody | pending | unrecorded
    rules: list[RuleOutcome] = field(default_factory=list)
    nobody: str = ""  # the rules' type/source filters, when no rule could see the message

    @property
    def room_id(self) -> str | None:
        return (self.command.get("tags") or {}).get("channel_id")

    def lines(self) -> list[str]:
        text = short(" ".join(str(self.command.get("message") or "").split()), TEXT_SHOWN)
        head = (f"message #{self.message_id} via {self.path}, "
                f"{format_iso_date(self.received_at)}: \"{text}\"")
        if self.state == "pending":
            return [head, "not processed yet: the instance running the rule engine takes it "
                          "up within seconds; ask again"]
        if self.state == "unrecorded":
            return [head, "nothing was recorded for it (processed before explanations were "
                          "kept, or not stored with persist=false)"]
        if self.state == "nobody":
            return [head, f"no rule could see it (by type, source and entity). The rules "
                          f"then: {self.nobody}"]
        return [head] + [line for outcome in self.rules for line in outcome.lines()]

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id, "message": self.command, "path": self.path,
            "received": format_iso_date(self.received_at), "state": self.state,
            "nobody": self.nobody or None,
            "rules": [{"rule": o.rule, "stage": o.stage, "detail": o.detail,
                       "silence_id": o.silence_id, "notifications": o.notifications}
                      for o in self.rules],
            "lines": self.lines(),
        }


def explain(conn: Connection, message_id: int) -> Explanation | None:
    """The explanation of stored message ``message_id``; None when there is no such message."""
    stored = rows.message(conn, message_id)
    if stored is None:
        return None
    found = Explanation(message_id, stored.command.to_json(), stored.path, stored.received_at,
                        state="explained")
    steps = rows.steps(conn, message_id)
    if steps is None:
        found.state = "unrecorded" if stored.processed else "pending"
        return found
    if steps and "none" in steps[0]:
        key = str(steps[0]["none"])
        found.state = "nobody"
        found.nobody = rows.filters(conn, key) or f"(not kept: rule set {key})"
        return found
    notes = rows.outbox_rows(conn, [i for s in steps for i in s.get("o", ())])
    found.rules = [_outcome(step, notes) for step in steps]
    return found


def _outcome(step: Step, notes: dict[int, dict[str, Any]]) -> RuleOutcome:
    name = str(step.get("r"))
    if "x" in step:
        return RuleOutcome(name, "time_offset", str(step["x"]))
    if "fe" in step:
        return RuleOutcome(name, "filter", f"the filter failed: {step['fe']}")
    if "f" in step:
        return RuleOutcome(name, "filter", f"filtered out: {step['f']}")
    window = f"window `{step.get('k') or '-'}` ({step.get('w')}, {step.get('n')} in it)"
    value = step.get("c")
    condition = ("condition true" if value is True else "condition false" if value is False
                 else "the condition failed (see the rule errors)")
    if value is None:
        return RuleOutcome(name, "condition", f"{window}, {condition}")
    before, _, after = str(step.get("s") or "").partition(">")
    change = (f"{before} → {after} ({step['t']})" if step.get("t")
              else f"no status change ({after or before})")
    outcome = RuleOutcome(name, "window", f"{window}, {condition}, {change}"
                          f"{_living(step)}", silence_id=step.get("si"))
    outcome.notifications = [_notification(i, notes.get(i), step.get("si"))
                             for i in step.get("o", ())]
    outcome.notifications += [{"id": None, "status": "not sent", "text": f"not sent: {why}"}
                              for why in step.get("q", ())]
    return outcome


def _living(step: Step) -> str:
    """The living alert message's part (``conversation: thread``): a reopening within
    ``reopen_within`` (flapping from the third) and a fold into the storm summary."""
    words = []
    reopen = int(step.get("flap") or 0)
    if reopen >= FLAPPING_FROM:
        words.append(f"reopened {reopen} times (flapping): continues the alert message")
    elif reopen:
        times = "once" if reopen == 1 else f"{reopen} times"
        words.append(f"reopened {times} within reopen_within: continues the alert message")
    if step.get("fold"):
        words.append(f"folded by the storm budget into the summary message `{step['fold']}`")
    return "".join(f", {w}" for w in words)


def _notification(outbox_id: int, row: dict[str, Any] | None,
                  silence_id: int | None) -> dict[str, Any]:
    if row is None:
        return {"id": outbox_id, "status": "pruned",
                "text": f"notification #{outbox_id} is no longer in the log"}
    state = _state(row, silence_id)
    return {"id": outbox_id, "endpoint": row["endpoint"], "trigger": row["trigger"],
            "status": row["status"], "silence_id": row.get("silence_id"),
            "text": f"{row['trigger']} to {row['endpoint']} (notification #{outbox_id}): "
                    f"{state}"}


def _state(row: dict[str, Any], silence_id: int | None) -> str:
    status = row["status"]
    if status == "delivered":
        return "sent"
    if status == "silenced":
        return f"suppressed by silence #{row.get('silence_id') or silence_id}"
    if status == "failed":
        return f"failed: {short(str(row.get('last_error') or 'no error recorded'), 200)}"
    if status == "response":
        return "answered in the webhook's HTTP response"
    if status == "cancelled":
        return f"withdrawn ({row.get('detail') or 'cancelled'})"
    if status == "sending":
        return "being sent now"
    created, due = aware(row.get("created_at")), aware(row.get("due_at"))
    if row.get("attempts"):
        return (f"retrying (attempt {row['attempts']} failed: "
                f"{short(str(row.get('last_error') or ''), 160)})")
    if due is not None and created is not None and due > created:
        return f"held by delay_open until {format_iso_date(due)}"
    return "waiting to be sent"
