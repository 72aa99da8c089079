"""Adapters from the running parts (engine, rule set, receiver, sender) to the UI's callables.

The web UI (webhook/ui) knows nothing of the engine's classes; this module, part of the
composition root, turns each part's API into the plain callables of
:class:`webhook.ui.context.UiServices`.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot import __version__
from bot.config import Settings
from rules.command import MessageCommand
from rules.definitions.atsd_xml import export_xml
from rules.definitions.loader import errors_of, load_bytes
from rules.definitions.rule_set import RuleSet
from rules.engine.rule_engine import RuleEngine
from rules.outbox import OutboxSender
from rules.silences import facts_of
from rules.store import Database, diagnostics
from webhook import AppContext, Authenticator, replay_request
from webhook.ui import RuleFileCheck, UiServices


def build_ui_services(
    settings: Settings, db: Database, ctx: AppContext, *, engine: RuleEngine,
    ruleset: RuleSet, sender: OutboxSender | None, authenticator: Authenticator,
    health: Callable[[], Mapping[str, Any]], runs_engine: Callable[[], bool] = lambda: True,
) -> UiServices:
    return UiServices(
        db=db,
        settings=settings,
        verify_password=lambda name, password: authenticator.verify_password(
            name, password) is not None,
        replay=_replay(ctx),
        acknowledge=engine.acknowledge,
        resolve=engine.resolve,
        runs_engine=runs_engine,
        list_rules=lambda: [rule_summary(r) for r in ruleset.rules()],
        validate_rules=lambda name, data: validate(ruleset, name, data),
        import_rules=lambda name, data: import_file(ruleset, name, data),
        export_rules=lambda: export_xml(ruleset.rules()),
        dry_run=lambda name, commands: dry_run(engine, ruleset, name, commands),
        retry_notification=sender.retry_now if sender is not None else None,
        health=health,
        list_silences=lambda ended: engine.list_silences(include_ended=ended, limit=200),
        create_silence=lambda matchers, span, author, comment: engine.create_silence(
            matchers, span, author=author, comment=comment),
        expire_silence=lambda silence_id, by: engine.expire_silence(silence_id, by=by)[0],
        silence_of=lambda row: silence_id_of(engine, row),
        now=engine.clock.now,
        versions=versions(db),
    )


def silence_id_of(engine: RuleEngine, row: Mapping[str, Any]) -> int | None:
    """The silence covering a stored open alert (its rule, entity, severity code and tags)."""
    silence = engine.silence_covering(facts_of(row), engine.clock.now())
    return silence.id if silence is not None else None


def _replay(ctx: AppContext) -> Callable[[int], Mapping[str, Any]]:
    def replay(request_id: int) -> Mapping[str, Any]:
        new_id = replay_request(ctx, request_id)
        with ctx.db.connect() as conn:
            row = diagnostics.get_request(conn, new_id) or {}
        return {"request_id": new_id, "status": row.get("status"),
                "outcome": row.get("outcome", "done")}

    return replay


def rule_summary(rule: Any) -> dict[str, Any]:
    notes = []
    for spec in rule.notifications:
        triggers = [t for t in ("open", "repeat", "cancel") if spec.trigger(t).enabled]
        notes.append(f"{spec.endpoint}: {', '.join(triggers) or 'no trigger'}"
                     + ("" if spec.enabled else " (disabled)"))
    return {
        "name": rule.name, "enabled": rule.enabled, "description": rule.description,
        "types": list(rule.types), "sources": list(rule.sources),
        "entities": list(rule.entities), "filter": rule.filter, "window": rule.window.text,
        "condition": rule.condition, "severity": rule.severity, "notifications": notes,
        "origin": rule.origin,
    }


def validate(ruleset: RuleSet, name: str, data: bytes) -> RuleFileCheck:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ("yml", "yaml", "xml"):
        return RuleFileCheck(ok=False, errors=[f"{name}: expected a .yml, .yaml or .xml file"])
    rules, issues = load_bytes(data, name, fmt="xml" if suffix == "xml" else "yaml",
                               endpoints=ruleset.endpoints)
    errors = [str(i) for i in errors_of(issues)]
    if not errors and not rules:
        errors = [f"{name}: the file holds no rules"]
    return RuleFileCheck(ok=not errors, rules=[r.name for r in rules], errors=errors)


def import_file(ruleset: RuleSet, name: str, data: bytes) -> RuleFileCheck:
    result = ruleset.import_file(name, data)
    errors = [str(i) for i in errors_of(result.issues)]
    if not result.ok and not errors:
        errors = [str(i) for i in result.issues] or ["the file was refused"]
    return RuleFileCheck(ok=result.ok, rules=list(result.rules), errors=errors,
                         imported=result.ok, path=str(result.path) if result.path else None)


def dry_run(engine: RuleEngine, ruleset: RuleSet, name: str,
            commands: Sequence[MessageCommand]) -> Any:
    rule = next((r for r in ruleset.rules() if r.name == name), None)
    if rule is None:
        raise LookupError(f"no rule named {name!r}")
    report = engine.dry_run(rule, commands)
    return {"rule": report.rule, "load_errors": [str(e) for e in report.load_errors],
            "steps": [_step(s) for s in report.steps]}


def _step(step: Any) -> dict[str, Any]:
    """A dry-run step in the UI's shape: the command, each stage's decision, the texts."""
    stages = []
    if step.filtered_out is not None:
        stages.append({"stage": "filter", "decision": f"filtered out: {step.filtered_out}"})
    else:
        stages.append({"stage": "filter", "decision": "passed"})
        stages.append({"stage": "window", "decision": f"{step.window_key!r}, "
                                                      f"{step.count} command(s)"})
        condition = "error" if step.condition is None else str(step.condition).lower()
        stages.append({"stage": "condition", "decision": condition})
        stages.append({"stage": "status", "decision": f"{step.before} → {step.after}"
                       + (f" (on {step.trigger})" if step.trigger else "")})
    stages += [{"stage": "error", "decision": e} for e in step.errors]
    notes = [{"trigger": n.get("trigger"), "endpoint": n.get("endpoint"),
              "text": n.get("text") if not n.get("skipped") else f"not sent: {n['skipped']}"}
             for n in step.notifications]
    return {"command": step.command, "stages": stages, "notifications": notes}


def versions(db: Database) -> dict[str, str]:
    return {
        "atsd-bot": __version__,
        "Python": platform.python_version(),
        "Flask": _dist_version("flask"),
        "waitress": _dist_version("waitress"),
        "SQLAlchemy": _dist_version("sqlalchemy"),
        "database": db.dialect,
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"
