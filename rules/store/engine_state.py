"""The rule engine's rows: windows, alerts and history, rule errors, silences, and the message
store as the ``db_message_*`` expression functions see it.

Every function runs on a connection the caller owns, so each write joins the transaction of
the command (or tick) that caused it. The functions take and return plain values and rows:
turning a window into a row and back is the engine's business (:mod:`rules.engine.state`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from rules.clock import aware
from rules.command import MessageCommand, Severity, format_iso_date
from rules.store.db import Prepared, PreparedInsert
from rules.store.hot_rows import as_json_text, hot_row, json_text
from rules.store.messages import row_to_command
from rules.store.tables.base import messages
from rules.store.tables.engine import alerts, rule_errors, rule_windows

MAX_SCAN = 10_000  # rows a tag-filtered db_message_* lookup reads at most
# The state columns of a window row, which every save writes.
WINDOW_KEYS = ("status", "count", "repeat_count", "alert_id", "severity", "open_time",
               "last_event_time", "acknowledged", "last_text", "last_command", "entries",
               "counters", "updated_at")
WINDOW_JSON_KEYS = ("last_command", "entries", "counters")


_WINDOW_ROW = hot_row(rule_windows)
_ALERT_ROW = hot_row(alerts)
# The window's UPDATE runs for every command a rule takes: compiled once and run on the
# DBAPI cursor (rules.store.db.Prepared), as SQLAlchemy's execute path cost more than SQLite;
# its JSON values are serialized here (json_text) and bound as text, its times through
# INSTANT. A new window's INSERT and its alert's bind the same way.
_UPDATE_WINDOW = Prepared(update(_WINDOW_ROW).where(_WINDOW_ROW.c.id == bindparam("wid")),
                          ("wid", *WINDOW_KEYS))
_INSERT_WINDOW = PreparedInsert(_WINDOW_ROW,
                                ("rule", "key", "fingerprint", "entity", "tags", *WINDOW_KEYS))
# A new window clears a row left under its (rule, key) first; both run once per new window
# (an alert's open too), as often as messages for a new entity arrive: prepared as well.
_DELETE_WINDOW_AT = Prepared(delete(rule_windows).where(
    rule_windows.c.rule == bindparam("rule"), rule_windows.c.key == bindparam("key")),
    ("rule", "key"))
ALERT_KEYS = ("rule", "window_key", "entity", "tags", "metric", "severity", "open_time",
              "last_event_time", "repeat_count", "acknowledged", "text_value",
              "rule_expression", "rule_filter", "window", "received_date")
_INSERT_ALERT = PreparedInsert(_ALERT_ROW, ALERT_KEYS)




# -- windows -----------------------------------------------------------------------------


def update_windows(conn: Connection, changes: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Write the state columns of several window rows, (row id, values) each, in one
    ``executemany``."""
    rows = []
    for window_id, values in changes:
        row = {"wid": window_id, **values}
        for key in WINDOW_JSON_KEYS:
            row[key] = as_json_text(row[key])
        rows.append(row)
    if len(rows) == 1:
        _UPDATE_WINDOW.run(conn, rows[0])
    else:
        _UPDATE_WINDOW.run_many(conn, rows)


def insert_window(conn: Connection, values: Mapping[str, Any]) -> int:
    """A new window row (rule, key, fingerprint, entity, tags and the state columns); its id."""
    # A row left by an engine that was never restored must not block the new window.
    _DELETE_WINDOW_AT.run(conn, {"rule": values["rule"], "key": values["key"]})
    row = dict(values)
    for key in ("tags", *WINDOW_JSON_KEYS):
        row[key] = as_json_text(row[key])
    return _INSERT_WINDOW.run(conn, row)


def delete_window(conn: Connection, window_id: int) -> None:
    conn.execute(delete(rule_windows).where(rule_windows.c.id == window_id))


def window_rows(conn: Connection) -> list[Any]:
    """Every stored window row."""
    return list(conn.execute(select(rule_windows)))


def messages_since(conn: Connection, since: datetime) -> Iterator[tuple[int, MessageCommand]]:
    """Stored commands dated ``since`` or later, oldest first (for replaying time windows)."""
    query = (select(messages)
             .where(messages.c.date >= since, messages.c.processed.is_(True))
             .order_by(messages.c.date, messages.c.id))
    for row in conn.execute(query):
        yield int(row.id), row_to_command(row)


# -- alerts ------------------------------------------------------------------------------


def insert_alert(conn: Connection, values: Mapping[str, Any]) -> int:
    """A new alert row (open: no ``close_time``) with the columns :data:`ALERT_KEYS`; its id."""
    return _INSERT_ALERT.run(conn, {**values, "tags": json_text(values["tags"])})


