"""Persistence of the engine's state: windows, alerts and history, rule errors, silences.

Everything here runs on a connection the caller owns, so each write joins the transaction
of the command (or tick) that caused it. The hot path costs one ``UPDATE`` of the window
row per state change (an ``INSERT`` for a new window), plus an alert row when an alert opens
or closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from rules.command import MessageCommand, Severity, format_iso_date, parse_iso_date
from rules.engine.status import Status
from rules.engine.windows import Window
from rules.store.db import Prepared, PreparedInsert
from rules.store.messages import row_to_command
from rules.store.tables.base import messages
from rules.store.tables.engine import alerts, rule_errors, rule_silences, rule_windows

MAX_SCAN = 10_000  # rows a tag-filtered db_message_* lookup reads at most
MAX_STORED_ENTRIES = 200  # time-window entries kept in the window row; more: replay at restore
# built once: a statement with literal values is re-compiled on every call
# The window's UPDATE runs for every command a rule takes: compiled once and run on the
# DBAPI cursor (rules.store.db.Prepared), as SQLAlchemy's execute path cost more than SQLite.
_WINDOW_KEYS = ("status", "count", "repeat_count", "alert_id", "severity", "open_time",
                "last_event_time", "acknowledged", "last_text", "last_command", "entries",
                "counters", "updated_at")
_UPDATE_WINDOW = Prepared(update(rule_windows).where(rule_windows.c.id == bindparam("wid")),
                          ("wid", *_WINDOW_KEYS))
_INSERT_WINDOW = PreparedInsert(rule_windows,
                                ("rule", "key", "fingerprint", "entity", "tags", *_WINDOW_KEYS))
_INSERT_ALERT = insert(alerts)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _window_values(window: Window, now: datetime) -> dict[str, Any]:
    command = window.last_command
    last = None
    if command is not None:
        last = command.to_json()
        last["message_id"] = window.last_message_id
    return {
        "status": window.status.value,
        "count": window.count,
        "repeat_count": window.repeat_count,
        "alert_id": window.alert_id,
        "severity": int(window.severity) if window.severity is not None else None,
        "open_time": window.open_time,
        "last_event_time": window.last_event_time,
        "acknowledged": window.acknowledged,
        "last_text": window.last_text,
        "last_command": last,
        "entries": _entries_value(window),
        "counters": {
            "repeat": {str(k): format_iso_date(v) for k, v in window.last_repeat_sent.items()},
            "pending": {str(k): [i, format_iso_date(d)] for k, (i, d) in
                        window.pending_open.items()},
            "times": [format_iso_date(t) if t else None for t in
                      (window.repeat_time, window.cancel_time, window.add_time)],
            "before": window.before_status.value,
        },
        "updated_at": now,
    }


def _entries_value(window: Window) -> Any:
    entries = window.entries or ()
    if len(entries) > MAX_STORED_ENTRIES:
        # A big time window is rebuilt from the message store at restore instead: writing
        # thousands of entries on every command would make the hot path O(window size).
        return {"replay": True, "count": len(entries)}
    return [[format_iso_date(d), m] for d, m in entries]


def save_window(conn: Connection, window: Window, fingerprint: str, now: datetime) -> None:
    """Write ``window``: an UPDATE of its row, or an INSERT for a window new to the store."""
    values = _window_values(window, now)
    if window.db_id is not None:
        _UPDATE_WINDOW.run(conn, {"wid": window.db_id, **values})
        return
    # A row left by an engine that was never restored must not block the new window.
    conn.execute(delete(rule_windows).where(rule_windows.c.rule == window.rule,
                                            rule_windows.c.key == window.key))
    window.db_id = _INSERT_WINDOW.run(conn, {
        "rule": window.rule, "key": window.key, "fingerprint": fingerprint,
        "entity": window.entity, "tags": window.tags, **values})


def delete_window(conn: Connection, window: Window) -> None:
    if window.db_id is not None:
        conn.execute(delete(rule_windows).where(rule_windows.c.id == window.db_id))


def load_windows(conn: Connection) -> list[tuple[str, Window, bool]]:
    """Every stored window, the fingerprint of the rule it was built under, and whether its
    entries must be replayed from the message store (a big time window).

    ``entries`` comes back as a list for every window; the engine sets it to None again for
    length windows, which do not keep entries.
    """
    return [(row.fingerprint, row_to_window(row), isinstance(row.entries, dict))
            for row in conn.execute(select(rule_windows))]


def messages_since(conn: Connection, since: datetime) -> Iterator[tuple[int, MessageCommand]]:
    """Stored commands dated ``since`` or later, oldest first (for replaying time windows)."""
    query = (select(messages)
             .where(messages.c.date >= since, messages.c.processed.is_(True))
             .order_by(messages.c.date, messages.c.id))
    for row in conn.execute(query):
        yield int(row.id), row_to_command(row)


def row_to_window(row: Any) -> Window:
    counters = row.counters or {}
    times = counters.get("times") or [None, None, None]
    window = Window(rule=row.rule, key=row.key, entity=row.entity, tags=dict(row.tags or {}))
    window.status = Status(row.status)
    window.before_status = Status(counters.get("before", "CANCEL"))
    window.count = int(row.count)
    window.repeat_count = int(row.repeat_count)
    window.alert_id = int(row.alert_id) if row.alert_id is not None else None
    window.severity = Severity(row.severity) if row.severity is not None else None
    window.open_time = _aware(row.open_time)
    window.last_event_time = _aware(row.last_event_time)
    window.acknowledged = bool(row.acknowledged)
    window.last_text = row.last_text
    window.repeat_time, window.cancel_time, window.add_time = (
        parse_iso_date(t) if t else None for t in times)
    window.last_repeat_sent = {int(k): parse_iso_date(v)
                               for k, v in (counters.get("repeat") or {}).items()}
    window.pending_open = {int(k): (v[0], parse_iso_date(v[1]))
                           for k, v in (counters.get("pending") or {}).items()}
    if row.last_command:
        last = dict(row.last_command)
        window.last_message_id = last.pop("message_id", None)
        window.last_command = MessageCommand.from_json(last)
    stored = row.entries if isinstance(row.entries, list) else []
    window.entries = [(parse_iso_date(d), m) for d, m in stored]
    window.db_id = int(row.id)
    return window


# -- alerts -----------------------------------------------------------------------------


def open_alert(conn: Connection, window: Window, *, metric: str, expression: str,
               filter_text: str, window_text: str, now: datetime) -> int:
    command = window.last_command
    result = conn.execute(_INSERT_ALERT, {
        "rule": window.rule, "window_key": window.key, "entity": window.entity,
        "tags": command.tags if command is not None else window.tags, "metric": metric,
        "severity": int(window.severity) if window.severity is not None else None,
        "open_time": now, "last_event_time": now, "repeat_count": 0, "acknowledged": False,
        "text_value": command.message if command is not None else "",
        "rule_expression": expression, "rule_filter": filter_text, "window": window_text,
        "received_date": now,
    })
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def close_alert(conn: Connection, window: Window, now: datetime, reason: str) -> None:
    """Move the window's open alert into history with its final counts and text."""
    if window.alert_id is None:
        return
    command = window.last_command
    conn.execute(update(alerts).where(alerts.c.id == window.alert_id).values(
        close_time=now, close_reason=reason, repeat_count=window.repeat_count,
        last_event_time=window.last_event_time or now, acknowledged=window.acknowledged,
        severity=int(window.severity) if window.severity is not None else None,
        text_value=command.message if command is not None else "",
        last_alert_text=window.last_text,
    ))


