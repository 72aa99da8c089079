"""The query objects of the ATSD alerts API (``spec/api.md``): parsed, checked, applied.

:func:`parse_queries` turns a request's JSON array into :class:`AlertQuery` objects or raises a
400 that names the query and the field; :meth:`AlertQuery.select` filters alert records.

Decisions where ATSD leaves a choice:
- An unknown query field is a 400 naming it (a typo would otherwise widen the query silently).
- ``endDate``/``startDate`` may be ``now``; one of them with ``interval`` is enough.
- ``limit`` defaults to 1000; zero or less means no limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Request

from rules.command import Severity, parse_iso_date
from rules.definitions.durations import ATSD_UNIT_SECONDS
from rules.expr.wildcard import match
from webhook.context import current_ctx
from webhook.errors import bad_request

COMMON_KEYS = ("entity", "entities", "startDate", "endDate", "interval", "limit")
OPEN_KEYS = COMMON_KEYS + ("rules", "metrics", "severities", "minSeverity", "acknowledged")
HISTORY_KEYS = COMMON_KEYS + ("rule", "rules", "metric")


@dataclass(frozen=True)
class AlertQuery:
    """One query object of an alerts request, checked; :meth:`select` applies it."""

    entities: tuple[str, ...]
    start: datetime
    end: datetime
    limit: int
    rules: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    severities: frozenset[int] | None = None
    min_severity: int | None = None
    acknowledged: bool | None = None

    def rule_names(self) -> tuple[str, ...]:
        return self.rules

    def select(self, records: Iterable[Mapping[str, Any]], *, date_field: str,
               fields: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for record in records:
            if self._matches(record, date_field):
                found.append({name: record.get(name) for name in fields})
                if 0 < self.limit <= len(found):
                    break
        return found

    def _matches(self, record: Mapping[str, Any], date_field: str) -> bool:
        entity = str(record.get("entity", ""))
        if not any(match(p, entity, ignore_case=True) for p in self.entities):
            return False
        if self.rules and record.get("rule") not in self.rules:
            return False
        if self.metrics and record.get("metric") not in self.metrics:
            return False
        if self.acknowledged is not None and bool(record.get("acknowledged")) != self.acknowledged:
            return False
        if self.severities is not None or self.min_severity is not None:
            code = _severity_code(record.get("severity"))
            if self.severities is not None and code not in self.severities:
                return False
            if self.min_severity is not None and code < self.min_severity:
                return False
        raw = record.get(date_field)
        when = parse_iso_date(raw) if isinstance(raw, str) else raw
        return isinstance(when, datetime) and self.start <= when < self.end


def _severity_code(value: Any) -> int:
    try:
        return int(Severity.parse(value)) if value is not None else 0
    except ValueError:
        return 0


def json_body(req: Request) -> Any:
    """The parsed body, None when it is not JSON; nesting too deep for the parser is a 400."""
    try:
        return req.get_json(silent=True, force=True)
    except RecursionError:
        raise bad_request("JSON nested too deeply") from None


def parse_queries(req: Request, *, history: bool) -> list[AlertQuery]:
    """The JSON array of query objects; a 400 that names the query and field otherwise."""
    body = json_body(req)
    if not isinstance(body, list):
        raise bad_request("expected a JSON array of query objects")
    now = current_ctx().clock.now()
    return [_query(item, index, history=history, now=now) for index, item in enumerate(body)]


def _query(item: Any, index: int, *, history: bool, now: datetime) -> AlertQuery:
    where = f"query {index}"
    if not isinstance(item, dict):
        raise bad_request(f"{where}: expected an object")
    allowed = HISTORY_KEYS if history else OPEN_KEYS
    unknown = sorted(set(item) - set(allowed))
    if unknown:
        raise bad_request(f"{where}: unknown field {unknown[0]!r}; known: {', '.join(allowed)}")
    start, end = _dates(item, where, now)
    rules = _names(item, "rules", where)
    metrics = _names(item, "metrics", where)
    if history:  # ATSD's history query names one rule and metric in the singular
        rules += _names(item, "rule", where)
        metrics += _names(item, "metric", where)
    severities = _severities(item, where)
    acknowledged = _acknowledged(item, where)
    limit = _query_limit(item, where)
    return AlertQuery(
        entities=_entities(item, where), start=start, end=end, limit=limit, rules=rules,
        metrics=metrics, severities=severities,
        min_severity=(_severity(item["minSeverity"], f"{where}: minSeverity")
                      if item.get("minSeverity") is not None else None),
        acknowledged=acknowledged,
    )


def _severities(item: Mapping[str, Any], where: str) -> frozenset[int] | None:
    if "severities" not in item:
        return None
    return frozenset(_severity(v, f"{where}: severities")
                     for v in _list(item, "severities", where))


def _acknowledged(item: Mapping[str, Any], where: str) -> bool | None:
    acknowledged = item.get("acknowledged")
    if acknowledged is not None and not isinstance(acknowledged, bool):
        raise bad_request(f"{where}: acknowledged must be true or false")
    return acknowledged


def _query_limit(item: Mapping[str, Any], where: str) -> int:
    limit = item.get("limit", 1000)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise bad_request(f"{where}: limit must be a whole number (<= 0: no limit)")
    return limit


def _list(item: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key)
    if not isinstance(value, list):
        raise bad_request(f"{where}: {key} must be a list")
    return value


def _names(item: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    if key not in item:
        return ()
    value = item[key]
    values = [value] if isinstance(value, str) and not key.endswith("s") else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        kind = "a list of names" if key.endswith("s") else "a name"
        raise bad_request(f"{where}: {key} must be {kind}")
    return tuple(values)


def _entities(item: Mapping[str, Any], where: str) -> tuple[str, ...]:
    entity = item.get("entity")
    if entity is not None:
        if not isinstance(entity, str) or not entity.strip():
            raise bad_request(f"{where}: entity must be a name or a pattern")
        return (entity.strip(),)
    if "entities" in item:
        names = _names(item, "entities", where)
        if names:
            return names
    raise bad_request(f"{where}: entity or entities is required (use \"*\" for all)")


def _severity(value: Any, where: str) -> int:
    try:
        return int(Severity.parse(value))
    except (ValueError, TypeError):
        raise bad_request(f"{where}: unknown severity {value!r}") from None


def _date(value: Any, key: str, where: str, now: datetime) -> datetime:
    if isinstance(value, str) and value.strip().lower() == "now":
        return now
    if not isinstance(value, str):
        raise bad_request(f"{where}: {key} must be an ISO 8601 date with a zone, or now")
    try:
        return parse_iso_date(value)
    except (ValueError, OverflowError) as exc:
        raise bad_request(f"{where}: {key}: {exc}") from None


def _dates(item: Mapping[str, Any], where: str, now: datetime) -> tuple[datetime, datetime]:
    start = _date(item["startDate"], "startDate", where, now) if "startDate" in item else None
    end = _date(item["endDate"], "endDate", where, now) if "endDate" in item else None
    span = _interval(item["interval"], where) if "interval" in item else None
    try:
        if start is not None and end is None and span is not None:
            end = start + span
        elif end is not None and start is None and span is not None:
            start = end - span
    except OverflowError:
        raise bad_request(f"{where}: the interval reaches past the dates Python can hold") from None
    if start is None or end is None:
        raise bad_request(f"{where}: give startDate and endDate, or one of them with interval")
    if end < start:
        raise bad_request(f"{where}: endDate is before startDate")
    return start, end


def _interval(value: Any, where: str) -> timedelta:
    if not isinstance(value, dict):
        raise bad_request(f'{where}: interval must be {{"count": N, "unit": "MINUTE"}}')
    count, unit = value.get("count"), str(value.get("unit", "")).upper()
    if isinstance(count, bool) or not isinstance(count, (int, float)) or count < 0 \
            or unit not in ATSD_UNIT_SECONDS:
        raise bad_request(f"{where}: interval needs a count >= 0 and a unit of "
                          f"{', '.join(ATSD_UNIT_SECONDS)}")
    try:
        return timedelta(seconds=count * ATSD_UNIT_SECONDS[unit])
    except OverflowError:
        raise bad_request(f"{where}: interval count {count} is too large") from None
