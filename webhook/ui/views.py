"""Pages: login, overview, incoming webhooks (detail, Replay), incidents, messages, status."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from rules.command import parse_iso_date
from rules.store import diagnostics, reports
from webhook.ui.blueprint import bp, limit_arg, text_arg
from webhook.ui.context import UiServices, services
from webhook.ui.mask import mask_body, mask_headers, mask_mapping, mask_query, mask_text
from webhook.ui.security import check_login, record_incident, safe_next

log = logging.getLogger(__name__)

# ``last`` choices of the message search, in seconds.
LAST = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "all": 0}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        addr = request.remote_addr or ""
        throttle = services().login_throttle
        wait = throttle.wait_for(addr, username)
        if wait is not None:
            record_incident(username, "throttled: too many failed logins")
            page = render_template("ui/login.html", error=f"Too many failed logins from "
                                   f"this address; try again in {wait} s.")
            return page, 429, {"Retry-After": str(wait)}
        reason = check_login(username, password)
        if reason is None:
            csrf = session.get("csrf")
            session.clear()  # a fresh session on login: no fixation
            session["user"] = username
            session["csrf"] = csrf
            session["login_at"] = services().now().isoformat()
            log.info("ui: %s logged in from %s", username, request.remote_addr)
            return redirect(safe_next(request.args.get("next")))
        record_incident(username, reason)
        throttle.failed(addr, username)
        log.warning("ui: failed login for %r from %s: %s", username, request.remote_addr,
                    reason)
        # One message for every reason: do not tell which user names exist.
        error = "Wrong user name or password, or the user is not an admin."
    return render_template("ui/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("ui.login"))


@bp.get("/")
def overview() -> str:
    svc = services()
    with svc.db.connect() as conn:
        counts = reports.counts(conn)
        recent = _masked_requests(diagnostics.list_requests(conn, 5, bodies=False), svc)
        alerts = reports.open_alerts(conn, 5)
    return render_template("ui/overview.html", counts=counts, recent=recent, alerts=alerts,
                           health=_health(svc), can_ack=svc.acknowledge is not None)


@bp.get("/webhooks")
def webhooks() -> str:
    svc = services()
    with svc.db.connect() as conn:
        rows = _masked_requests(diagnostics.list_requests(conn, limit_arg(), bodies=False),
                                svc)
    return render_template("ui/webhooks.html", rows=rows)


def _masked_requests(rows: list[dict[str, Any]], svc: UiServices) -> list[dict[str, Any]]:
    secrets = svc.secrets()
    for row in rows:
        row["path"] = mask_query(row["path"], secrets)
        row["error"] = mask_text(row["error"] or "", secrets)
    return rows


@bp.get("/webhooks/<int:request_id>")
def webhook_detail(request_id: int) -> str:
    svc = services()
    with svc.db.connect() as conn:
        row = diagnostics.get_request(conn, request_id)
    if row is None:
        abort(404, description=f"No webhook request {request_id}: it may have been rotated "
                               "out of the log.")
    secrets = svc.secrets()
    shown = dict(row)
    shown["path"] = mask_query(row["path"], secrets)
    shown["headers"] = mask_headers(row.get("headers"), secrets)
    shown["body"] = mask_body(row.get("body"), row.get("content_type"), secrets)
    shown["command"] = mask_mapping(row.get("command"), secrets)
    shown["error"] = mask_text(row.get("error") or "", secrets)
    return render_template("ui/webhook_detail.html", row=shown,
                           can_replay=svc.replay is not None)


@bp.post("/webhooks/<int:request_id>/replay")
def webhook_replay(request_id: int) -> Response:
    svc = services()
    if svc.replay is None:
        flash("Replay is not available: the webhook receiver is not running here.", "error")
        return redirect(url_for("ui.webhook_detail", request_id=request_id))
    try:
        result = dict(svc.replay(request_id))
    except LookupError:
        abort(404, description=f"No webhook request {request_id} to replay.")
    except ValueError as exc:
        flash(f"Replay refused: {exc}", "error")
        return redirect(url_for("ui.webhook_detail", request_id=request_id))
    log.info("ui: %s replayed webhook request %d", session.get("user"), request_id)
    new_id = result.get("request_id")
    outcome = result.get("outcome", "done")
    flash(f"Replayed request {request_id}: {outcome} (HTTP {result.get('status', '?')}).",
          "ok")
    if isinstance(new_id, int):
        return redirect(url_for("ui.webhook_detail", request_id=new_id))
    return redirect(url_for("ui.webhooks"))


@bp.get("/incidents")
def incidents() -> str:
    svc = services()
    with svc.db.connect() as conn:
        rows = diagnostics.list_incidents(conn, limit_arg())
    secrets = svc.secrets()
    for row in rows:
        row["path"] = mask_query(row["path"], secrets)
    return render_template("ui/incidents.html", rows=rows)


@bp.get("/messages")
def messages() -> str:
    svc = services()
    args = request.args
    error = None
    start = end = None
    try:
        start = _date_arg("from")
        end = _date_arg("to")
    except ValueError as exc:
        error = str(exc)
    last = args.get("last", "24h")
    if start is None and LAST.get(last, 0):
        start = svc.now() - timedelta(seconds=LAST[last])
    search = reports.MessageSearch(
        type=text_arg("type"), source=text_arg("source"), entity=text_arg("entity"),
        tag=text_arg("tag"), text=text_arg("text"), start=start, end=end, limit=limit_arg())
    rows: list[dict[str, Any]] = []
    if error is None:
        with svc.db.connect() as conn:
            rows = reports.messages(conn, search)
    return render_template("ui/messages.html", rows=rows, args=args, last=last,
                           choices=list(LAST), error=error)


def _date_arg(name: str) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@bp.get("/status")
def status() -> str:
    svc = services()
    return render_template("ui/status.html", health=_health(svc), versions=svc.versions,
                           database=svc.db.safe_url())


def _health(svc: UiServices) -> dict[str, Any] | None:
    if svc.health is None:
        return None
    try:
        return dict(svc.health())
    except Exception as exc:  # the page shows the failure; it does not become a 500
        log.warning("ui: health report failed: %s", exc)
        return {"status": "unknown", "error": type(exc).__name__}
