"""The living alert message's tables: the room messages the bot keeps alive, and each alert's
place in one of them (``conversation: thread`` rules on Rocket.Chat endpoints).

``living_messages`` has one row per room message the bot posted to tell a story: an alert's
own message (``kind = alert``) or a storm summary (``kind = summary``). ``message_id`` is the
Rocket.Chat ``_id``, fixed when the row is written because it derives from the outbox row
that posts it (``outbox_id``); ``reacted`` lists every state reaction ever asked for on it, so
a later state knows which of the bot's reactions to take back.

``living_alerts`` has one row per alert and notification slot (a rule may notify several
Rocket.Chat endpoints or rooms): the message it lives in, its state, who acknowledged or
resolved it, and ``reopen`` (0 for a new message, N for the Nth reopening in a flapping run).
Both are written in the engine's transaction together with the outbox rows they explain.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from rules.store.tables.base import Id, Time, metadata

living_messages = Table(
    "living_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),  # alert | summary
    Column("endpoint", String(128), nullable=False),
    Column("room_id", String(256), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("outbox_id", Id, nullable=False),  # the row that posts it
    Column("text", Text, nullable=False),  # an alert's open text, as first posted
    Column("reacted", JSON, nullable=False),
    Column("created_at", Time, nullable=False),
    Index("ux_living_messages_message", "message_id", unique=True),
    Index("ix_living_messages_room", "room_id", "kind", "created_at"),
)

living_alerts = Table(
    "living_alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", Id, nullable=False),
    Column("slot", Integer, nullable=False),  # the rule's notification index
    Column("message_row", Id, nullable=False),  # living_messages.id
    Column("rule", String(256), nullable=False),
    Column("window_key", Text, nullable=False),
    Column("entity", String(512), nullable=False),
    Column("state", String(16), nullable=False),  # open | acknowledged | resolved
    Column("opened_at", Time, nullable=False),
    Column("closed_at", Time, nullable=True),
    Column("reopen", Integer, nullable=False, default=0),
    Column("ack", String(16), nullable=True),  # None | acknowledged | unacknowledged
    Column("ack_by", String(256), nullable=True),
    Column("ack_reason", Text, nullable=True),
    Column("closed_by", String(256), nullable=True),
    Column("close_reason", Text, nullable=True),
    Index("ux_living_alerts_alert", "alert_id", "slot", unique=True),
    Index("ix_living_alerts_window", "rule", "window_key", "slot"),
    Index("ix_living_alerts_message", "message_row"),
)