def set_acknowledged(conn: Connection, window: Window, acknowledged: bool) -> None:
    conn.execute(update(alerts).where(alerts.c.id == window.alert_id)
                 .values(acknowledged=acknowledged))
    if window.db_id is not None:
        conn.execute(update(rule_windows).where(rule_windows.c.id == window.db_id)
                     .values(acknowledged=acknowledged))


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
    opened, closed = _aware(row.open_time), _aware(row.close_time)
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
        "date": format_iso_date(closed),
        "alertOpenDate": format_iso_date(opened),
        "alertDuration": int((closed - opened).total_seconds() * 1000),
        "receivedDate": format_iso_date(_aware(row.received_date) or opened),
        "acknowledged": bool(row.acknowledged),
    }


# -- rule errors and silences -------------------------------------------------------------


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
        "id": int(row.id), "time": format_iso_date(_aware(row.at) or row.at), "rule": row.rule,
        "expression": row.expression, "reason": row.reason, "command": row.command,
    } for row in conn.execute(query)]


def save_silence(conn: Connection, rule: str, until: datetime, now: datetime) -> None:
    conn.execute(delete(rule_silences).where(rule_silences.c.rule == rule))
    conn.execute(insert(rule_silences).values(rule=rule, until=until, created_at=now))


def delete_silence(conn: Connection, rule: str) -> bool:
    return bool(conn.execute(delete(rule_silences).where(rule_silences.c.rule == rule)).rowcount)


def load_silences(conn: Connection) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for row in conn.execute(select(rule_silences)):
        until = _aware(row.until)
        if until is not None:
            found[row.rule] = until
    return found


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
