"""The Rules page: view loaded rules and rule errors, validate or Import a file, export, Dry run.

A dry run takes a rule name and either a pasted command (a JSON object in the shape of
``debug=true``: entity, type, source, severity, date, message, tags; or an array of them) or
the last N stored messages. It sends nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, abort, render_template, request, session

from rules.command import MessageCommand
from rules.store import reports
from webhook.ui.blueprint import bp
from webhook.ui.context import RuleFileCheck, services
from webhook.ui.mask import mask_mapping

log = logging.getLogger(__name__)

MAX_REPLAY = 1000
EXAMPLE_COMMAND = json.dumps({
    "entity": "rocket.chat", "type": "webhook", "source": "rocket.chat",
    "message": "hello @atsd_bot",
    "tags": {"channel_id": "GENERAL", "user_name": "alice", "alias": ""},
}, indent=2)


@bp.get("/rules")
def rules_page() -> str:
    return _render()


def _render(check: RuleFileCheck | None = None, dry: Any = None, dry_error: str | None = None,
            form: dict[str, str] | None = None, status: int = 200) -> Any:
    svc = services()
    rules: list[dict[str, Any]] = []
    list_error = None
    if svc.list_rules is not None:
        try:
            rules = [dict(r) for r in svc.list_rules()]
        except Exception as exc:  # shown on the page; the page itself must still render
            log.warning("ui: listing rules failed: %s", exc)
            list_error = str(exc)
    with svc.db.connect() as conn:
        errors = reports.rule_errors(conn, 20)
    secrets = svc.secrets()
    for error in errors:
        error["command"] = mask_mapping(error.get("command"), secrets)
    page = render_template(
        "ui/rules.html", rules=rules, list_error=list_error, errors=errors, check=check,
        dry=dry, dry_error=dry_error, form=form or {}, example=EXAMPLE_COMMAND,
        can_import=svc.import_rules is not None, can_validate=svc.validate_rules is not None,
        can_export=svc.export_rules is not None, can_dry_run=svc.dry_run is not None)
    return page, status


@bp.post("/rules/import")
def rules_import() -> Any:
    svc = services()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render(check=RuleFileCheck(ok=False, errors=["Choose a rule file to send."]),
                       status=400)
    name = upload.filename
    content = upload.read()
    only_validate = request.form.get("action") == "validate"
    action = svc.validate_rules if only_validate else svc.import_rules
    if action is None:
        return _render(check=RuleFileCheck(ok=False, errors=[
            "The rule engine is not running here; rules cannot be checked."]), status=503)
    try:
        check = action(name, content)
    except ValueError as exc:
        check = RuleFileCheck(ok=False, errors=[str(exc)])
    except Exception as exc:  # an uploaded file reaches the loader: say so, never a bare 500
        log.exception("ui: checking rule file %r failed", name)
        check = RuleFileCheck(ok=False, errors=[f"{name}: could not be checked "
                                                f"({type(exc).__name__}); see the service log"])
    if check.ok and check.imported:
        log.info("ui: %s imported rule file %s (%d rules)", session.get("user"), name,
                 len(check.rules))
    return _render(check=check, status=200 if check.ok else 400)


@bp.get("/rules/export")
def rules_export() -> Response:
    svc = services()
    if svc.export_rules is None:
        abort(503, description="The rule engine is not running here; nothing to export.")
    body = svc.export_rules()
    return Response(body, mimetype="application/xml", headers={
        "Content-Disposition": 'attachment; filename="atsd-bot-rules.xml"'})


@bp.post("/rules/dry-run")
def rules_dry_run() -> Any:
    svc = services()
    form = {k: request.form.get(k, "") for k in ("rule", "source", "command", "count")}
    if svc.dry_run is None:
        return _render(dry_error="The rule engine is not running here.", form=form, status=503)
    rule = form["rule"].strip()
    if not rule:
        return _render(dry_error="Choose a rule.", form=form, status=400)
    try:
        commands = _commands(form)
    except ValueError as exc:
        return _render(dry_error=str(exc), form=form, status=400)
    try:
        report = svc.dry_run(rule, commands)
    except (LookupError, ValueError) as exc:
        return _render(dry_error=str(exc), form=form, status=400)
    except Exception as exc:  # pasted data reaches the engine: say so, never a 500
        log.exception("ui: dry run of %s failed", rule)
        return _render(dry_error=f"The dry run failed: {type(exc).__name__}; the service "
                                 "log has the details.", form=form, status=500)
    return _render(dry=mask_mapping(report, svc.secrets()), form=form)


def _commands(form: dict[str, str]) -> list[MessageCommand]:
    if form["source"] == "last":
        try:
            count = int(form["count"] or "10")
        except ValueError:
            raise ValueError("The number of messages must be a whole number.") from None
        if not 1 <= count <= MAX_REPLAY:
            raise ValueError(f"The number of messages must be 1 to {MAX_REPLAY}.")
        with services().db.connect() as conn:
            found = reports.recent_commands(conn, count)
        if not found:
            raise ValueError("No stored messages yet.")
        return found
    text = form["command"].strip()
    if not text:
        raise ValueError("Paste a command as JSON, e.g. the example below the box.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The command is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError("The command is nested too deeply.") from None
    items = data if isinstance(data, list) else [data]
    commands = []
    for index, item in enumerate(items[:MAX_REPLAY]):
        if not isinstance(item, dict) or not item.get("entity"):
            raise ValueError(f"Command {index + 1}: an object with at least an entity.")
        try:
            commands.append(MessageCommand.from_json(_normalised(item)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"Command {index + 1}: {exc}") from None
    return commands


def _normalised(item: dict[str, Any]) -> dict[str, Any]:
    # Same normalisation as the webhook: names lower-case, values trimmed, empty tags dropped.
    out = dict(item)
    for key in ("entity", "type", "source"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip().lower()
    tags = out.get("tags") or {}
    if not isinstance(tags, dict):
        raise ValueError("tags must be an object of name: value")
    out["tags"] = {str(k).strip().lower(): str(v).strip() for k, v in tags.items()
                   if v is not None and str(v).strip()}
    return out


