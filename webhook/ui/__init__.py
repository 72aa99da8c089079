"""The operator's web UI: server-rendered pages over the store, no build step.

``bp`` serves ``/ui/...``; :func:`install` registers it on an app together with what the pages
need (:class:`~webhook.ui.context.UiServices`) and the ``/`` redirect. Templates live in
``webhook/templates/ui/``, the stylesheet and the one small script in ``webhook/static/``.

Pages: login, overview, webhooks (+ detail, Replay), incidents, messages (search), alerts
(Acknowledge / Unacknowledge), alert history, windows, rules (view, validate, Import, export,
Dry run), notifications (attempts, Retry now), status.

Times are rendered as ``<time datetime="...Z">`` in UTC and turned into the viewer's zone by
``static/ui.js``; without JavaScript the UTC text stays.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, redirect, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from webhook.ui.context import RuleFileCheck, UiServices
from webhook.ui.queries import severity_name

__all__ = ["RuleFileCheck", "UiServices", "bp", "install"]

EXTENSION = "atsd_ui"

bp = Blueprint(
    "ui", __name__, url_prefix="/ui",
    template_folder="../templates", static_folder="../static", static_url_path="/static",
)


def install(app: Flask, services: UiServices, *, secret_key: str | None = None,
            secure_cookie: bool = False) -> None:
    """Register the UI on ``app``. Without ``secret_key`` sessions last until a restart."""
    app.extensions[EXTENSION] = services
    if not app.secret_key:
        app.secret_key = secret_key or secrets.token_urlsafe(32)
    app.config.update(
        SESSION_COOKIE_NAME="atsd_bot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookie,
    )
    app.jinja_env.autoescape = True
    if "ui" not in app.blueprints:
        app.register_blueprint(bp)
    if "/" not in {rule.rule for rule in app.url_map.iter_rules()}:
        app.add_url_rule("/", "root", _root)


def _root() -> Response:
    return redirect(url_for("ui.overview"))


@bp.app_template_filter("utc")
def time_tag(value: datetime | str | None) -> Markup:
    """``<time datetime=ISO>`` with the UTC text as the no-JavaScript fallback."""
    if not value:  # None, "", or a missing field (jinja's Undefined)
        return Markup("")
    if isinstance(value, str):
        return Markup('<time datetime="{0}">{0}</time>').format(value)
    utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    iso = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return Markup('<time datetime="{}">{}</time>').format(
        iso, utc.strftime("%Y-%m-%d %H:%M:%S UTC"))


@bp.app_template_filter("severity")
def severity_filter(code: int | None) -> Markup:
    name = severity_name(code)
    if not name:
        return Markup("")
    return Markup('<span class="sev sev-{}">{}</span>').format(name.lower(), name)


@bp.app_template_filter("pretty")
def pretty_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@bp.app_template_filter("tagtext")
def tag_text(tags: dict[str, Any] | None) -> Markup:
    if not tags:
        return Markup("")
    parts = [Markup('<span class="tag">{}={}</span>').format(k, v) for k, v in tags.items()]
    return Markup(" ").join(parts)


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    from flask import g

    from webhook.ui.security import CSRF_FIELD, csrf_token

    return {
        "csrf_field": lambda: Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, csrf_token()),
        "ui_user": getattr(g, "ui_user", None),
        "esc": escape,
    }


@bp.before_request
def _guard() -> Any:
    from webhook.ui.security import guard

    return guard()


@bp.errorhandler(HTTPException)
def _error_page(error: HTTPException) -> tuple[str, int]:
    from flask import render_template

    code = error.code or 500
    return render_template("ui/error.html", code=code, name=error.name,
                           description=error.description), code


@bp.after_request
def _headers(response: Response) -> Response:
    # Pages show operational data: never cache them, never frame them, no inline scripts.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    return response


from webhook.ui import views, views_alerts, views_rules  # noqa: E402,F401  (register routes)
