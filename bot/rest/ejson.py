"""Dates as Rocket.Chat sends them in message objects: ``{"$date": ms}`` over DDP, ISO text
over REST, or milliseconds. Shared by the chat adapter, the realtime client and back-fill."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rules.clock import aware


def ejson_date(value: Any) -> datetime | None:
    """Read a date as it comes over DDP (``{"$date": ms}``) or REST (ISO string) or as ms."""
    if isinstance(value, dict) and "$date" in value:
        value = value["$date"]
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return aware(parsed)
    if isinstance(value, datetime):
        return aware(value)
    return None


def to_ejson_date(value: datetime) -> dict[str, int]:
    return {"$date": int(round(value.timestamp() * 1000))}
