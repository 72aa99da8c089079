"""The delivery side of the living alert message: how a message should read *now*.

The Rocket.Chat endpoint asks :class:`LivingViews` when it delivers an ``edit`` row (and when
it must post a message that is missing: a thread post or an edit that arrived before its
message), so whatever order the rows of one message go out in, the last one leaves the
message as the store says it is. Reads only; its own connection, outside any engine
transaction, so it sees what was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rules.living.text import (
    REACTIONS,
    SUMMARY_LISTED,
    AlertState,
    alert_text,
    summary_state,
    summary_text,
)
from rules.store import Database
from rules.store import alert_messages as rows


@dataclass(frozen=True, slots=True)
class MessageView:
    room_id: str
    message_id: str
    kind: str  # alert | summary
    text: str  # the message as it should read now
    reaction: str  # the state reaction it should carry
    stale: tuple[str, ...]  # the bot's other state reactions, to take back
    buttons: dict[str, Any] | None  # an alert message's buttons, to post it again


class LivingViews:
    """:class:`MessageView` by chat message id, from the store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def view(self, message_id: str) -> MessageView | None:
        with self.db.connect() as conn:
            message = rows.message_by_chat_id(conn, message_id)
            if message is None:
                return None
            if message.kind == "summary":
                members, total, resolved = rows.summary_members(conn, int(message.id),
                                                                SUMMARY_LISTED)
                states = [AlertState.of(m) for m in members]
                return _view(message, summary_text(states, total, resolved),
                             summary_state(total, resolved), None)
            latest = rows.latest_of_message(conn, int(message.id))
        if latest is None:
            return None
        state = AlertState.of(latest)
        buttons = {"alert_id": state.alert_id, "rule": state.rule, "entity": state.entity}
        return _view(message, alert_text(message.text, state), state.state, buttons)


def _view(message: Any, text: str, state: str, buttons: dict[str, Any] | None) -> MessageView:
    reaction = REACTIONS[state]
    stale = tuple(e for e in (message.reacted or []) if e != reaction)
    return MessageView(room_id=message.room_id, message_id=message.message_id,
                       kind=message.kind, text=text, reaction=reaction, stale=stale,
                       buttons=buttons)
