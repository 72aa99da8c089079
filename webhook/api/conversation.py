"""Silences and ``why`` over HTTP (Blueprint ``bp``; role ``api`` or ``admin``).

- ``GET /api/v1/silences`` (``?state=all`` adds the ended ones): a JSON array of
  ``{"id", "matchers", "author", "comment", "room", "startsAt", "endsAt", "state"}``;
- ``POST /api/v1/silences`` ``{"matchers": {"entity": "db1"}, "duration": "2h", "comment":
  "..."}``: ``201`` with the new silence (and ``matchesOpenAlerts``);
- ``DELETE /api/v1/silences/ID``: ends it now (``200`` with the silence); ``404`` for an
  unknown id, ``409`` for one that already ended;
- ``GET /api/v1/messages/ID/explain``: what the rules did with stored message ``ID``, from what
  the engine recorded then (:mod:`rules.engine.explain`).

Matchers and durations are read by the same parsers as the chat commands; a fault is a
``400`` whose text names it. The author of an API silence is ``<user> (API)``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from rules.definitions.durations import MAX_SILENCE, DurationError, parse_span
from rules.engine.explain import explain
from rules.engine.rule_engine import RuleEngine
from rules.silences import MAX_COMMENT, MatcherError, facts_of, matches_all, parse_mapping
from webhook.api.alert_query import json_body
from webhook.context import current_ctx, require_role
from webhook.errors import ApiError, bad_request

bp = Blueprint("api_conversation", __name__)

POST_FIELDS = ("matchers", "duration", "comment")


def _engine() -> RuleEngine:
    engine = current_ctx().engine
    if engine is None:
        raise ApiError(503, "the rule engine is not running in this instance")
    return engine


@bp.get("/api/v1/silences")
@require_role("api")
def silences() -> Response:
    state = request.args.get("state", "active")
    if state not in ("active", "all"):
        raise bad_request(f"state: expected active or all, got {state[:40]!r}")
    engine = _engine()
    now = engine.clock.now()
    found = engine.list_silences(include_ended=state == "all", limit=1000)
    return jsonify([s.to_json(now) for s in found])


@bp.post("/api/v1/silences")
@require_role("api")
def create_silence() -> tuple[Response, int]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise bad_request('expected an object {"matchers": {...}, "duration": "2h", '
                          '"comment": "..."}')
    unknown = sorted(set(body) - set(POST_FIELDS))
    if unknown:
        raise bad_request(f"unknown field {unknown[0]!r}; known: {', '.join(POST_FIELDS)}")
    try:
        matchers = parse_mapping(body.get("matchers"))
        span = parse_span(body.get("duration"), maximum=MAX_SILENCE)  # type: ignore[arg-type]
    except (MatcherError, DurationError) as exc:
        raise bad_request(str(exc)) from None
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise bad_request(f"comment: expected text of at most {MAX_COMMENT} characters")
    engine = _engine()
    made = engine.create_silence(matchers, span, author=f"{g.atsd_user.name} (API)",
                                 comment=comment.strip())
    covered = [a for a in engine.open_alerts() if matches_all(matchers, facts_of(a))]
    answer: dict[str, Any] = made.to_json(engine.clock.now())
    answer["matchesOpenAlerts"] = [a.get("id") for a in covered]
    return jsonify(answer), 201


@bp.delete("/api/v1/silences/<int:silence_id>")
@require_role("api")
def expire_silence(silence_id: int) -> Response:
    engine = _engine()
    ended, _note = engine.expire_silence(silence_id, by=f"{g.atsd_user.name} (API)")
    if ended is None:
        known = engine.silence(silence_id)
        if known is None:
            raise ApiError(404, f"no silence #{silence_id}")
        raise ApiError(409, f"silence #{silence_id} already ended")
    return jsonify(ended.to_json(engine.clock.now()))


@bp.get("/api/v1/messages/<int:message_id>/explain")
@require_role("api")
def explain_message(message_id: int) -> Response:
    with current_ctx().db.connect() as conn:
        found = explain(conn, message_id)
    if found is None:
        raise ApiError(404, f"no stored message {message_id}")
    return jsonify(found.to_json())
