"""Durations (``"5 minute"``, ``"1h"``, ``30``) and windows (``length(N)``, ``time(N unit)``).

Shared by the YAML format and ATSD XML import; each parser raises ``ValueError`` with a message
fit for a :class:`rules.definitions.issues.RuleIssue`.
"""

from __future__ import annotations

import re

from rules.definitions.issues import show
from rules.definitions.model import WindowSpec

MAX_LENGTH_WINDOW = 100_000  # commands kept per window
MAX_TIME_WINDOW = 30 * 86400.0  # seconds
MAX_DURATION = 366 * 86400.0  # offsets and delays: beyond a year is a typo, not a plan

# ATSD's interval unit names (``intervalUnit`` in rule XML, ``unit`` in API intervals)
ATSD_UNIT_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}

_UNIT_SECONDS = {unit.lower(): float(seconds) for unit, seconds in ATSD_UNIT_SECONDS.items()}
_UNIT_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute",
                 "h": "hour", "d": "day", "w": "week"}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_WINDOW = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$")


def _unit(word: str) -> str:
    """``minutes``/``MINUTE``/``min`` -> ``minute``; ValueError names an unknown unit."""
    lower = word.lower()
    name = _UNIT_ALIASES.get(lower, lower[:-1] if lower.endswith("s") and len(lower) > 2
                             else lower)
    if name not in _UNIT_SECONDS:
        raise ValueError(f"unknown unit {word!r}; expected second, minute, hour, day or week")
    return name


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``"30"``, ``"30 second"``, ``"5 minutes"``, ``"1h"``."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected seconds or a duration like '5 minute', got {show(value)}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _AMOUNT.match(value) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"expected seconds or a duration like '5 minute', got {show(value)}")
        word = match.group(2)
        seconds = float(match.group(1)) * (_UNIT_SECONDS[_unit(word)] if word else 1.0)
    if not 0 <= seconds <= MAX_DURATION:  # also false for NaN
        raise ValueError(f"must be 0 to {int(MAX_DURATION)} seconds (366 days), got {show(value)}")
    return seconds


def parse_window(text: object) -> WindowSpec:
    """``length(N)`` (1 <= N <= 100,000) or ``time(N unit)`` (at most 30 days)."""
    match = _WINDOW.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"expected length(N) or time(N unit), got {show(text)}")
    kind, inner = match.group(1).lower(), match.group(2).strip()
    if kind == "length":
        return _length_window(inner)
    if kind == "time":
        return _time_window(inner)
    raise ValueError(f"unknown window {kind!r}; expected length(N) or time(N unit)")


def _length_window(inner: str) -> WindowSpec:
    if not inner.isdigit():
        raise ValueError(f"length needs a whole number of commands, got {inner!r}")
    count = int(inner)
    if not 1 <= count <= MAX_LENGTH_WINDOW:
        raise ValueError(f"length must be 1 to {MAX_LENGTH_WINDOW}, got {count}")
    return WindowSpec(kind="length", count=count, text=f"length({count})")


def _time_window(inner: str) -> WindowSpec:
    amount = _AMOUNT.match(inner)
    if not amount or not amount.group(2):
        raise ValueError(f"time needs an amount and a unit like time(5 minute), got {inner!r}")
    unit = _unit(amount.group(2))
    seconds = float(amount.group(1)) * _UNIT_SECONDS[unit]
    if not 0 < seconds <= MAX_TIME_WINDOW:
        raise ValueError(f"time must be more than 0 and at most 30 days, got {inner!r}")
    return WindowSpec(kind="time", seconds=seconds,
                      text=f"time({number_text(float(amount.group(1)))} {unit})")


def number_text(value: float) -> str:
    """``5.0`` -> ``"5"``, ``1.5`` -> ``"1.5"``: the window text as a person would write it."""
    return str(int(value)) if value == int(value) else str(value)
