"""Read-only reports over the store: counts, searches and lists for the web UI, metrics and chat.

Each count or list is written once here, so that the UI, ``/metrics``, ``/healthz`` and the
chat commands show the same numbers. Rows come back as dicts with aware UTC datetimes (SQLite
hands back naive ones) and every list is bounded by a ``limit``, so that a page never loads
a whole table. The request and incident logs are read by :mod:`rules.store.diagnostics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, func, select

from rules.clock import aware
from rules.command import MessageCommand
from rules.expr.wildcard import match
from rules.store import alert_messages
from rules.store.messages import row_to_command
from rules.store.tables import base as schema
from rules.store.tables import engine as es

__all__ = ["PAGE", "MessageSearch", "alert_detail", "alert_history", "attempts", "counts",
           "like_pattern", "messages", "notifications", "open_alert_counts", "open_alerts",
           "outbox_counts", "outbox_counts_by_status", "recent_commands", "rule_errors",
           "windows"]

PAGE = 100


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    """``query``'s rows as dicts, each datetime made aware (UTC)."""
    out = []
    for row in conn.execute(query):
        item = dict(row._mapping)
        for key, value in item.items():
            if isinstance(value, datetime):
                item[key] = aware(value)
        out.append(item)
    return out


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(query).scalar() or 0)


# -- counts ---------------------------------------------------------------------------------


def outbox_counts(conn: Connection, statuses: Iterable[str] | None = None
                  ) -> dict[tuple[str, str], int]:
    """Outbox rows per ``(endpoint, status)``; only ``statuses`` when given (uses the index)."""
    table = es.outbox
    query = (select(table.c.endpoint, table.c.status, func.count())
             .group_by(table.c.endpoint, table.c.status))
    if statuses is not None:
        query = query.where(table.c.status.in_(tuple(statuses)))
    return {(str(endpoint), str(status)): int(n) for endpoint, status, n in conn.execute(query)}


def outbox_counts_by_status(conn: Connection, statuses: Iterable[str] | None = None
                            ) -> dict[str, int]:
    """Outbox rows per status (pending, sending, delivered, failed, ...); a status with no
    rows is absent. ``statuses`` limits the count to those."""
    found: dict[str, int] = {}
    for (_, status), n in outbox_counts(conn, statuses).items():
        found[status] = found.get(status, 0) + n
    return found


def open_alert_counts(conn: Connection) -> dict[str, int]:
    """Open alerts: ``{"acknowledged": n, "unacknowledged": m}`` (both always present)."""
    table = es.alerts
    query = (select(table.c.acknowledged, func.count()).where(table.c.close_time.is_(None))
             .group_by(table.c.acknowledged))
    found = {"acknowledged": 0, "unacknowledged": 0}
    for acknowledged, n in conn.execute(query):
        found["acknowledged" if acknowledged else "unacknowledged"] += int(n)
    return found


def outbox_backlog(conn: Connection) -> dict[str, int]:
    """What ``/healthz`` and the ``status`` command show: rows still to send (pending or being
    sent) as ``depth`` and rows that gave up as ``failed``."""
    found = outbox_counts_by_status(conn, ("pending", "sending", "failed"))
    return {"depth": found.get("pending", 0) + found.get("sending", 0),
            "failed": found.get("failed", 0)}


def closed_alert_counts(conn: Connection) -> dict[str, int]:
    """Closed alerts (history) by why they closed: ``CANCEL`` unless a person resolved it."""
    table = es.alerts
    query = (select(table.c.close_reason, func.count()).where(table.c.close_time.is_not(None))
             .group_by(table.c.close_reason))
    found: dict[str, int] = {}
    for reason, n in conn.execute(query):
        key = str(reason or "CANCEL")
        found[key] = found.get(key, 0) + int(n)
    return found


def counts(conn: Connection) -> dict[str, int]:
    """The overview's numbers: stored messages, logs, open alerts, outbox, rule errors."""
    def rows_of(table: Any) -> int:
        return _count(conn, select(func.count()).select_from(table))

    alerts = open_alert_counts(conn)
    outbox = outbox_counts_by_status(conn, ("pending", "sending", "failed"))
    return {
        "messages": rows_of(schema.messages),
        "requests": rows_of(schema.webhook_requests),
        "incidents": rows_of(schema.security_incidents),
        "open_alerts": alerts["acknowledged"] + alerts["unacknowledged"],
        "unacknowledged": alerts["unacknowledged"],
        "outbox_pending": outbox.get("pending", 0) + outbox.get("sending", 0),
        "outbox_failed": outbox.get("failed", 0),
        "rule_errors": rows_of(es.rule_errors),
    }


# -- messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageSearch:
    type: str = ""
    source: str = ""
    entity: str = ""
    tag: str = ""  # name=value, or a name alone (the tag exists)
    text: str = ""
    start: datetime | None = None
    end: datetime | None = None
    limit: int = PAGE


