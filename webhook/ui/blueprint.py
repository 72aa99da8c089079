"""The UI's blueprint ``bp`` (``/ui/...``): template filters, the login guard, error pages,
security headers, and the request helpers every page shares.

The page modules (:mod:`~webhook.ui.views`, :mod:`~webhook.ui.views_alerts`,
:mod:`~webhook.ui.views_rules`) register their routes on ``bp``; :func:`webhook.ui.install`
imports them and registers ``bp`` on an app.

Times are rendered as ``<time datetime="...Z">`` in UTC and turned into the viewer's zone by
``static/ui.js``; without JavaScript the UTC text stays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, g, render_template, request
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from rules.clock import aware
from rules.command import Severity
from rules.engine import MAX_REASON
from rules.store.reports import PAGE
from webhook.ui.security import CSRF_FIELD, csrf_token, guard

bp = Blueprint(
    "ui", __name__, url_prefix="/ui",
    template_folder="../templates", static_folder="../static", static_url_path="/static",
)


@bp.app_template_filter("utc")
def time_tag(value: datetime | str | None) -> Markup:
    """``<time datetime=ISO>`` with the UTC text as the no-JavaScript fallback."""
    if not value:  # None, "", or a missing field (jinja's Undefined)
        return Markup("")
    if isinstance(value, str):
        return Markup('<time datetime="{0}">{0}</time>').format(value)
    utc = aware(value).astimezone(UTC)
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
    return {
        "csrf_field": lambda: Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, csrf_token()),
        "ui_user": getattr(g, "ui_user", None),
        "esc": escape,
        "max_reason": MAX_REASON,  # the reason fields' maxlength, as chat and the API allow
    }


@bp.before_request
def _guard() -> Any:
    return guard()


@bp.errorhandler(HTTPException)
def _error_page(error: HTTPException) -> tuple[str, int]:
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


def severity_name(code: int | None) -> str:
    if code is None:
        return ""
    try:
        return Severity(code).name
    except ValueError:
        return str(code)


# -- request helpers the pages share ------------------------------------------------------


def limit_arg(default: int = PAGE) -> int:
    try:
        return max(1, min(int(request.args.get("limit", default)), 1000))
    except ValueError:
        return default


def text_arg(name: str) -> str:
    # PostgreSQL refuses NUL in text parameters; no stored value contains one anyway.
    return request.args.get(name, "").replace("\x00", "").strip()[:512]
