"""Durations (``"90s"``, ``"1h30m"``, ``"5 minute"``) and windows (``length(N)``, ``time(N unit)``).

**One duration syntax everywhere** (chat commands, rule files, the CLI, the API, the
configuration): :func:`parse_span` reads ``90s``, ``15m``, ``2h``, ``1h30m``, ``2d``, ``1w``
and ATSD's ``"2 hour"`` / ``"30 minute"`` forms, and refuses a bare number with the syntax
(a number has no unit, and guessing one is how ``30`` came to mean 30 minutes).
:func:`format_span` writes a duration back in the compact form; :func:`parse_duration` is the
same for rule files and the configuration, which YAML and TOML may hand over as numbers.

Shared by the YAML format and ATSD XML import; each parser raises ``ValueError`` (a
:class:`DurationError` for durations) with a message fit for a
:class:`rules.definitions.issues.RuleIssue` or a chat ``usage:`` reply.
"""

from __future__ import annotations

import re
from datetime import timedelta

from rules.definitions.issues import show
from rules.definitions.model import WindowSpec
from rules.errors import AtsdBotError

MAX_LENGTH_WINDOW = 100_000  # commands kept per window
MAX_TIME_WINDOW = 30 * 86400.0  # seconds
MAX_DURATION = 366 * 86400.0  # offsets and delays: beyond a year is a typo, not a plan
MAX_SILENCE = timedelta(days=90)
SYNTAX = "90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'"

# ATSD's interval unit names (``intervalUnit`` in rule XML, ``unit`` in API intervals)
ATSD_UNIT_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}

_UNIT_SECONDS = {unit.lower(): float(seconds) for unit, seconds in ATSD_UNIT_SECONDS.items()}
_UNIT_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute",
                 "h": "hour", "d": "day", "w": "week"}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_COMPACT_PART = re.compile(r"(\d{1,9})([wdhms])")
_COMPACT = re.compile(r"^(?:\d{1,9}[wdhms])+$")
_COMPACT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_WINDOW = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$")


def _unit(word: str) -> str:
    """``minutes``/``MINUTE``/``min`` -> ``minute``; ValueError names an unknown unit."""
    lower = word.lower()
    name = _UNIT_ALIASES.get(lower, lower[:-1] if lower.endswith("s") and len(lower) > 2
                             else lower)
    if name not in _UNIT_SECONDS:
        raise ValueError(f"unknown unit {word!r}; expected second, minute, hour, day or week")
    return name


class DurationError(AtsdBotError, ValueError):
    """A duration that does not fit :data:`SYNTAX`, or is out of range; the text says which."""


def parse_span(text: str, *, maximum: timedelta | None = None,
               allow_zero: bool = False) -> timedelta:
    """A duration in the one syntax (module docstring); :class:`DurationError` otherwise.

    ``maximum`` bounds it (inclusive); zero is refused unless ``allow_zero``.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):  # JSON's 7200
        raise DurationError(f"a bare number ({show(text)}) has no unit: write {SYNTAX}")
    if not isinstance(text, str):
        raise DurationError(f"expected a duration like {SYNTAX}, got {show(text)}")
    raw = text.strip()
    if not raw:
        raise DurationError(f"missing duration: write {SYNTAX}")
    span = _compact(raw.lower()) if _COMPACT.match(raw.lower()) else _spelled(raw)
    if span <= timedelta(0) and not (allow_zero and span == timedelta(0)):
        raise DurationError(f"duration {show(raw)} must be longer than 0")
    if maximum is not None and span > maximum:
        raise DurationError(f"duration {show(raw)} is longer than the limit of "
                            f"{format_span(maximum)}")
    return span


def _compact(text: str) -> timedelta:
    seconds = sum(int(n) * _COMPACT_SECONDS[u] for n, u in _COMPACT_PART.findall(text))
    return _bounded(seconds, text)


def _spelled(text: str) -> timedelta:
    """ATSD's ``"2 hour"`` / ``"30 minutes"`` / ``"1.5 hour"``; a bare number is refused."""
    match = _AMOUNT.match(text)
    if not match:
        raise DurationError(f"invalid duration {show(text)}: write {SYNTAX}")
    amount, word = match.groups()
    if not word:
        raise DurationError(f"a bare number ({show(text)}) has no unit: write {SYNTAX}")
    try:
        unit = _unit(word)
    except ValueError:
        raise DurationError(f"unknown unit {word!r} in {show(text)}: write {SYNTAX}") from None
    return _bounded(float(amount) * _UNIT_SECONDS[unit], text)


def _bounded(seconds: float, text: str) -> timedelta:
    # timedelta's own limit is ~2.7 million years; anything near it is a typo, not a plan
    if seconds > 100 * 366 * 86400:
        raise DurationError(f"duration {show(text)} is too long")
    return timedelta(seconds=seconds)


def format_span(span: timedelta) -> str:
    """``1h30m``, ``2d``, ``90d``, ``45s``: the compact form :func:`parse_span` reads back."""
    total = int(span.total_seconds())
    if total <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_duration(value: object) -> float:
    """Seconds of a duration a person wrote (rule file, configuration, CLI): the one syntax
    (:func:`parse_span`), or ``0`` (off; zero needs no unit).

    A bare number is refused with the syntax, whether YAML or TOML typed it as a number
    (``delay_open: 30``) or as text (``"30"``): guessing its unit is what the one syntax ends.
    """
    if isinstance(value, bool) or value is None:
        raise DurationError(f"expected a duration like {SYNTAX}, got {show(value)}")
    if _zero(value):
        return 0.0
    if isinstance(value, (int, float)):
        raise DurationError(f"a bare number ({show(value)}) has no unit: write {SYNTAX}")
    if not isinstance(value, str):
        raise DurationError(f"expected a duration like {SYNTAX}, got {show(value)}")
    return seconds_in_range(parse_span(value, allow_zero=True).total_seconds(), value)


def seconds_in_range(seconds: float, value: object) -> float:
    """``seconds`` if it is 0 to :data:`MAX_DURATION`; for a count the code computed (ATSD
    XML's ``intervalCount`` times its ``intervalUnit``), not a number a person wrote."""
    if not 0 <= seconds <= MAX_DURATION:  # also false for NaN
        raise DurationError(f"must be 0 to {int(MAX_DURATION)} seconds (366 days), "
                            f"got {show(value)}")
    return seconds


def duration_text(seconds: float) -> str:
    """Seconds written back in the one syntax: ``1h30m``, or ``1.5 second`` for a fraction."""
    if seconds == int(seconds):
        return format_span(timedelta(seconds=seconds))
    return f"{number_text(seconds)} second"


def _zero(value: object) -> bool:
    if isinstance(value, (int, float)):
        return value == 0
    return isinstance(value, str) and re.fullmatch(r"\s*0+(?:\.0+)?\s*", value) is not None


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