def like_pattern(pattern: str) -> str:
    """An ATSD ``*``/``?`` pattern as SQL LIKE, with LIKE's own characters escaped."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def messages(conn: Connection, search: MessageSearch) -> list[dict[str, Any]]:
    """Stored messages matching ``search``, newest first."""
    table = schema.messages
    query = select(table).order_by(desc(table.c.date), desc(table.c.id))
    for column, value in ((table.c.type, search.type), (table.c.source, search.source),
                          (table.c.entity, search.entity)):
        if value:
            query = query.where(column.like(like_pattern(value.lower()), escape="\\"))
    if search.text:
        query = query.where(table.c.message.like(f"%{like_pattern(search.text)}%", escape="\\"))
    if search.start is not None:
        query = query.where(table.c.date >= search.start)
    if search.end is not None:
        query = query.where(table.c.date < search.end)
    name, _, value = search.tag.partition("=")
    name, value = name.strip().lower(), value.strip()
    if not name:
        return _rows(conn, query.limit(search.limit))
    # Tags are JSON text on both stores; filter in Python, reading a bounded number of rows.
    found: list[dict[str, Any]] = []
    for row in _rows(conn, query.limit(search.limit * 50)):
        tags = row.get("tags") or {}
        if name in tags and (not value or match(value, str(tags[name]))):
            found.append(row)
            if len(found) >= search.limit:
                break
    return found


def recent_commands(conn: Connection, count: int) -> list[MessageCommand]:
    """The last ``count`` stored commands, oldest first (for a dry run over them)."""
    table = schema.messages
    found = list(conn.execute(select(table).order_by(desc(table.c.id)).limit(count)))
    return [row_to_command(row) for row in reversed(found)]


# -- alerts, windows, rule errors, notifications --------------------------------------------


def open_alerts(conn: Connection, limit: int = PAGE) -> list[dict[str, Any]]:
    table = es.alerts
    return _rows(conn, select(table).where(table.c.close_time.is_(None))
                .order_by(desc(table.c.last_event_time)).limit(limit))


def alert_history(conn: Connection, limit: int = PAGE, rule: str = "",
                  entity: str = "") -> list[dict[str, Any]]:
    """Closed alerts, newest first; ``rule`` and ``entity`` are ``*``/``?`` patterns."""
    table = es.alerts
    query = select(table).where(table.c.close_time.is_not(None))
    if rule:
        query = query.where(table.c.rule.like(like_pattern(rule), escape="\\"))
    if entity:
        query = query.where(table.c.entity.like(like_pattern(entity.lower()), escape="\\"))
    return _rows(conn, query.order_by(desc(table.c.close_time)).limit(limit))


def alert_detail(conn: Connection, alert_id: int, limit: int = PAGE) -> dict[str, Any] | None:
    """One alert, open or closed, for its page: ``alert`` (the alerts row), ``window`` (its
    live window's row while open: repeats and last text, else None), ``living`` (where its
    living message is: one row per Rocket.Chat slot, with the message's kind, room and
    ``_id``), ``notifications`` (its outbox rows, oldest first, at most ``limit``). None for
    an unknown id."""
    alert = _rows(conn, select(es.alerts).where(es.alerts.c.id == alert_id))
    if not alert:
        return None
    window = _rows(conn, select(es.rule_windows).where(es.rule_windows.c.alert_id == alert_id)
                   .limit(1))
    notes = _rows(conn, select(es.outbox).where(es.outbox.c.alert_id == alert_id)
                  .order_by(es.outbox.c.id).limit(limit))
    living = [{key: aware(value) if isinstance(value, datetime) else value
               for key, value in row._mapping.items()}
              for row in alert_messages.alert_rows(conn, alert_id)]
    return {"alert": alert[0], "window": window[0] if window else None, "living": living,
            "notifications": notes}


def windows(conn: Connection, limit: int = PAGE, rule: str = "") -> list[dict[str, Any]]:
    table = es.rule_windows
    query = select(table)
    if rule:
        query = query.where(table.c.rule.like(like_pattern(rule), escape="\\"))
    return _rows(conn, query.order_by(desc(table.c.updated_at)).limit(limit))


def rule_errors(conn: Connection, limit: int = PAGE) -> list[dict[str, Any]]:
    table = es.rule_errors
    return _rows(conn, select(table).order_by(desc(table.c.id)).limit(limit))


def notifications(conn: Connection, limit: int = PAGE, status: str = "") -> list[dict[str, Any]]:
    """Outbox rows, newest first; only those with ``status`` when given."""
    table = es.outbox
    query = select(table)
    if status:
        query = query.where(table.c.status == status)
    return _rows(conn, query.order_by(desc(table.c.id)).limit(limit))


def attempts(conn: Connection, outbox_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Delivery attempts of each of ``outbox_ids``, oldest first."""
    if not outbox_ids:
        return {}
    table = es.outbox_attempts
    found: dict[int, list[dict[str, Any]]] = {}
    for row in _rows(conn, select(table).where(table.c.outbox_id.in_(outbox_ids))
                    .order_by(table.c.id)):
        found.setdefault(int(row["outbox_id"]), []).append(row)
    return found
