"""Dates for ``date_format`` and intervals for ``db_message_*``: Java patterns, zone names.

``date_format(time, pattern[, zone])`` takes the pattern letters ATSD users know from Java
(``yyyy-MM-dd HH:mm:ss``, ``MMM d, h:mm a``, ``SSS``, ``XXX``, ``'literal'``) and a zone name
from the IANA database (``Europe/Berlin``; ``UTC`` when omitted). Unknown letters are an
error, not silently printed, so that a typo shows when the rule is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_PATTERN = 200

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Part = Callable[[datetime], str]


def _num(get: Callable[[datetime], int], width: int) -> Part:
    return lambda d: str(get(d)).zfill(width)


def _year(width: int) -> Part:
    if width == 2:
        return lambda d: f"{d.year % 100:02d}"
    return _num(lambda d: d.year, width)


def _month(width: int) -> Part:
    if width >= 4:
        return lambda d: _MONTHS[d.month - 1]
    if width == 3:
        return lambda d: _MONTHS[d.month - 1][:3]
    return _num(lambda d: d.month, width)


def _weekday(width: int) -> Part:
    if width >= 4:
        return lambda d: _DAYS[d.weekday()]
    return lambda d: _DAYS[d.weekday()][:3]


def _fraction(width: int) -> Part:
    return lambda d: f"{d.microsecond:06d}"[:width].ljust(width, "0")


def _offset(letter: str, width: int) -> Part:
    def part(d: datetime) -> str:
        delta = d.utcoffset() or timedelta(0)
        if letter == "X" and not delta:
            return "Z"
        minutes = int(delta.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        if letter == "X" and width == 1:
            return f"{sign}{hours:02d}" + (f"{mins:02d}" if mins else "")
        sep = ":" if (letter == "X" and width >= 3) or (letter == "Z" and width >= 5) else ""
        return f"{sign}{hours:02d}{sep}{mins:02d}"
    return part


_BUILDERS: dict[str, Callable[[int], Part]] = {
    "y": _year,
    "u": lambda w: _num(lambda d: d.isoweekday(), w),
    "M": _month,
    "d": lambda w: _num(lambda d: d.day, w),
    "D": lambda w: _num(lambda d: d.timetuple().tm_yday, w),
    "E": _weekday,
    "H": lambda w: _num(lambda d: d.hour, w),
    "k": lambda w: _num(lambda d: d.hour or 24, w),
    "K": lambda w: _num(lambda d: d.hour % 12, w),
    "h": lambda w: _num(lambda d: d.hour % 12 or 12, w),
    "m": lambda w: _num(lambda d: d.minute, w),
    "s": lambda w: _num(lambda d: d.second, w),
    "S": _fraction,
    "a": lambda w: (lambda d: "AM" if d.hour < 12 else "PM"),
    "z": lambda w: (lambda d: d.tzname() or "UTC"),
    "Z": lambda w: _offset("Z", w),
    "X": lambda w: _offset("X", w),
}

_TOKEN = re.compile(r"'(?:[^']|'')*'|''|([A-Za-z])\1*|[^A-Za-z']+|'")


def _literal(value: str) -> Part:
    return lambda d: value


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> tuple[Part, ...]:
    """The parts of a Java date pattern; ``ValueError`` names what is not supported."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"date pattern longer than {MAX_PATTERN} characters")
    parts: list[Part] = []
    for match in _TOKEN.finditer(pattern):
        token = match.group(0)
        if token == "'":  # noqa: S105 - a quote, not a password
            raise ValueError("unterminated quote in date pattern")
        if token.startswith("'"):
            literal = token[1:-1].replace("''", "'") if len(token) > 2 else "'"
            parts.append(_literal(literal))
        elif token[0].isalpha():
            builder = _BUILDERS.get(token[0])
            if builder is None:
                raise ValueError(f"unsupported date pattern letter {token[0]!r}")
            parts.append(builder(len(token)))
        else:
            parts.append(_literal(token))
    return tuple(parts)


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """A time zone by IANA name (``UTC``, ``Z`` and ``GMT`` included)."""
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None


def format_date(value: datetime, pattern: str, zone_name: str | None = None) -> str:
    local = value.astimezone(zone(zone_name) if zone_name else UTC)
    return "".join(part(local) for part in compile_pattern(pattern))


_UNITS = {
    "millisecond": timedelta(milliseconds=1), "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_INTERVAL = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*", re.IGNORECASE)
MAX_INTERVAL = timedelta(days=3660)


@lru_cache(maxsize=256)
def parse_interval(text: str) -> timedelta:
    """ATSD's ``'count unit'`` interval: ``'15 minute'``, ``'1 hour'``, ``'2 days'``."""
    match = _INTERVAL.fullmatch(text)
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ValueError(f"invalid interval {text!r}: expected 'count unit' with unit one of "
                         + ", ".join(_UNITS))
    result = unit * float(match.group(1))
    if result > MAX_INTERVAL:
        raise ValueError(f"interval {text!r} longer than {MAX_INTERVAL.days} days")
    return result
