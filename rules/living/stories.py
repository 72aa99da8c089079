"""The engine's side of the living alert message: one notification of a ``thread`` rule on a
Rocket.Chat endpoint becomes the outbox rows that tell the alert's story in one message.

Everything runs in the engine's transaction (the command's, a tick's, an operator's): the
``living_*`` rows and the outbox rows they explain commit together, so a restart or another
instance taking the lease over continues the same message. The message's Rocket.Chat ``_id``
is known before it is posted: it derives from its outbox row (:func:`chat_message_id`).

What each event writes (targets as :mod:`bot.rest.endpoint` reads them):

- **OPEN**, new message: one ``post`` row (room message with the buttons; the endpoint adds
  the state reaction after posting).
- **OPEN** less than ``reopen_within`` after the window's last alert was resolved: the open
  text into the old message's thread (``tmid``, with this alert's buttons) and an ``edit``
  row (``reopened`` / ``flapping``).
- **OPEN** past the room's budget: the alert is *folded*: its texts go to the thread of the
  room's current summary message (posted first when there is none within the interval), and
  the summary is edited.
- **REPEAT**: the repeat text into the thread.
- **CANCEL**: the cancel text into the thread, and an ``edit`` row (``resolved after …``).
- **ack / unack / resolve by hand**: a note into the thread (who, why) and an ``edit`` row.

An ``edit`` row brings the message up to date when it is delivered (text and state reaction,
rendered from these rows by :mod:`rules.living.views`), so edits of one message may go out
in any order and a repeated one changes nothing. Its ``text`` is the state change itself: the
note the endpoint posts into the thread instead when Rocket.Chat refuses the edit
(``note: true``; false where a note was posted already, and for summaries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from rules.clock import aware
from rules.living.text import (
    ACKNOWLEDGED,
    OPEN,
    REACTIONS,
    RESOLVED,
    UNACKNOWLEDGED,
    AlertState,
    ack_words,
    reopen_words,
    resolved_words,
    summary_text,
)
from rules.notification import Notification, chat_message_id
from rules.store import alert_messages as rows
from rules.store import outbox

ROCKETCHAT = "rocketchat"


@dataclass(frozen=True, slots=True)
class RoomBudget:
    """``[rocketchat] room_budget``: at most ``count`` new alert messages per room within any
    ``seconds`` (sliding); the summary messages themselves do not count."""

    count: int = 10
    seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Told:
    """How :meth:`Stories.notify` wrote a notification, for ``why``: its rows, the summary
    message it was folded into (its chat ``_id``; storm budget), and which reopening of the
    window's alert message it was (0: none; ``flapping`` from
    :data:`~rules.living.text.FLAPPING_FROM`)."""

    notes: list[Notification]
    folded_into: str | None = None
    reopen: int = 0


@dataclass(frozen=True, slots=True)
class Subject:
    """The alert a notification is about, as the engine knows it."""

    rule: str
    window_key: str
    entity: str
    reopen_within: float
    slot: int  # the notification's index in its rule


class Stories:
    """Writes the living message's rows; the engine calls it for ``thread`` rules."""

    def __init__(self, budget: RoomBudget | None = None) -> None:
        self.budget = budget or RoomBudget()

    @staticmethod
    def applies(conversation: str, endpoint: str,
                targets: Mapping[str, Mapping[str, Any]]) -> bool:
        """Only Rocket.Chat endpoints thread; another endpoint of a thread rule stays flat."""
        return conversation == "thread" and (
            endpoint == ROCKETCHAT or "room_id" in targets.get(endpoint, {}))

    # -- the engine's triggers ----------------------------------------------------------

    def notify(self, conn: Connection, subject: Subject, note: Notification, status: str,
               now: datetime) -> Told | None:
        """Write ``note`` (open, repeat or cancel) the living way; None: write it flat (no
        room to address, or an alert this conversation does not know)."""
        room = note.target.get("room_id")
        if not room or note.alert_id is None:
            return None
        if note.trigger == "open":
            return self._open(conn, subject, note, str(room), status, now)
        found = rows.alert_rows(conn, note.alert_id, subject.slot)
        if not found:
            return None
        return Told([_write(conn, note, status, now, _thread(found[0]))])

    def cancelled(self, conn: Connection, alert_id: int, now: datetime) -> list[Notification]:
        """The alert's window cancelled: resolved, and its message edited to say so."""
        out: list[Notification] = []
        for row in rows.alert_rows(conn, alert_id):
            if row.state == RESOLVED:
                continue
            rows.update_alert(conn, row.id, {"state": RESOLVED, "closed_at": now})
            if rows.withdrawn(conn, row.message_row):
                continue  # never posted: it stays unposted
            state = replace(AlertState.of(row), state=RESOLVED, closed_at=now)
            out.append(self._edit(conn, row, "cancel", resolved_words(state), now,
                                  note=row.kind == "alert", state=RESOLVED))
        return out

    def acknowledged(self, conn: Connection, alert_id: int, acknowledged: bool,
                     by: str | None, reason: str | None, now: datetime) -> list[Notification]:
        """An operator (un)acknowledged the alert: a note in the thread and an edit."""
        out: list[Notification] = []
        for row in rows.alert_rows(conn, alert_id):
            if row.state == RESOLVED:
                continue
            state = ACKNOWLEDGED if acknowledged else OPEN
            rows.update_alert(conn, row.id, {
                "state": state, "ack": ACKNOWLEDGED if acknowledged else UNACKNOWLEDGED,
                "ack_by": by, "ack_reason": reason if acknowledged else None})
            words = ack_words(acknowledged, by, reason)
            trigger = "ack" if acknowledged else "unack"
            out.append(_write(conn, _note(row, trigger, f"#{alert_id} {words}"), "pending", now,
                              _thread(row)))
            out.append(self._edit(conn, row, trigger, words, now, note=False, state=state))
        return out

    def resolved(self, conn: Connection, alert_id: int, by: str, reason: str,
                 now: datetime) -> list[Notification]:
        """Resolved by hand: a note in the thread (who, why) and an edit."""
        out: list[Notification] = []
        for row in rows.alert_rows(conn, alert_id):
            if row.state == RESOLVED:
                continue
            rows.update_alert(conn, row.id, {"state": RESOLVED, "closed_at": now,
                                             "closed_by": by, "close_reason": reason or None})
            state = replace(AlertState.of(row), state=RESOLVED, closed_at=now, closed_by=by,
                            close_reason=reason or None)
            words = resolved_words(state)
            out.append(_write(conn, _note(row, "resolve", f"#{alert_id} {words}"), "pending",
                              now, _thread(row)))
            out.append(self._edit(conn, row, "resolve", words, now, note=False,
                                  state=RESOLVED))
        return out

    def current_alert(self, conn: Connection, alert_id: int) -> int | None:
        """The alert now living in the message where ``alert_id`` lived (a reopened window's
        newer alert), so the first message's buttons keep working; None when unknown."""
        found = rows.alert_rows(conn, alert_id)
        if not found:
            return None
        latest = rows.latest_of_message(conn, found[0].message_row)
        return int(latest.alert_id) if latest is not None else None

    # -- open ---------------------------------------------------------------------------

    def _open(self, conn: Connection, subject: Subject, note: Notification, room: str,
              status: str, now: datetime) -> Told:
        previous = rows.latest_of_window(conn, subject.rule, subject.window_key, subject.slot)
        if previous is not None and _reopens(previous, subject, now):
            message = rows.message_row(conn, previous.message_row)
            if message is not None and message.room_id == room \
                    and message.endpoint == note.endpoint:
                return self._reopen(conn, subject, note, previous, message, status, now)
        budget = self.budget
        if budget.count > 0 and rows.alert_messages_since(
                conn, room, note.endpoint, now - timedelta(seconds=budget.seconds)
        ) >= budget.count:
            return self._fold(conn, subject, note, room, status, now)
        note.target = {"room_id": room, "action": "post", "react": True,
                       "buttons": _buttons(note.alert_id, subject)}
        written = _write(conn, note, status, now, note.target)
        assert written.id is not None
        row = rows.insert_message(conn, kind="alert", endpoint=note.endpoint, room_id=room,
                                  message_id=chat_message_id(written.id), outbox_id=written.id,
                                  text=note.text, reacted=[REACTIONS[OPEN]], now=now)
        self._insert(conn, subject, note, row, 0, now)
        return Told([written])

    def _reopen(self, conn: Connection, subject: Subject, note: Notification, previous: Any,
                message: Any, status: str, now: datetime) -> Told:
        reopen = int(previous.reopen or 0) + 1
        self._insert(conn, subject, note, int(message.id), reopen, now)
        target = {"room_id": message.room_id, "tmid": message.message_id,
                  "buttons": _buttons(note.alert_id, subject)}
        out = [_write(conn, note, status, now, target)]
        words = reopen_words(reopen) or "reopened"
        joined = rows.alert_rows(conn, note.alert_id or 0, subject.slot)[0]
        out.append(self._edit(conn, joined, "open", words, now, note=message.kind == "alert",
                              state=OPEN))
        folded = message.message_id if message.kind == "summary" else None
        return Told(out, folded_into=folded, reopen=reopen)

    def _fold(self, conn: Connection, subject: Subject, note: Notification, room: str,
              status: str, now: datetime) -> Told:
        out: list[Notification] = []
        since = now - timedelta(seconds=self.budget.seconds)
        summary = rows.current_summary(conn, room, note.endpoint, since)
        if summary is None:
            member = AlertState(alert_id=note.alert_id or 0, rule=subject.rule,
                                entity=subject.entity, state=OPEN, opened_at=now)
            head = Notification(rule=note.rule, endpoint=note.endpoint, trigger="open",
                                text=summary_text([member], 1, 0), alert_id=note.alert_id,
                                target={"room_id": room, "action": "post", "react": True,
                                        "summary": True})
            out.append(_write(conn, head, "pending", now, head.target))
            assert head.id is not None
            # a summary goes from open to resolved and back as alerts join and resolve
            row = rows.insert_message(conn, kind="summary", endpoint=note.endpoint,
                                      room_id=room, message_id=chat_message_id(head.id),
                                      outbox_id=head.id, text="",
                                      reacted=[REACTIONS[OPEN], REACTIONS[RESOLVED]], now=now)
            summary = rows.message_row(conn, row)
        self._insert(conn, subject, note, int(summary.id), 0, now)
        target = {"room_id": room, "tmid": summary.message_id,
                  "buttons": _buttons(note.alert_id, subject)}
        out.append(_write(conn, note, status, now, target))
        if len(out) == 1:  # an existing summary: one more alert in its list
            joined = rows.alert_rows(conn, note.alert_id or 0, subject.slot)[0]
            out.append(self._edit(conn, joined, "open", f"+ {subject.rule}/{subject.entity}",
                                  now, note=False, state=OPEN))
        return Told(out, folded_into=str(summary.message_id))

    def _insert(self, conn: Connection, subject: Subject, note: Notification,
                message_row: int, reopen: int, now: datetime) -> None:
        rows.insert_alert(conn, {
            "alert_id": note.alert_id, "slot": subject.slot, "message_row": message_row,
            "rule": subject.rule, "window_key": subject.window_key, "entity": subject.entity,
            "state": OPEN, "opened_at": now, "reopen": reopen})

    # -- edits --------------------------------------------------------------------------

    def _edit(self, conn: Connection, row: Any, trigger: str, words: str, now: datetime, *,
              note: bool, state: str) -> Notification:
        """An ``edit`` row for the message ``row`` lives in; remembers the state reaction."""
        reacted = list(row.reacted or [])
        emoji = REACTIONS[state]
        if row.kind == "alert" and emoji not in reacted:
            reacted.append(emoji)
            rows.set_reacted(conn, row.message_row, reacted)
        edit = Notification(rule=row.rule, endpoint=row.endpoint, trigger=trigger, text=words,
                            alert_id=int(row.alert_id))
        return _write(conn, edit, "pending", now, {
            "room_id": row.room_id, "action": "edit", "msg_id": row.message_id,
            "react": True, "note": note})


def _reopens(previous: Any, subject: Subject, now: datetime) -> bool:
    closed = aware(previous.closed_at)
    return previous.state == RESOLVED and closed is not None and \
        now - closed < timedelta(seconds=subject.reopen_within)


def _buttons(alert_id: int | None, subject: Subject) -> dict[str, Any]:
    """What the endpoint needs to draw the buttons (it knows the bot's name and the URL)."""
    return {"alert_id": alert_id, "rule": subject.rule, "entity": subject.entity}


def _thread(row: Any) -> dict[str, Any]:
    return {"room_id": row.room_id, "tmid": row.message_id}


def _note(row: Any, trigger: str, text: str) -> Notification:
    return Notification(rule=row.rule, endpoint=row.endpoint, trigger=trigger, text=text,
                        alert_id=int(row.alert_id))


def _write(conn: Connection, note: Notification, status: str, now: datetime,
           target: dict[str, Any]) -> Notification:
    note.target = target
    outbox.write(conn, note, status=status, now=now)
    return note
