"""Date encodings: EJSON `{"$date": ms}` over DDP, ISO-8601 with milliseconds over REST/webhooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime) -> str:
    """JavaScript's `Date.prototype.toJSON`: `2021-03-18T03:37:15.725Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def to_ejson(value: Any) -> Any:
    """Deep copy with every datetime as `{"$date": ms}` (what Meteor's EJSON sends)."""
    return _map_dates(value, lambda moment: {"$date": epoch_ms(moment)})


def to_rest(value: Any) -> Any:
    """Deep copy with every datetime as an ISO string (what `JSON.stringify` of a Date gives)."""
    return _map_dates(value, iso)


def _map_dates(value: Any, convert: Callable[[datetime], Any]) -> Any:
    """Deep copy of dicts, lists and tuples (as lists) with ``convert`` applied to datetimes."""
    if isinstance(value, datetime):
        return convert(value)
    if isinstance(value, dict):
        return {k: _map_dates(v, convert) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map_dates(v, convert) for v in value]
    return value


def from_ejson(value: Any) -> Any:
    """Decode `{"$date": ms}` back into aware datetimes (method params)."""
    if isinstance(value, dict):
        if set(value) == {"$date"} and isinstance(value["$date"], int | float):
            return datetime.fromtimestamp(value["$date"] / 1000, UTC)
        return {k: from_ejson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_ejson(v) for v in value]
    return value
