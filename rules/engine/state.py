"""The engine's state as rows: a window to its row and back, an alert's open and close values.

The SQL lives in :mod:`rules.store.engine_state`; this module turns the in-memory
:class:`~rules.engine.windows.Window` into the values it writes, and a stored row back into a
window. Everything runs on a connection the caller owns, so each write joins the transaction
of the command (or tick) that caused it. The hot path costs one ``UPDATE`` of the window row
per state change (an ``INSERT`` for a new window), plus an alert row when an alert opens or
closes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rules.clock import aware
from rules.command import MessageCommand, Severity, format_iso_date, parse_iso_date
from rules.engine.status import Status
from rules.engine.windows import Window
from rules.store import engine_state as rows
from rules.store.hot_rows import RawJSON, remembering

MAX_STORED_ENTRIES = 200  # time-window entries kept in the window row; more: replay at restore


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
        "counters": _counters(window),
        "updated_at": now,
    }


def _counters(window: Window) -> RawJSON:
    """The ``counters`` column's JSON: the last repeat sent and the held open per
    notification index, the repeat, cancel and add times, the status before.

    Made as text, since every value is of a known kind: ints, ISO times (digits and
    ``-:.TZ``), status names; the same text ``json_text`` makes of the dict
    ``{"repeat": {"0": time}, "pending": {"0": [outbox id, time]}, "times": [...],
    "before": status}`` (tests/engine/test_window_writes.py), at a fraction of the cost.
    """
    repeat = ", ".join([f'"{k}": "{_iso(v)}"' for k, v in window.last_repeat_sent.items()])
    pending = ", ".join([f'"{k}": [{"null" if i is None else int(i)}, "{_iso(d)}"]'
                         for k, (i, d) in window.pending_open.items()])
    times = ", ".join([f'"{_iso(t)}"' if t else "null" for t in
                       (window.repeat_time, window.cancel_time, window.add_time)])
    return RawJSON(f'{{"repeat": {{{repeat}}}, "pending": {{{pending}}}, "times": [{times}], '
                   f'"before": "{window.before_status.value}"}}')


# a window's times are mostly the command's ``now`` (repeat, add and repeat-sent times) or
# its alert's open time, the same objects each time: remembered by identity, which costs less
# than format_iso_date's own table of texts (a hash of the datetime)
_iso = remembering(format_iso_date)


def _entries_value(window: Window) -> Any:
    entries = window.entries or ()
    if len(entries) > MAX_STORED_ENTRIES:
        # A big time window is rebuilt from the message store at restore instead: writing
        # thousands of entries on every command would make the hot path O(window size).
        return {"replay": True, "count": len(entries)}
    if not entries:
        return _NO_ENTRIES  # a length window's, always
    return [[_iso(d), m] for d, m in entries]


_NO_ENTRIES = RawJSON("[]")


def save_windows(conn: Connection, windows: list[tuple[Window, str]], now: datetime) -> None:
    """Write each (window, its rule's fingerprint): the windows the store has in one batch
    of UPDATEs, a window new to the store by an INSERT (its ``db_id`` is set)."""
    updates: list[tuple[int, dict[str, Any]]] = []
    for window, fingerprint in windows:
        values = _window_values(window, now)
        if window.db_id is not None:
            updates.append((window.db_id, values))
            continue
        window.db_id = rows.insert_window(conn, {
            "rule": window.rule, "key": window.key, "fingerprint": fingerprint,
            "entity": window.entity, "tags": window.tags, **values})
    if updates:
        rows.update_windows(conn, updates)


def delete_window(conn: Connection, window: Window) -> None:
    if window.db_id is not None:
        rows.delete_window(conn, window.db_id)


def load_windows(conn: Connection) -> list[tuple[str, Window, bool]]:
    """Every stored window, the fingerprint of the rule it was built under, and whether its
    entries must be replayed from the message store (a big time window).

    ``entries`` comes back as a list for every window; the engine sets it to None again for
    length windows, which do not keep entries.
    """
    return [(row.fingerprint, row_to_window(row), isinstance(row.entries, dict))
            for row in rows.window_rows(conn)]


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
    window.open_time = aware(row.open_time)
    window.last_event_time = aware(row.last_event_time)
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
    return rows.insert_alert(conn, {
        "rule": window.rule, "window_key": window.key, "entity": window.entity,
        "tags": command.tags if command is not None else window.tags, "metric": metric,
        "severity": int(window.severity) if window.severity is not None else None,
        "open_time": now, "last_event_time": now, "repeat_count": 0, "acknowledged": False,
        "text_value": command.message if command is not None else "",
        "rule_expression": expression, "rule_filter": filter_text, "window": window_text,
        "received_date": now,
    })


def close_alert(conn: Connection, window: Window, now: datetime, reason: str, *,
                by: str | None = None, note: str | None = None) -> None:
    """Move the window's open alert into history with its final counts and text (and, when
    closed by hand, who and why)."""
    if window.alert_id is None:
        return
    command = window.last_command
    rows.close_alert(conn, window.alert_id, {
        "close_time": now, "close_reason": reason, "repeat_count": window.repeat_count,
        "last_event_time": window.last_event_time or now, "acknowledged": window.acknowledged,
        "severity": int(window.severity) if window.severity is not None else None,
        "text_value": command.message if command is not None else "",
        "last_alert_text": window.last_text, "closed_by": by, "close_note": note,
    })


def set_acknowledged(conn: Connection, window: Window, acknowledged: bool, *,
                     by: str | None = None, reason: str | None = None) -> None:
    rows.set_acknowledged(conn, window.alert_id, window.db_id, acknowledged, by=by,
                          reason=reason)
