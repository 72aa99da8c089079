"""The alerts and rules API: ATSD's alert paths plus rule diagnostics (Blueprint ``bp``).

ATSD-compatible (``spec/api.md``), each a ``POST`` with a JSON array of queries whose results
are concatenated in order: ``/api/v1/alerts/query`` (open alerts), ``/api/v1/alerts/update``
(acknowledge; beyond ATSD an optional ``reason``), ``/api/v1/alerts/history/query`` (closed
alerts). Beyond ATSD, ``/api/v1/alerts/resolve`` closes alerts by hand. Diagnostics: ``GET
/api/v1/rules``, ``/api/v1/rules/windows``, ``/api/v1/rules/errors``,
``/api/v1/notifications?limit=N``. All need role ``api`` (or ``admin``).

Beyond ATSD, each open alert carries ``silenceId``: the silence holding its notifications, or
null.

Decisions where ATSD leaves a choice:
- The date range of an open-alert query applies to ``lastEventDate`` (an alert that is still
  firing in the range); of a history query to ``date`` (when the alert closed). ``endDate``
  may be ``now``.
- Query objects are parsed and checked by :mod:`webhook.api.alert_query` (decisions there).
- ``/alerts/update`` checks every item before changing anything and answers
  ``{"updated": [ids], "unknown": [ids]}``; ``/alerts/resolve`` likewise answers
  ``{"resolved": [ids], "unknown": [ids]}`` (unknown: no open alert has that id).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from rules.command import format_iso_date
from rules.definitions.model import NotificationSpec, Rule
from rules.engine import MAX_REASON
from rules.engine.rule_engine import RuleEngine
from rules.silences import facts_of
from rules.store import outbox as outbox_store
from webhook.api.alert_query import json_body, parse_queries
from webhook.context import current_ctx, require_role
from webhook.errors import ApiError, bad_request

bp = Blueprint("api_rules", __name__)

OPEN_FIELDS = ("id", "rule", "entity", "metric", "tags", "severity", "repeatCount", "textValue",
               "openDate", "lastEventDate", "acknowledged", "silenceId")
HISTORY_FIELDS = ("entity", "metric", "rule", "ruleExpression", "ruleFilter", "severity", "tags",
                  "repeatCount", "alert", "window", "type", "date", "alertOpenDate",
                  "alertDuration", "receivedDate")
MAX_LIMIT = 10_000


def _engine() -> RuleEngine:
    engine = current_ctx().engine
    if engine is None:
        raise ApiError(503, "the rule engine is not running in this instance")
    return engine


@bp.post("/api/v1/alerts/query")
@require_role("api")
def alerts_query() -> Response:
    queries = parse_queries(request, history=False)
    engine = _engine()
    now = engine.clock.now()
    alerts = engine.open_alerts()
    for alert in alerts:  # beyond ATSD: the silence holding its notifications, if any
        silence = engine.silence_covering(facts_of(alert), now)
        alert["silenceId"] = silence.id if silence is not None else None
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
    items = _alert_items(json_body(request), {"acknowledged"},
                         '{"id": N, "acknowledged": true|false, "reason": "..."}')
    changes: list[tuple[int, bool, str]] = []
    for index, (alert_id, item, reason) in enumerate(items):
        ack = item.get("acknowledged", False)
        if not isinstance(ack, bool):
            raise bad_request(f"item {index}: 'acknowledged' must be true or false")
        changes.append((alert_id, ack, reason))
    engine = _engine()
    who = _who()  # the living alert message names who acknowledged, and why
    updated = [i for i, ack, reason in changes
               if engine.acknowledge(i, ack, by=who, reason=reason or None)]
    unknown_ids = [i for i, _, _ in changes if i not in updated]
    return jsonify({"updated": updated, "unknown": unknown_ids})


@bp.post("/api/v1/alerts/resolve")
@require_role("api")
def alerts_resolve() -> Response:
    """Beyond ATSD: close open alerts by hand, as ``resolve`` in chat and the web UI do (to
    history as ``RESOLVED`` with who and why; a ``thread`` alert gets a note and an edit)."""
    items = _alert_items(json_body(request), set(), '{"id": N, "reason": "..."}')
    engine = _engine()
    who = _who()
    resolved = [i for i, _, reason in items if engine.resolve(i, by=who, reason=reason)]
    unknown_ids = [i for i, _, _ in items if i not in resolved]
    return jsonify({"resolved": resolved, "unknown": unknown_ids})


def _who() -> str:
    return f"{g.atsd_user.name} (API)"


def _alert_items(body: Any, extra: set[str], shape: str) -> list[tuple[int, dict[str, Any], str]]:
    """Every item of an alert change checked before anything changes: (id, item, reason)."""
    if not isinstance(body, list):
        raise bad_request(f"expected a JSON array of {shape}")
    known = {"id", "reason"} | extra
    found: list[tuple[int, dict[str, Any], str]] = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            raise bad_request(f"item {index}: expected an object")
        unknown = sorted(set(item) - known)
        if unknown:
            raise bad_request(f"item {index}: unknown field {unknown[0]!r}; known: "
                              f"{', '.join(sorted(known, key=lambda k: (k != 'id', k)))}")
        alert_id, reason = item.get("id"), item.get("reason", "")
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            raise bad_request(f"item {index}: 'id' must be an integer alert id")
        if not isinstance(reason, str):
            raise bad_request(f"item {index}: 'reason' must be a string")
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON:
            raise bad_request(f"item {index}: 'reason' is longer than {MAX_REASON} characters")
        found.append((alert_id, item, reason))
    return found


# -- rule diagnostics -------------------------------------------------------------------


@bp.get("/api/v1/rules")
@require_role("api")
def rules_list() -> Response:
    ctx = current_ctx()
    ruleset = ctx.ruleset
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
    ruleset = ctx.ruleset
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


def _notification(spec: NotificationSpec) -> dict[str, Any]:
    every = spec.repeat_every
    return {
        "endpoint": spec.endpoint, "name": spec.name, "enabled": spec.enabled,
        **{t: {"enabled": spec.trigger(t).enabled, "text": spec.trigger(t).text}
           for t in ("open", "repeat", "cancel")},
        "repeat_every": "all" if every.kind == "all" else {every.kind: every.every},
        "delay_open": spec.delay_open_seconds, "room": spec.room, "sync_reply": spec.sync_reply,
    }

