"""``install``: the web UI on an app, with the services its pages use.

Importing the page modules here registers their routes on the blueprint before it is
registered on an app.
"""

from __future__ import annotations

import secrets

from flask import Flask, redirect, url_for
from werkzeug.wrappers import Response

import webhook.ui.views as views
import webhook.ui.views_alerts as views_alerts
import webhook.ui.views_rules as views_rules
import webhook.ui.views_silences as views_silences
from webhook.ui.blueprint import bp
from webhook.ui.context import EXTENSION, UiServices

# the page modules, imported for their routes on ``bp``
PAGES = (views, views_alerts, views_rules, views_silences)


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