def close_alert(conn: Connection, alert_id: int, values: Mapping[str, Any]) -> None:
    """Move an alert into history: ``values`` holds ``close_time``, ``close_reason`` and the
    final counts and texts."""
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def set_acknowledged(conn: Connection, alert_id: int | None, window_id: int | None,
                     acknowledged: bool, *, by: str | None = None,
                     reason: str | None = None) -> None:
    """The acknowledged flag of an alert and of the window row that holds it, with who
    changed it and why."""
    conn.execute(update(alerts).where(alerts.c.id == alert_id)
                 .values(acknowledged=acknowledged, ack_by=by, ack_reason=reason))
    if window_id is not None:
        conn.execute(update(rule_windows).where(rule_windows.c.id == window_id)
                     .values(acknowledged=acknowledged))


def alert_row(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """One alert, open or closed, with every column (times aware)."""
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    for key in ("open_time", "last_event_time", "close_time", "received_date"):
        found[key] = aware(found[key])
    return found


def history(conn: Connection, *, rules: Iterable[str] = (), since: datetime | None = None,
            until: datetime | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Closed alerts, newest first, in the shape of ATSD's alert history."""
    query = select(alerts).where(alerts.c.close_time.is_not(None))
    names = list(rules)
    if names:
        query = query.where(alerts.c.rule.in_(names))
    if since is not None:
        query = query.where(alerts.c.close_time >= since)
    if until is not None:
        query = query.where(alerts.c.close_time < until)
    query = query.order_by(alerts.c.close_time.desc(), alerts.c.id.desc())
    if limit > 0:
        query = query.limit(limit)
    return [_history_record(row) for row in conn.execute(query)]


def _history_record(row: Any) -> dict[str, Any]:
    opened, closed = aware(row.open_time), aware(row.close_time)
    assert opened is not None and closed is not None
    tags = row.tags or {}
    return {
        "id": int(row.id),
        "entity": row.entity,
        "metric": row.metric,
        "rule": row.rule,
        "ruleExpression": row.rule_expression,
        "ruleFilter": row.rule_filter,
        "severity": Severity(row.severity).name if row.severity is not None else None,
        "tags": ";".join(f"{k}={v}" for k, v in sorted(tags.items())),
        "tagsMap": dict(tags),
        "repeatCount": int(row.repeat_count),
        "alert": row.last_alert_text,
        "textValue": row.text_value,
        "window": row.window,
        "type": "CANCEL",
        "reason": row.close_reason,
        "closedBy": row.closed_by,
        "closeNote": row.close_note,
        "date": format_iso_date(closed),
        "alertOpenDate": format_iso_date(opened),
        "alertDuration": int((closed - opened).total_seconds() * 1000),
        "receivedDate": format_iso_date(aware(row.received_date) or opened),
        "acknowledged": bool(row.acknowledged),
    }


# -- rule errors -------------------------------------------------------------


def record_rule_error(conn: Connection, *, rule: str, expression: str, reason: str,
                      command: MessageCommand | None, now: datetime) -> None:
    conn.execute(insert(rule_errors).values(
        at=now, rule=rule, expression=expression[:4000], reason=reason[:4000],
        command=command.to_json() if command is not None else None,
    ))


def recent_rule_errors(conn: Connection, limit: int) -> list[dict[str, Any]]:
    query = select(rule_errors).order_by(rule_errors.c.id.desc())
    if limit > 0:
        query = query.limit(limit)
    return [{
        "id": int(row.id), "time": format_iso_date(aware(row.at) or row.at), "rule": row.rule,
        "expression": row.expression, "reason": row.reason, "command": row.command,
    } for row in conn.execute(query)]


# -- the message store as expressions see it (db_message_count / db_message_last) ---------


def _message_query(conn: Connection, now: datetime, interval: timedelta, type_: str | None,
                   source: str | None, entity: str | None) -> Any:
    query = select(messages).where(messages.c.date >= now - interval, messages.c.date <= now)
    if type_:
        query = query.where(messages.c.type == type_.lower())
    if source:
        query = query.where(messages.c.source == source.lower())
    if entity:
        query = query.where(messages.c.entity == entity.lower())
    return query


def _has_tags(row: Any, tags: Mapping[str, str]) -> bool:
    stored = row.tags or {}
    return all(stored.get(k) == v for k, v in tags.items())


def message_count(conn: Connection, now: datetime, interval: timedelta, type_: str | None,
                  source: str | None, tags: Mapping[str, str], entity: str | None) -> int:
    query = _message_query(conn, now, interval, type_, source, entity)
    if not tags:
        counted = select(func.count()).select_from(query.subquery())
        return int(conn.execute(counted).scalar_one())
    # tag containment is checked here: JSON operators differ between SQLite and PostgreSQL
    return sum(1 for row in conn.execute(query.limit(MAX_SCAN)) if _has_tags(row, tags))


def message_last(conn: Connection, now: datetime, interval: timedelta, type_: str | None,
                 source: str | None, tags: Mapping[str, str], entity: str | None
                 ) -> dict[str, Any] | None:
    query = _message_query(conn, now, interval, type_, source, entity).order_by(
        messages.c.date.desc(), messages.c.id.desc())
    for row in conn.execute(query.limit(MAX_SCAN if tags else 1)):
        if _has_tags(row, tags):
            return row_to_command(row).to_json()
    return None
