"""The realtime client's table: the last message seen per room, for back-fill after a drop.

Imported at the end of ``rules/store/tables/base.py`` so that ``create_all`` sees it.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table

from rules.store.tables.base import Time, metadata

# One row per room: the server timestamp (``ts``) of the newest message the bot has handled,
# read after a reconnect or restart to fetch everything newer over REST.
realtime_cursors = Table(
    "realtime_cursors",
    metadata,
    Column("room_id", String(128), primary_key=True),
    Column("last_ts", Time, nullable=False),
    Column("last_message_id", String(64), nullable=True),
    Column("room_type", String(8), nullable=True),
    Column("updated_at", Time, nullable=False),
)
