"""Pages: open alerts (Acknowledge / Unacknowledge / Resolve), one alert, alert history,
windows, notifications."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from rules.engine import MAX_REASON
from rules.store import reports
from webhook.ui.blueprint import bp, limit_arg, text_arg
from webhook.ui.context import services
from webhook.ui.mask import mask_mapping, mask_text

log = logging.getLogger(__name__)


@bp.get("/alerts")
def alerts() -> str:
    svc = services()
    with svc.db.connect() as conn:
        rows = reports.open_alerts(conn, limit_arg())
    if svc.silence_of is not None:
        for row in rows:
            row["silence_id"] = svc.silence_of(row)
    return render_template("ui/alerts.html", rows=rows, can_ack=svc.acknowledge is not None,
                           can_resolve=svc.resolve is not None)


@bp.get("/alerts/<int:alert_id>")
def alert(alert_id: int) -> str:
    """One alert, open or closed: what it is, who handled it, its living message and its
    notifications with their delivery state (the chat message's ``Open`` button leads
    here)."""
    svc = services()
    with svc.db.connect() as conn:
        found = reports.alert_detail(conn, alert_id)
        tries = reports.attempts(conn, [int(n["id"]) for n in found["notifications"]]
                                 ) if found else {}
    if found is None:
        abort(404, description=f"No alert {alert_id}: the id is unknown (alert history "
                               f"may have been pruned).")
    row, window = found["alert"], found["window"]
    is_open = row.get("close_time") is None
    secrets = svc.secrets()
    for note in found["notifications"]:
        note["text"] = mask_text(note.get("text") or "", secrets)
        note["last_error"] = mask_text(note.get("last_error") or "", secrets)
        note["tries"] = tries.get(int(note["id"]), [])
    if window is not None:  # the live window knows the repeats and last text of an open one
        row["repeat_count"] = window.get("repeat_count", row.get("repeat_count"))
        row["last_alert_text"] = window.get("last_text") or row.get("last_alert_text")
        row["text_value"] = (window.get("last_command") or {}).get("message") \
            or row.get("text_value")
    if row.get("open_time") and row.get("close_time"):
        row["duration"] = _duration((row["close_time"] - row["open_time"]).total_seconds())
    silence_id = svc.silence_of(row) if is_open and svc.silence_of is not None else None
    return render_template(
        "ui/alert.html", a=row, is_open=is_open, living=found["living"],
        notes=found["notifications"], silence_id=silence_id,
        can_ack=is_open and svc.acknowledge is not None,
        can_resolve=is_open and svc.resolve is not None)


@bp.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int) -> Response:
    return _set_ack(alert_id, True)


@bp.post("/alerts/<int:alert_id>/unacknowledge")
def unacknowledge(alert_id: int) -> Response:
    return _set_ack(alert_id, False)


@bp.post("/alerts/<int:alert_id>/resolve")
def resolve(alert_id: int) -> Response:
    """Close an open alert by hand, with an optional reason (kept in history and, for a
    ``thread`` rule, noted in the alert message's thread)."""
    svc = services()
    reason = _reason()
    if _may_change(svc.resolve):
        assert svc.resolve is not None
        if svc.resolve(alert_id, by=f"{session.get('user')} (web UI)", reason=reason):
            log.info("ui: %s: resolved alert %d", session.get("user"), alert_id)
            flash(f"Resolved alert {alert_id}.", "ok")
        else:
            flash(f"Alert {alert_id} is not open any more.", "error")
    return _back(alert_id)


def _reason() -> str:
    """The form's reason on one line; the field's maxlength is MAX_REASON, so a longer one
    comes only from a hand-made request and is cut there."""
    return " ".join(request.form.get("reason", "").split())[:MAX_REASON]


def _back(alert_id: int) -> Response:
    """Back to the page the form was on: the alert's own page or the open alerts."""
    if request.form.get("back") == "alert":
        return redirect(url_for("ui.alert", alert_id=alert_id))
    return redirect(url_for("ui.alerts"))


def _may_change(action: object) -> bool:
    """Whether alerts can be changed here; flashes why not."""
    if action is None:
        flash("The rule engine is not running here; alerts cannot be changed.", "error")
        return False
    if not services().runs_engine():
        # The engine's windows live in the memory of the instance holding the lease; a change
        # made here would be overwritten there.
        flash("This instance does not run the rule engine (another instance holds the lease, "
              "see /healthz); change the alert on that instance.", "error")
        return False
    return True


def _set_ack(alert_id: int, value: bool) -> Response:
    svc = services()
    word = "Acknowledged" if value else "Unacknowledged"
    if _may_change(svc.acknowledge):
        assert svc.acknowledge is not None
        reason = _reason() if value else ""
        if svc.acknowledge(alert_id, value, by=f"{session.get('user')} (web UI)",
                           reason=reason or None):
            log.info("ui: %s: %s alert %d", session.get("user"), word.lower(), alert_id)
            flash(f"{word} alert {alert_id}.", "ok")
        else:
            flash(f"Alert {alert_id} is not open any more.", "error")
    return _back(alert_id)


@bp.get("/alerts/history")
def alert_history() -> str:
    svc = services()
    rule = text_arg("rule")
    entity = text_arg("entity")
    with svc.db.connect() as conn:
        rows = reports.alert_history(conn, limit_arg(), rule=rule, entity=entity)
    for row in rows:
        if row.get("open_time") and row.get("close_time"):
            row["duration"] = _duration((row["close_time"] - row["open_time"]).total_seconds())
    return render_template("ui/history.html", rows=rows, rule=rule, entity=entity)


def _duration(seconds: float) -> str:
    """ATSD's alert_duration shape: ``dd:hh:mm:ss``."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"


@bp.get("/windows")
def windows() -> str:
    svc = services()
    rule = text_arg("rule")
    with svc.db.connect() as conn:
        rows = reports.windows(conn, limit_arg(), rule=rule)
    secrets = svc.secrets()
    for row in rows:
        row["last_command"] = mask_mapping(row.get("last_command"), secrets)
    return render_template("ui/windows.html", rows=rows, rule=rule)


@bp.get("/notifications")
def notifications() -> str:
    svc = services()
    status = text_arg("status")
    with svc.db.connect() as conn:
        rows = reports.notifications(conn, limit_arg(), status=status)
        tries = reports.attempts(conn, [int(r["id"]) for r in rows])
    secrets = svc.secrets()
    for row in rows:
        row["text"] = mask_text(row.get("text") or "", secrets)
        row["last_error"] = mask_text(row.get("last_error") or "", secrets)
        row["target"] = mask_mapping(row.get("target"), secrets)
        row["tries"] = tries.get(int(row["id"]), [])
    statuses = ("pending", "sending", "delivered", "failed", "silenced", "response",
                "cancelled")
    return render_template("ui/notifications.html", rows=rows, status=status,
                           statuses=statuses, can_retry=svc.retry_notification is not None)


@bp.post("/notifications/<int:outbox_id>/retry")
def retry_notification(outbox_id: int) -> Response:
    svc = services()
    if svc.retry_notification is None:
        flash("The outbox sender is not running here.", "error")
    elif svc.retry_notification(outbox_id):
        log.info("ui: %s asked to retry notification %d", session.get("user"), outbox_id)
        flash(f"Notification {outbox_id} will be sent again now.", "ok")
    else:
        flash(f"Notification {outbox_id} cannot be retried (unknown or already delivered).",
              "error")
    return redirect(url_for("ui.notifications", status=request.args.get("status", "")))
