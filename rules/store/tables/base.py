"""Every table of the store, on one shared ``MetaData``.

Times are stored as timezone-aware UTC datetimes; tags and commands as JSON text so that
SQLite and PostgreSQL hold the same thing.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")
Time = DateTime(timezone=True)

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("upgraded_at", Time, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_at", Time, nullable=False),
    Column("date", Time, nullable=False),
    Column("entity", String(512), nullable=False),
    Column("type", String(256), nullable=False),
    Column("source", String(512), nullable=False),
    Column("severity", Integer, nullable=True),
    Column("message", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    # which inbound path made it: webhook | realtime | api
    Column("path", String(32), nullable=False),
    # engine bookkeeping: false until the engine has run it (a non-owner instance stores only)
    Column("processed", Boolean, nullable=False, default=False),
    Index("ix_messages_date", "date"),
    Index("ix_messages_entity_date", "entity", "date"),
    Index("ix_messages_type_source", "type", "source"),
    Index("ix_messages_unprocessed", "processed", "id"),
)

# Once-only keys for Rocket.Chat messages (message id plus edit stamp), shared by both paths.
processed_keys = Table(
    "processed_keys",
    metadata,
    Column("key", String(256), primary_key=True),
    Column("message_id", Id, nullable=True),
    Column("path", String(32), nullable=False),
    Column("first_seen_at", Time, nullable=False),
)

webhook_requests = Table(
    "webhook_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_at", Time, nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("remote_addr", String(64), nullable=False),
    Column("user", String(256), nullable=True),
    Column("content_type", String(256), nullable=True),
    Column("size", Integer, nullable=False),
    Column("body", Text, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("command", JSON, nullable=True),
    Column("message_id", Id, nullable=True),
    # stored | duplicate | ignored (loop guard) | rejected | invalid
    Column("outcome", String(32), nullable=False),
    Column("error", Text, nullable=True),
    Column("status", Integer, nullable=False),
    Index("ix_webhook_requests_received", "received_at"),
)

security_incidents = Table(
    "security_incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Time, nullable=False),
    Column("remote_addr", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("user", String(256), nullable=True),
    Column("reason", String(512), nullable=False),
    Index("ix_security_incidents_at", "at"),
)

# Which instance runs the engine, the realtime client and the scheduler (see leases.py).
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(256), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", Time, nullable=False),
    Column("renewed_at", Time, nullable=False),
)
