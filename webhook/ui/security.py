"""Login, sessions and CSRF for the web UI.

- Only configured users with role ``admin`` may log in (``[[users]]`` in the configuration).
  A failed login is written to the security incidents log like a failed webhook request,
  and counts towards ``UiServices.login_throttle`` (per address and user name, as the
  webhook's: :mod:`webhook.throttle`).
- The session is Flask's signed cookie (``HttpOnly``, ``SameSite=Lax``; ``Secure`` when the
  service runs behind TLS and says so). It holds the user name, the login time and the CSRF
  secret; nothing else.
- CSRF: a per-session random token, put in every form as ``csrf_token`` and compared with
  :func:`hmac.compare_digest` on every ``POST``. ``SameSite=Lax`` alone would stop most
  cross-site posts; the token also stops same-site ones (another app on the same host).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from flask import abort, g, redirect, request, session, url_for

from rules.store import diagnostics
from webhook.ui.context import services

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
PUBLIC_ENDPOINTS = {"ui.login", "ui.static"}


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(
        expected.encode(), given.encode()
    ):
        log.warning("ui: CSRF token missing or wrong for %s %s", request.method, request.path)
        abort(400, description="The form expired or did not come from this site: reload the "
                               "page and try again.")


def guard() -> Any:
    """Runs before every UI view: CSRF on POST, then a login for every page but the form."""
    if request.method == "POST":
        check_csrf()
    user = session.get("user")
    if isinstance(user, str) and _is_admin(user):
        g.ui_user = user
        return None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))


def _is_admin(name: str) -> bool:
    return any(u.name == name and "admin" in u.roles for u in services().settings.users)


def check_login(username: str, password: str) -> str | None:
    """``None`` when the user may log in, else the reason (kept for the incidents log)."""
    svc = services()
    user = next((u for u in svc.settings.users if u.name == username), None)
    verify = svc.verify_password or _plain_verify
    # Verify even for an unknown user, so timing does not tell which names exist.
    matched = verify(username, password) if user is not None else _burn(password)
    if user is None:
        return "unknown user"
    if not matched:
        return "wrong password"
    if "admin" not in user.roles:
        return "not an admin"
    return None


def _plain_verify(username: str, password: str) -> bool:
    """Fallback when the webhook's authenticator is not wired: plain passwords only."""
    for user in services().settings.users:
        if user.name == username and user.password:
            return hmac.compare_digest(user.password.encode(), password.encode())
    return False


def _burn(password: str) -> bool:
    hmac.compare_digest(secrets.token_bytes(32), password.encode()[:32].ljust(32, b"\0"))
    return False


def record_incident(username: str, reason: str) -> None:
    svc = services()
    try:
        with svc.db.begin() as conn:
            # the shared writer: it makes any text storable and keeps the newest N rows
            diagnostics.record_incident(
                conn, at=svc.now(), remote_addr=request.remote_addr or "", path=request.path,
                user=username[:256] or None, reason=f"web UI login: {reason}",
                keep=svc.settings.webhook.request_log_size)
    except Exception as exc:  # the login answer must not depend on the log being writable
        log.error("ui: could not record a failed login: %s", exc)


def safe_next(target: str | None) -> str:
    """Only redirect inside the UI after login (no open redirect to another site)."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return url_for("ui.overview")
