"""Validate the JSON of ``/api/v1/messages/query`` and ``/insert`` into store filters and commands.

Every problem is a 400 naming the element (``query[1].startDate: ...``). Dates are ISO 8601
with a zone, or ``now`` optionally followed by ``- N * UNIT`` / ``+ N * UNIT`` (ATSD's
calendar syntax, the common subset). ``interval`` alone ends now (as in ATSD).
An ``expression`` that fails on one record (e.g. a type mismatch) does not match that record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rules.command import MAX_TAGS, MessageCommand, Severity, parse_iso_date
from rules.store.messages import MessageFilter
from webhook.body import normalize_name
from webhook.errors import ApiError, bad_request
from webhook.parse import check_storable

log = logging.getLogger(__name__)

UNITS = {"MILLISECOND": 0.001, "SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400,
         "WEEK": 7 * 86400}
_NOW_EXPR = re.compile(r"^now\s*(?:([+-])\s*(\d+(?:\.\d+)?)\s*\*\s*([a-z]+))?$", re.IGNORECASE)
_LIMITS = {"entity": 512, "type": 256, "source": 512}


@dataclass
class Query:
    filter: MessageFilter


def _fail(where: str, reason: str) -> ApiError:
    return bad_request(f"{where}: {reason}")


def _text(q: dict[str, Any], key: str, where: str) -> str | None:
    value = q.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"{where}.{key}", f"expected a string, got {json_type(value)}")
    return value


def json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean", str: "a string",
            type(None): "null"}.get(type(value), "a number")


def parse_date(text: str, where: str, now: datetime) -> datetime:
    match = _NOW_EXPR.match(text.strip())
    if match:
        sign, count, unit = match.groups()
        if sign is None:
            return now
        step = UNITS.get(unit.upper().rstrip("S")) if unit else None
        if step is None:
            raise _fail(where, f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
        delta = timedelta(seconds=float(count) * step)
        return now - delta if sign == "-" else now + delta
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None


def _interval(value: Any, where: str) -> timedelta:
    if not isinstance(value, dict):
        raise _fail(where, 'expected {"count": N, "unit": "MINUTE|HOUR|DAY|WEEK"}')
    count, unit = value.get("count"), value.get("unit")
    if isinstance(count, bool) or not isinstance(count, (int, float)) or count <= 0:
        raise _fail(f"{where}.count", "expected a positive number")
    step = UNITS.get(str(unit).upper())
    if step is None:
        raise _fail(f"{where}.unit", f"expected one of {', '.join(UNITS)}")
    try:
        return timedelta(seconds=float(count) * step)
    except OverflowError:
        raise _fail(f"{where}.count", "too large") from None


def _range(q: dict[str, Any], where: str, now: datetime) -> tuple[datetime, datetime]:
    start_text, end_text = _text(q, "startDate", where), _text(q, "endDate", where)
    start = parse_date(start_text, f"{where}.startDate", now) if start_text else None
    end = parse_date(end_text, f"{where}.endDate", now) if end_text else None
    if "interval" in q:
        span = _interval(q["interval"], f"{where}.interval")
        try:
            if start is None:
                end = end or now
                start = end - span
            elif end is None:
                end = start + span
        except OverflowError:
            raise _fail(f"{where}.interval", "out of the date range") from None
    if start is None or end is None:
        raise _fail(where, "give startDate and endDate, or one of them with interval")
    return start, end


def _severity(value: Any, where: str) -> Severity:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _fail(where, "expected a severity name or code")
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None


def _entities(q: dict[str, Any], where: str) -> tuple[str, ...]:
    entity = _text(q, "entity", where)
    if entity and entity.strip():
        return (entity.strip().lower(),)
    entities = q.get("entities")
    if entities is None:
        raise _fail(where, "entity or entities is required")
    if not isinstance(entities, list) or not entities or not all(
            isinstance(e, str) and e.strip() for e in entities):
        raise _fail(f"{where}.entities", "expected a non-empty array of names or patterns")
    return tuple(e.strip().lower() for e in entities)


def _tag_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, "expected an object of name: value")
    tags: dict[str, str] = {}
    for name, raw in value.items():
        if isinstance(raw, (dict, list)):
            raise _fail(f"{where}.{name}", "expected a string, number or boolean")
        if raw is None:
            continue
        text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        key = normalize_name(str(name))
        if key and text.strip():
            tags[key] = text.strip()
    return tags


def build_query(q: Any, index: int, now: datetime) -> Query:
    where = f"query[{index}]"
    if not isinstance(q, dict):
        raise _fail(where, "expected an object")
    start, end = _range(q, where, now)
    limit = q.get("limit", 1000)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise _fail(f"{where}.limit", "expected an integer")
    severities: set[int] | None = None
    if q.get("severity") is not None:
        severities = {int(_severity(q["severity"], f"{where}.severity"))}
    if q.get("severities") is not None:
        if not isinstance(q["severities"], list):
            raise _fail(f"{where}.severities", "expected an array of names or codes")
        severities = (severities or set()) | {
            int(_severity(s, f"{where}.severities[{i}]")) for i, s in enumerate(q["severities"])}
    minimum = q.get("minSeverity")
    kind, source = _text(q, "type", where), _text(q, "source", where)
    return Query(MessageFilter(
        entities=_entities(q, where), start=start, end=end,
        type=kind.strip().lower() if kind else None,
        source=source.strip().lower() if source is not None else None,
        tags=_tag_map(q.get("tags"), f"{where}.tags"),
        severities=frozenset(severities) if severities is not None else None,
        min_severity=int(_severity(minimum, f"{where}.minSeverity"))
        if minimum is not None else None,
        limit=limit,
        predicate=_predicate(_text(q, "expression", where), f"{where}.expression", now),
    ))


def _predicate(text: str | None, where: str, now: datetime) -> Any:
    if text is None or not text.strip():
        return None
    try:
        from rules.expr import Environment, compile_expression
    except ImportError:
        raise _fail(where, "expression filter not available") from None
    try:
        expression = compile_expression(text)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None

    def test(command: MessageCommand) -> bool:
        fields = {"entity": command.entity, "type": command.type, "source": command.source,
                  "message": command.message, "tags": command.tags, "date": command.date,
                  "severity": command.severity.name if command.severity is not None else None}
        try:
            return bool(expression.test(Environment(fields=fields, now=now)))
        except Exception as exc:  # an evaluation error: this record does not match
            log.debug("expression %r failed on a message: %s", text, exc)
            return False

    return test


def build_insert(m: Any, index: int, now: datetime) -> tuple[MessageCommand, bool]:
    """``(command, persist)`` for one element of the insert array."""
    try:
        return _insert(m, "message", now)
    except ApiError:  # again with the element's index in the message (pure: the same error)
        return _insert(m, f"message[{index}]", now)


def _insert(m: Any, where: str, now: datetime) -> tuple[MessageCommand, bool]:
    # Runs on every message of the insert API: the good path builds no text from ``where``
    # (build_insert names the element only when it fails).
    if not isinstance(m, dict):
        raise _fail(where, "expected an object")
    entity = normalize_name(_text(m, "entity", where) or "")
    if not entity:
        raise _fail(where, "entity is required")
    tags = _tag_map(m.get("tags"), f"{where}.tags")
    if len(tags) > MAX_TAGS:
        raise _fail(f"{where}.tags", f"{len(tags)} tags, at most {MAX_TAGS}")
    message = (_text(m, "message", where) or "").strip()
    if not message and not tags:
        raise _fail(where, "a message needs text or tags (ATSD would drop it silently)")
    date_text = _text(m, "date", where)
    severity = m.get("severity")
    persist = m.get("persist", True)
    if not isinstance(persist, bool):
        raise _fail(f"{where}.persist", "expected true or false")
    kind, source = _text(m, "type", where), _text(m, "source", where)
    command = MessageCommand(
        entity=entity,
        type=(kind or "").strip().lower() or "webhook",
        source=(source or "").strip().lower(),
        severity=_severity(severity, f"{where}.severity") if severity is not None else None,
        date=_insert_date(date_text, where, now) if date_text else now,
        message=message,
        tags=tags,
    )
    if (len(command.entity) > _LIMITS["entity"] or len(command.type) > _LIMITS["type"]
            or len(command.source) > _LIMITS["source"]):
        for name, limit in _LIMITS.items():
            if len(getattr(command, name)) > limit:
                raise _fail(f"{where}.{name}", f"longer than {limit} characters")
    try:
        check_storable(command)
    except ApiError as exc:
        raise _fail(where, exc.message) from None
    return command, persist


# The last ISO date an insert parsed, with its value: the messages of a request often share
# their date text, and parsing it was a quarter of build_insert. Replaced whole, so threads
# can only miss it. Dates relative to now (``now - 1 * HOUR``) are never kept.
_last_date: tuple[str, datetime] = ("", datetime.min)


def _insert_date(text: str, where: str, now: datetime) -> datetime:
    global _last_date  # noqa: PLW0603 - a one-entry memo, replaced whole
    last = _last_date
    if last[0] == text:
        return last[1]
    parsed = parse_date(text, f"{where}.date", now)
    if not _NOW_EXPR.match(text.strip()):
        _last_date = (text, parsed)
    return parsed
