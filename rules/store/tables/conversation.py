"""The conversation's tables: silences, and what the engine did with each stored message.

``silences`` holds every silence, active and ended (the Silences page lists recent ones);
``end_noted_at`` is set in the transaction that writes the note to the creating room, so an
end is told once, whichever instance's scheduler sees it.

``explanations`` holds one compact row per processed, stored message: for each rule that
could see it, the stage that stopped it or what it did (:mod:`rules.engine.trace` defines the
keys). ``why`` renders it later, so the answer reflects the rules of that moment;
``rule_filters`` keeps what a message no rule could see is told about the rules of then.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, Text

from rules.store.tables.base import Id, Time, metadata

silences = Table(
    "silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("matchers", JSON, nullable=False),  # the canonical mapping (rules.silences)
    Column("starts_at", Time, nullable=False),
    Column("ends_at", Time, nullable=False),
    Column("author", String(256), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("room_id", String(256), nullable=True),
    Column("tmid", String(256), nullable=True),
    Column("created_at", Time, nullable=False),
    Column("expired_by", String(256), nullable=True),
    Column("end_noted_at", Time, nullable=True),
    Index("ix_silences_ends_at", "ends_at"),
)

explanations = Table(
    "explanations",
    metadata,
    Column("message_id", Id, primary_key=True, autoincrement=False),
    Column("steps", JSON, nullable=False),
)

# The rules' type/source/entity filters as ``why`` names them for a message no rule could see,
# once per rule set (the explanation row holds only the key).
rule_filters = Table(
    "rule_filters",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("text", Text, nullable=False),
    Column("first_seen_at", Time, nullable=False),
)
