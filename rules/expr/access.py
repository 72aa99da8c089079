"""Reading fields, ``a.b`` members and ``a[b]`` indexes out of values, without getattr.

``tags.name`` and ``tags['odd-name']`` read a map key (the exact name first, then its
lower-case form, since command tag names are stored lower-case); a member of null is null
(``db_message_last(...).message`` is null when there is no message); dates expose a fixed set
of members (``now.millis``, ``open_time.hour``); a list index out of range is null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rules.expr.errors import EvaluationError
from rules.expr.values import describe, millis, number, text, to_date

_DATE_MEMBERS: dict[str, Callable[[datetime], Any]] = {
    "millis": millis,
    "year": lambda d: d.year,
    "month": lambda d: d.month,
    "day": lambda d: d.day,
    "dayOfWeek": lambda d: d.isoweekday(),
    "hour": lambda d: d.hour,
    "minute": lambda d: d.minute,
    "second": lambda d: d.second,
}


def member(value: Any, name: str) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        found = value.get(name)
        if found is None and not name.islower():
            found = value.get(name.lower())
        return found
    if value is None:
        return None
    if isinstance(value, datetime):
        getter = _DATE_MEMBERS.get(name)
        if getter is not None:
            return getter(to_date(value))  # type: ignore[arg-type]
    raise EvaluationError(f"{describe(value)} has no field {name!r}")


def index(value: Any, key: Any) -> Any:
    if value is None or key is None:
        return None
    if isinstance(value, Mapping):
        return member(value, text(key))
    if isinstance(value, list | tuple | str):
        position = number(key) if not isinstance(key, bool) else None
        if position is None or int(position) != position:
            raise EvaluationError(f"index of a {describe(value)} must be a whole number")
        i = int(position)
        return value[i] if -len(value) <= i < len(value) else None
    if isinstance(value, datetime) and isinstance(key, str):
        return member(value, key)
    raise EvaluationError(f"cannot index {describe(value)}")
