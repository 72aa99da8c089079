"""The service's own small values: one row per name (the generated web UI session key).

Kept in the database rather than a file so that every instance sharing the database, and the
same instance after a restart, reads the same value.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from rules.store.tables.base import Time, metadata

service_values = Table(
    "service_values",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", Time, nullable=False),
)
