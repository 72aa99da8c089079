"""The alerts and rules API: ATSD's alert paths plus rule diagnostics (Blueprint ``bp``).

ATSD-compatible (``spec/api.md``), each a ``POST`` with a JSON array of queries whose results
are concatenated in order: ``/api/v1/alerts/query`` (open alerts), ``/api/v1/alerts/update``
(acknowledge), ``/api/v1/alerts/history/query`` (closed alerts). Diagnostics: ``GET
/api/v1/rules``, ``/api/v1/rules/windows``, ``/api/v1/rules/errors``,
``/api/v1/notifications?limit=N``. All need role ``api`` (or ``admin``).

Decisions where ATSD leaves a choice:
- The date range of an open-alert query applies to ``lastEventDate`` (an alert that is still
  firing in the range); of a history query to ``date`` (when the alert closed). ``endDate``
  may be ``now``.
- An unknown query field is a 400 naming it (a typo would otherwise widen the query silently).
- ``/alerts/update`` checks every item before changing anything and answers
  ``{"updated": [ids], "unknown": [ids]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Request, Response, jsonify, request

from rules import outbox as outbox_store
from rules.command import Severity, format_iso_date, parse_iso_date
from rules.model import Rule
from rules.wildcard import match
from webhook.auth import require_role
from webhook.context import current_ctx
from webhook.errors import ApiError, bad_request

bp = Blueprint("api_rules", __name__)

OPEN_FIELDS = ("id", "rule", "entity", "metric", "tags", "severity", "repeatCount", "textValue",
               "openDate", "lastEventDate", "acknowledged")
HISTORY_FIELDS = ("entity", "metric", "rule", "ruleExpression", "ruleFilter", "severity", "tags",
                  "repeatCount", "alert", "window", "type", "date", "alertOpenDate",
                  "alertDuration", "receivedDate")
MAX_LIMIT = 10_000


def _engine() -> Any:
    engine = current_ctx().engine
    if engine is None:
        raise ApiError(503, "the rule engine is not running in this instance")
    return engine


@bp.post("/api/v1/alerts/query")
@require_role("api")
def alerts_query() -> Response:
    queries = parse_queries(request, history=False)
    alerts = _engine().open_alerts()
    found: list[dict[str, Any]] = []
    for query in queries:
        found += query.select(alerts, date_field="lastEventDate", fields=OPEN_FIELDS)
    return jsonify(found)


@bp.post("/api/v1/alerts/history/query")
@require_role("api")
def alerts_history_query() -> Response:
    queries = parse_queries(request, history=True)
    engine = _engine()
    found: list[dict[str, Any]] = []
    for query in queries:
        rows = engine.alert_history(rules=query.rule_names(), since=query.start,
                                    until=query.end, limit=0)
        found += query.select(rows, date_field="date", fields=HISTORY_FIELDS)
    return jsonify(found)


@bp.post("/api/v1/alerts/update")
@require_role("api")
def alerts_update() -> Response:
    body = json_body(request)
    if not isinstance(body, list):
        raise bad_request('expected a JSON array of {"id": N, "acknowledged": true|false}')
    changes: list[tuple[int, bool]] = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise bad_request(f"item {index}: expected an object")
        unknown = sorted(set(item) - {"id", "acknowledged"})
        if unknown:
            raise bad_request(f"item {index}: unknown field {unknown[0]!r}; known: id, "
                              "acknowledged")
        alert_id, ack = item.get("id"), item.get("acknowledged", False)
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            raise bad_request(f"item {index}: 'id' must be an integer alert id")
        if not isinstance(ack, bool):
            raise bad_request(f"item {index}: 'acknowledged' must be true or false")
        changes.append((alert_id, ack))
    engine = _engine()
    updated = [i for i, ack in changes if engine.acknowledge(i, ack)]
    unknown_ids = [i for i, _ in changes if i not in updated]
    return jsonify({"updated": updated, "unknown": unknown_ids})


# -- the query objects ------------------------------------------------------------------

COMMON_KEYS = ("entity", "entities", "startDate", "endDate", "interval", "limit")
OPEN_KEYS = COMMON_KEYS + ("rules", "metrics", "severities", "minSeverity", "acknowledged")
HISTORY_KEYS = COMMON_KEYS + ("rule", "rules", "metric")
_INTERVAL_UNITS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 604800}


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
    if history:
        rules += _names(item, "rule", where)
        metrics += _names(item, "metric", where)
    severities = None
    if "severities" in item:
        severities = frozenset(_severity(v, f"{where}: severities")
                               for v in _list(item, "severities", where))
    acknowledged = item.get("acknowledged")
    if acknowledged is not None and not isinstance(acknowledged, bool):
        raise bad_request(f"{where}: acknowledged must be true or false")
    limit = item.get("limit", 1000)
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise bad_request(f"{where}: limit must be a whole number (<= 0: no limit)")
    return AlertQuery(
        entities=_entities(item, where), start=start, end=end, limit=limit, rules=rules,
        metrics=metrics, severities=severities,
        min_severity=(_severity(item["minSeverity"], f"{where}: minSeverity")
                      if item.get("minSeverity") is not None else None),
        acknowledged=acknowledged,
    )


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
            or unit not in _INTERVAL_UNITS:
        raise bad_request(f"{where}: interval needs a count >= 0 and a unit of "
                          f"{', '.join(_INTERVAL_UNITS)}")
    try:
        return timedelta(seconds=count * _INTERVAL_UNITS[unit])
    except OverflowError:
        raise bad_request(f"{where}: interval count {count} is too large") from None


# -- rule diagnostics -------------------------------------------------------------------


@bp.get("/api/v1/rules")
@require_role("api")
def rules_list() -> Response:
    ctx = current_ctx()
    ruleset = ctx.extras.get("ruleset")
    engine = ctx.engine
    loaded: Iterable[Rule] = (ruleset.rules() if ruleset is not None
                              else (engine.rules() if engine is not None else ()))
    # running: enabled, compiled and in force in the engine (a disabled rule is listed only)
    return jsonify([rule_to_dict(r) | {"running": engine is not None
                                       and engine.compiled(r.name) is not None}
                    for r in loaded])


@bp.get("/api/v1/rules/windows")
@require_role("api")
def rules_windows() -> Response:
    windows = _engine().windows()
    rule = request.args.get("rule")
    return jsonify([w for w in windows if rule is None or w.get("rule") == rule])


@bp.get("/api/v1/rules/errors")
@require_role("api")
def rules_errors() -> Response:
    ctx = current_ctx()
    ruleset = ctx.extras.get("ruleset")
    last = ruleset.last() if ruleset is not None else None
    load = {
        "at": format_iso_date(last.at) if last is not None else None,
        "ok": last.ok if last is not None else None,
        "summary": last.summary() if last is not None else None,
        "issues": [i.to_json() for i in last.issues] if last is not None else [],
    }
    runtime = _engine().rule_errors(_limit(100))
    return jsonify({"load": load, "runtime": runtime})


@bp.get("/api/v1/notifications")
@require_role("api")
def notifications() -> Response:
    limit = _limit(100)
    with current_ctx().db.connect() as conn:
        rows = outbox_store.recent(conn, limit)
        for row in rows:
            row["attempt_log"] = outbox_store.attempts(conn, row["id"])
    return jsonify(rows)


def _limit(default: int) -> int:
    raw = request.args.get("limit", str(default))
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"limit: expected a whole number, got {raw!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise bad_request(f"limit: expected 1 to {MAX_LIMIT}, got {value}")
    return value


# -- rules as JSON (the native YAML shape) ------------------------------------------------


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The rule in the field names of the YAML format, plus the file it came from."""
    return {
        "name": rule.name, "description": rule.description, "enabled": rule.enabled,
        "metric": rule.metric, "type": list(rule.types), "source": list(rule.sources),
        "entities": list(rule.entities), "filter": rule.filter, "window": rule.window.text,
        "check_on_exit": rule.check_on_exit, "group_by_entity": rule.group_by_entity,
        "group_by_tags": (rule.group_by_tags if isinstance(rule.group_by_tags, str)
                          else list(rule.group_by_tags)),
        "condition": rule.condition, "severity": rule.severity,
        "time_offset": rule.time_offset_seconds,
        "notifications": [_notification(n) for n in rule.notifications],
        "file": rule.origin,
    }


def _notification(spec: Any) -> dict[str, Any]:
    every = spec.repeat_every
    return {
        "endpoint": spec.endpoint, "name": spec.name, "enabled": spec.enabled,
        **{t: {"enabled": spec.trigger(t).enabled, "text": spec.trigger(t).text}
           for t in ("open", "repeat", "cancel")},
        "repeat_every": "all" if every.kind == "all" else {every.kind: every.every},
        "delay_open": spec.delay_open_seconds, "room": spec.room, "sync_reply": spec.sync_reply,
    }

