"""The message command: the one shape both inbound paths hand to the store and the engine.

Also holds :class:`Severity` (ATSD's names, aliases and codes) and the date helpers every
part of the service uses to read and print command dates.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_TAGS = 1024


class Severity(enum.IntEnum):
    """ATSD severities; the integer value is the code clients may send."""

    UNDEFINED = 0
    UNKNOWN = 1
    NORMAL = 2
    WARNING = 3
    MINOR = 4
    MAJOR = 5
    CRITICAL = 6
    FATAL = 7

    @classmethod
    def parse(cls, value: str | int) -> Severity:
        """Read a severity from a name, an alias or a code; ``ValueError`` names what failed."""
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                raise ValueError(f"unknown severity code {value!r}: expected 0-7") from None
        text = str(value).strip()
        if text.isdigit():
            return cls.parse(int(text))
        found = _SEVERITY_NAMES.get(text.upper())
        if found is None:
            names = ", ".join(s.name for s in cls)
            raise ValueError(f"unknown severity {text!r}: expected 0-7 or one of {names}")
        return found


_SEVERITY_NAMES: dict[str, Severity] = {s.name: s for s in Severity} | {
    "INFO": Severity.NORMAL,
    "WARN": Severity.WARNING,
    "ERROR": Severity.CRITICAL,
}

_ISO_WITH_ZONE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})$"
)


def parse_iso_date(text: str) -> datetime:
    """Parse ISO 8601 with seconds and a zone (nanoseconds are cut to microseconds).

    Raises ``ValueError`` for a date without a zone, without seconds or with a space for ``T``.
    """
    match = _ISO_WITH_ZONE.match(text.strip())
    if not match:
        raise ValueError(
            f"invalid date {text!r}: expected ISO 8601 with seconds and a zone, "
            "e.g. 2016-06-09T16:15:04.005Z"
        )
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    offset = "+00:00" if zone in ("Z", "z") else zone
    if len(offset) == 5:  # +0200
        offset = offset[:3] + ":" + offset[3:]
    try:
        parsed = datetime.fromisoformat(
            f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micros:06d}{offset}"
        )
    except ValueError as exc:
        raise ValueError(f"invalid date {text!r}: {exc}") from None
    return parsed.astimezone(UTC)


_FORMATTED: dict[datetime, str] = {}  # aware datetime -> its text; see format_iso_date
_FORMATTED_MAX = 4096


def format_iso_date(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: ``2016-06-09T16:15:04.005Z``.

    The engine prints the same few instants many times per command (the command's date, the
    clock's now, an alert's open time, each time its window is saved), so the texts of aware
    datetimes are kept in a small table; equal aware datetimes are the same instant, which
    prints the same whatever their zone. A naive one is read as local time: never kept.
    """
    text = _FORMATTED.get(value)
    if text is not None:
        return text
    utc = value.astimezone(UTC)
    if utc.year >= 1000:  # isoformat pads the year to four digits, strftime's %Y does not
        text = utc.isoformat(timespec="milliseconds")[:-6] + "Z"
    else:
        text = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if value.utcoffset() is not None:
        if len(_FORMATTED) >= _FORMATTED_MAX:
            _FORMATTED.clear()  # the instants of the commands at hand come back at once
        _FORMATTED[value] = text
    return text


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class MessageCommand:
    """One message: what a webhook request, an insert or a chat message becomes.

    ``entity``, ``type``, ``source`` and tag names are lower-case; ``date`` is timezone-aware.
    """

    entity: str
    type: str = "webhook"
    source: str = ""
    severity: Severity | None = None
    date: datetime = field(default_factory=utcnow)
    message: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The shape ``debug=true`` answers with and the API returns."""
        return {
            "entity": self.entity,
            "type": self.type,
            "source": self.source,
            "severity": self.severity.name if self.severity is not None else None,
            "date": format_iso_date(self.date),
            "message": self.message,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageCommand:
        """Inverse of :meth:`to_json` (for stored commands and replays)."""
        severity = data.get("severity")
        return cls(
            entity=data["entity"],
            type=data.get("type") or "webhook",
            source=data.get("source") or "",
            severity=Severity.parse(severity) if severity not in (None, "") else None,
            date=parse_iso_date(data["date"]) if data.get("date") else utcnow(),
            message=data.get("message") or "",
            tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()},
        )
