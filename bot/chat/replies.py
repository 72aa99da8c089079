"""Texts some chat commands answer with (``rules``, ``status``, ``test``), small formatting
helpers, and the facts behind ``status``.

Kept apart from the commands so the wording can change without touching the logic; missing
keys are shown as blanks rather than failing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from rules.command import format_iso_date
from rules.store import Database, reports
from rules.store.messages import last_received_by_path

MAX_LINES = 20


def format_rules(rules: Sequence[Any]) -> str:
    if not rules:
        return "No rules are loaded."
    lines = [f"{len(rules)} rule(s):"]
    for rule in rules[:MAX_LINES * 2]:
        state = "" if getattr(rule, "enabled", True) else " (disabled)"
        about = getattr(rule, "description", "") or ""
        lines.append(f"• `{getattr(rule, 'name', rule)}`{state}"
                     + (f": {short(about)}" if about else ""))
    if len(rules) > MAX_LINES * 2:
        lines.append(f"… and {len(rules) - MAX_LINES * 2} more.")
    return "\n".join(lines)


def format_status(status: Mapping[str, Any]) -> str:
    uptime = int(status.get("uptime_seconds") or 0)
    lines = [f"Up {uptime // 86400}d {uptime % 86400 // 3600}h {uptime % 3600 // 60}m."]
    last = status.get("last_message") or {}
    realtime = status.get("realtime") or {}
    if realtime:
        live = "live" if realtime.get("connected") and realtime.get("subscribed") else "down"
        lines.append(f"• realtime: {live}, {realtime.get('reconnects', 0)} reconnect(s), "
                     f"last event {realtime.get('last_event') or 'never'}")
    for path in ("webhook", "realtime", "api"):
        if path in last:
            lines.append(f"• last message via {path}: {last[path]}")
    outbox = status.get("outbox") or {}
    if outbox:
        lines.append(f"• outbox: {outbox.get('depth', 0)} waiting, "
                     f"{outbox.get('failed', 0)} failed")
    return "\n".join(lines)


def format_dry_run(rule: str, report: Any) -> str:
    """The engine's dry-run report as chat text; tolerant of the report's exact shape."""
    for attribute in ("format", "to_text", "text"):
        value = getattr(report, attribute, None)
        if callable(value):
            value = value()
        if isinstance(value, str) and value:
            return f"Dry run of `{rule}` (nothing sent):\n```\n{value}\n```"
    data = dataclasses.asdict(report) if dataclasses.is_dataclass(report) and not isinstance(
        report, type) else report
    return f"Dry run of `{rule}` (nothing sent):\n{_lines(data)}"


def _lines(data: Any, indent: str = "") -> str:
    if isinstance(data, Mapping):
        return "\n".join(f"{indent}{k}: {_lines(v, indent + '  ').lstrip()}"
                         if not isinstance(v, (Mapping, list)) or not v
                         else f"{indent}{k}:\n{_lines(v, indent + '  ')}"
                         for k, v in data.items())
    if isinstance(data, (list, tuple)):
        return "\n".join(_lines(v, indent) if isinstance(v, Mapping) else f"{indent}- {v}"
                         for v in data)
    return f"{indent}{data}"


def short(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def age(span: timedelta) -> str:
    """``3d 4h``, ``2h 5m``, ``7m``, ``40s``: how long ago, in two units at most."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def store_status(db: Database, started: float,
                 realtime: Callable[[], Mapping[str, Any]] | None = None
                 ) -> Callable[[Connection | None], dict[str, Any]]:
    """A ``status`` provider reading the store: last message per path and outbox depth,
    through the caller's connection when it gives one."""

    def read(conn: Connection) -> dict[str, Any]:
        last = {path: format_iso_date(when)
                for path, when in last_received_by_path(conn).items()}
        return {"uptime_seconds": time.monotonic() - started, "last_message": last,
                "outbox": reports.outbox_backlog(conn),
                "realtime": dict(realtime()) if realtime else {}}

    def collect(conn: Connection | None = None) -> dict[str, Any]:
        if conn is not None:
            return read(conn)
        with db.connect() as own:
            return read(own)

    return collect
