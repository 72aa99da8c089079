"""``create_app``: the Flask application with the webhook, the data API and ``/healthz``.

Other parts of the service add their pages and APIs as blueprints. Errors never leave as an
HTML page with a traceback: paths under ``/api/`` answer JSON ``{"error": ...}`` for every
HTTP error, and an unexpected exception is logged with its context and answered with a bare
500 ``{"error": "internal error"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from webhook.api import messages_api
from webhook.context import AppContext, current_ctx
from webhook.errors import ApiError, error_response, json_error
from webhook.receiver import webhook

__all__ = ["create_app"]

log = logging.getLogger(__name__)

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> tuple[Response, int]:
    ctx = current_ctx()
    report = ctx.health()  # the service's HealthState.report; {"status": "ok"} without one
    return jsonify(report), 200 if report.get("status") == "ok" else 503


def create_app(ctx: AppContext, blueprints: Sequence[Blueprint] = ()) -> Flask:
    app = Flask("webhook")
    app.extensions["atsd"] = ctx
    app.config["MAX_CONTENT_LENGTH"] = ctx.settings.http.max_body_bytes
    # Keep tag order as the client sent it; it is easier to read in debug answers.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    for blueprint in (health, webhook, messages_api, *blueprints):
        app.register_blueprint(blueprint)
    app.before_request(_settle_request_log)
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _settle_request_log() -> None:
    # The request log is written in the background (webhook/requestlog.py). Pages and APIs
    # that read it must see every request answered before they were asked, so any request
    # other than a webhook waits for the writer first (immediate when nothing is queued).
    if request.endpoint in ("webhook.receive", "health.healthz"):
        return
    current_ctx().request_log.flush(timeout=2.0)


def _http_error(error: HTTPException) -> Response | HTTPException:
    if not request.path.startswith("/api/"):
        return error
    message = error.description or error.name
    if error.code == 413:
        limit = current_ctx().settings.http.max_body_bytes
        message = f"request body too large: the limit is {limit} bytes"
    elif error.code == 405:
        message = f"method {request.method} is not allowed on {request.path}"
    elif error.code == 404:
        message = f"no such API path: {request.path}"
    headers = {k: v for k, v in error.get_headers() if k.lower() in ("allow", "retry-after")}
    return json_error(error.code or 500, message, headers)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):  # pragma: no cover - routed to _http_error first
        return json_error(error.code or 500, error.description or error.name)
    log.exception("unhandled error on %s %s from %s", request.method, request.path,
                  request.remote_addr)
    return json_error(500, "internal error")
