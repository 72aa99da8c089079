"""Read-only queries behind the UI pages. Rows come back as dicts with aware UTC datetimes.

Everything is bounded by a ``limit`` so that a page never loads a whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, desc, func, select

from rules.command import Severity
from rules.store.tables import base as schema
from rules.store.tables import engine as es

PAGE = 100


def aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    out = []
    for row in conn.execute(query):
        item = dict(row._mapping)
        for key, value in item.items():
            if isinstance(value, datetime):
                item[key] = aware(value)
        out.append(item)
    return out


def severity_name(code: int | None) -> str:
    if code is None:
        return ""
    try:
        return Severity(code).name
    except ValueError:
        return str(code)


# -- overview ---------------------------------------------------------------------------


def counts(conn: Connection) -> dict[str, int]:
    def one(query: Any) -> int:
        return int(conn.execute(query).scalar() or 0)

    return {
        "messages": one(select(func.count()).select_from(schema.messages)),
        "requests": one(select(func.count()).select_from(schema.webhook_requests)),
        "incidents": one(select(func.count()).select_from(schema.security_incidents)),
        "open_alerts": one(select(func.count()).select_from(es.alerts)
                           .where(es.alerts.c.close_time.is_(None))),
        "unacknowledged": one(select(func.count()).select_from(es.alerts).where(and_(
            es.alerts.c.close_time.is_(None), es.alerts.c.acknowledged.is_(False)))),
        "outbox_pending": one(select(func.count()).select_from(es.outbox)
                              .where(es.outbox.c.status.in_(("pending", "sending")))),
        "outbox_failed": one(select(func.count()).select_from(es.outbox)
                             .where(es.outbox.c.status == "failed")),
        "rule_errors": one(select(func.count()).select_from(es.rule_errors)),
    }


# -- webhooks and incidents -------------------------------------------------------------


def requests(conn: Connection, limit: int = PAGE) -> list[dict[str, Any]]:
    table = schema.webhook_requests
    columns = [c for c in table.c if c.name not in ("body", "headers")]
    return _rows(conn, select(*columns).order_by(desc(table.c.id)).limit(limit))


def request(conn: Connection, request_id: int) -> dict[str, Any] | None:
    table = schema.webhook_requests
    rows = _rows(conn, select(table).where(table.c.id == request_id))
    return rows[0] if rows else None


def incidents(conn: Connection, limit: int = PAGE) -> list[dict[str, Any]]:
    table = schema.security_incidents
    return _rows(conn, select(table).order_by(desc(table.c.id)).limit(limit))


# -- messages ---------------------------------------------------------------------------


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
        if name in tags and (not value or _matches(value, str(tags[name]))):
            found.append(row)
            if len(found) >= search.limit:
                break
    return found


def _matches(pattern: str, value: str) -> bool:
    from rules.expr.wildcard import match

    return match(pattern, value)


# -- alerts, windows, notifications -----------------------------------------------------


def open_alerts(conn: Connection, limit: int = PAGE) -> list[dict[str, Any]]:
    table = es.alerts
    return _rows(conn, select(table).where(table.c.close_time.is_(None))
                 .order_by(desc(table.c.last_event_time)).limit(limit))


def alert_history(conn: Connection, limit: int = PAGE, rule: str = "",
                  entity: str = "") -> list[dict[str, Any]]:
    table = es.alerts
    query = select(table).where(table.c.close_time.is_not(None))
    if rule:
        query = query.where(table.c.rule.like(like_pattern(rule), escape="\\"))
    if entity:
        query = query.where(table.c.entity.like(like_pattern(entity.lower()), escape="\\"))
    return _rows(conn, query.order_by(desc(table.c.close_time)).limit(limit))


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
    table = es.outbox
    query = select(table)
    if status:
        query = query.where(table.c.status == status)
    return _rows(conn, query.order_by(desc(table.c.id)).limit(limit))


def attempts(conn: Connection, outbox_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not outbox_ids:
        return {}
    table = es.outbox_attempts
    found: dict[int, list[dict[str, Any]]] = {}
    for row in _rows(conn, select(table).where(table.c.outbox_id.in_(outbox_ids))
                     .order_by(table.c.id)):
        found.setdefault(int(row["outbox_id"]), []).append(row)
    return found


def recent_commands(conn: Connection, count: int) -> list[Any]:
    """The last ``count`` stored commands, oldest first (for a dry run over them)."""
    from rules.store.messages import row_to_command

    table = schema.messages
    rows = list(conn.execute(select(table).order_by(desc(table.c.id)).limit(count)))
    return [row_to_command(row) for row in reversed(rows)]
