"""The data and diagnostics API: ATSD's messages query/insert, the request and incident logs.

All need role ``api`` (or ``admin``). ``query`` and ``insert`` take a JSON array as ATSD does
(spec/api.md); a malformed element is a 400 naming its index, and ``insert`` validates every
message before storing any, so a 400 means nothing was inserted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from rules.command import MessageCommand, format_iso_date
from rules.store import diagnostics
from rules.store import messages as message_store
from webhook.api.messages_query import build_insert, build_query
from webhook.context import current_ctx, require_role
from webhook.errors import bad_request

api = Blueprint("atsd_api", __name__)
ROLE = "api"


def _limit(default: int) -> int:
    raw = request.args.get("limit", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"limit: expected an integer, got {raw!r}") from None
    if value < 1:
        raise bad_request("limit: must be at least 1")
    return min(value, current_ctx().settings.webhook.request_log_size)


@api.get("/api/v1/webhooks/requests")
@require_role(ROLE)
def list_requests() -> Response:
    ctx = current_ctx()
    ctx.request_log.flush()
    with ctx.db.connect() as conn:
        rows = diagnostics.list_requests(conn, _limit(ctx.settings.webhook.request_log_size))
    return jsonify([_dated(row) for row in rows])


@api.get("/api/v1/webhooks/requests/<int:request_id>")
@require_role(ROLE)
def get_request(request_id: int) -> Response | tuple[Response, int]:
    ctx = current_ctx()
    ctx.request_log.flush()
    with ctx.db.connect() as conn:
        found = diagnostics.get_request(conn, request_id)
    if found is None:
        return jsonify({"error": f"no logged request {request_id}"}), 404
    return jsonify(_dated(found))


@api.get("/api/v1/security/incidents")
@require_role(ROLE)
def list_incidents() -> Response:
    ctx = current_ctx()
    with ctx.db.connect() as conn:
        rows = diagnostics.list_incidents(conn, _limit(ctx.settings.webhook.request_log_size))
    return jsonify([_dated(row) for row in rows])


def _dated(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its times as ISO 8601 UTC text with milliseconds, as ATSD writes dates."""
    return {k: format_iso_date(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _json_array(what: str) -> list[Any]:
    body = request.get_data(cache=True)
    if not body.strip():
        raise bad_request(f"{what}: expected a JSON array in the body")
    from webhook.body import load_json

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(f"{what}: body is not valid UTF-8") from None
    document = load_json(text, "request body", numbers_as_text=False)
    if isinstance(document, dict):
        document = [document]  # a single object is forgiven, as ATSD does
    if not isinstance(document, list):
        raise bad_request(f"{what}: expected a JSON array of objects")
    return document


@api.post("/api/v1/messages/query")
@require_role(ROLE)
def query_messages() -> Response:
    ctx = current_ctx()
    queries = [build_query(q, i, ctx.clock.now()) for i, q in
               enumerate(_json_array("messages query"))]
    records: list[dict[str, Any]] = []
    with ctx.db.connect() as conn:
        for query in queries:
            for command in message_store.query_messages(conn, query.filter):
                records.append(_record(command))
    return jsonify(records)


def _record(command: MessageCommand) -> dict[str, Any]:
    return {
        "date": format_iso_date(command.date),
        "type": command.type,
        "source": command.source,
        "entity": command.entity,
        "severity": command.severity.name if command.severity is not None else None,
        "tags": command.tags,
        "message": command.message,
    }


@api.post("/api/v1/messages/insert")
@require_role(ROLE)
def insert_messages() -> Response:
    ctx = current_ctx()
    now = ctx.clock.now()
    messages = [build_insert(m, i, now) for i, m in enumerate(_json_array("messages insert"))]
    # one transaction (one fsync) for the request: all its messages are stored, or none
    with ctx.ingestor.batch():
        results = [ctx.ingestor.accept(command, path="api", persist=persist)
                   for command, persist in messages]
    stored = sum(accepted.message_id is not None for accepted in results)
    return jsonify({"status": "ok", "received": len(messages), "stored": stored})
