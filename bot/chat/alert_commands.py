"""Chat commands on alerts: ``alerts [MATCHERS]``, ``alert ID``, ``ack``, ``unack``, ``resolve``.

Changes run in the transaction that claims the command (``request.conn``), so the change and
the answer commit together. ``who`` is the Rocket.Chat user name as ``@name``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.chat.commands import (
    MAX_ANSWER,
    Answer,
    Kit,
    Refused,
    Request,
    Usage,
    code,
    parse_id,
    reason_of,
)
from bot.chat.replies import age, short
from bot.rest.living import alert_page_url
from rules.command import format_iso_date, parse_iso_date
from rules.silences import MatcherError, facts_of, matches_all, parse_words

MAX_LINES = 20


def list_alerts(kit: Kit, request: Request) -> Answer:
    try:
        matchers = parse_words(request.args) if request.args else []
    except MatcherError as exc:
        raise Usage(str(exc)) from None
    now = kit.clock.now()
    found = [a for a in kit.engine.open_alerts()
             if not matchers or matches_all(matchers, facts_of(a))]
    if not found:
        return Answer("No open alerts" + (" match." if matchers else "."))
    found.sort(key=lambda a: (str(a.get("openDate") or ""), a.get("id") or 0), reverse=True)
    lines = [f"{len(found)} open alert(s), newest first:"]
    for alert in found[:MAX_LINES]:
        lines.append(_line(kit, request, alert, now))
    if len(found) > MAX_LINES:
        lines.append(f"… and {len(found) - MAX_LINES} more (narrow with matchers, or see the "
                     "Open Alerts page).")
    return Answer("\n".join(lines)[:MAX_ANSWER])


def _line(kit: Kit, request: Request, alert: dict[str, Any], now: datetime) -> str:
    marks = []
    if alert.get("acknowledged"):
        marks.append("acknowledged")
    silence = kit.engine.silence_covering(facts_of(alert), now, request.conn)
    if silence is not None:
        marks.append(f"silenced by #{silence.id}")
    opened = _date(alert.get("openDate"))
    since = f", {age(now - opened)} old" if opened else ""
    mark = f" ({', '.join(marks)})" if marks else ""
    return (f"• #{alert.get('id')} [{alert.get('severity') or '-'}] {alert.get('rule')} / "
            f"{alert.get('entity')}{since}{mark}: {short(str(alert.get('textValue') or ''))}")


def show_alert(kit: Kit, request: Request) -> Answer:
    alert_id = _one_id(request)
    detail = kit.engine.alert_detail(alert_id, request.conn)
    if detail is None:
        raise Refused(f"no alert #{alert_id}")
    row, live = detail["row"] or {}, detail["live"]
    now = kit.clock.now()
    status = live["status"] if live else f"closed ({row.get('close_reason') or 'CANCEL'})"
    tags = (live or {}).get("tags") or row.get("tags") or {}
    lines = [f"alert #{alert_id}: {row.get('rule') or (live or {}).get('rule')} / "
             f"{row.get('entity') or (live or {}).get('entity')}, {status}"]
    severity = (live or {}).get("severity") or _severity(row.get("severity"))
    lines.append(f"severity {severity or '-'}; tags: "
                 + (", ".join(f"{k}={short(str(v), 60)}" for k, v in tags.items()) or "none"))
    lines += _times(live, row, now)
    text = (live or {}).get("textValue") or row.get("text_value") or ""
    lines.append(f"last message: {short(str(text), 300)}")
    lines.append(_ack_line(live, row))
    if row.get("close_time"):
        who = f" by {row['closed_by']}" if row.get("closed_by") else ""
        note = f": {short(row['close_note'], 200)}" if row.get("close_note") else ""
        lines.append(f"closed {format_iso_date(row['close_time'])}{who}{note}")
    if live:
        silence = kit.engine.silence_covering(facts_of(live), now, request.conn)
        lines.append(f"silenced by #{silence.id} (`{silence.describe()}`) until "
                     f"{format_iso_date(silence.ends_at)}" if silence else "not silenced")
    if kit.public_url:
        lines.append(alert_page_url(kit.public_url, alert_id))
    return Answer("\n".join(lines)[:MAX_ANSWER])


def _times(live: dict[str, Any] | None, row: dict[str, Any], now: datetime) -> list[str]:
    opened = _date((live or {}).get("openDate")) or row.get("open_time")
    last = _date((live or {}).get("lastEventDate")) or row.get("last_event_time")
    repeats = (live or {}).get("repeatCount", row.get("repeat_count", 0))
    out = []
    if opened:
        out.append(f"opened {format_iso_date(opened)} ({age(now - opened)} ago), "
                   f"last event {format_iso_date(last) if last else '-'}, repeats {repeats}")
    return out


def _ack_line(live: dict[str, Any] | None, row: dict[str, Any]) -> str:
    acked = (live or {}).get("acknowledged", row.get("acknowledged"))
    if not acked:
        took = f" (taken back by {row['ack_by']})" if row.get("ack_by") else ""
        return "not acknowledged" + took
    who = f" by {row['ack_by']}" if row.get("ack_by") else ""
    why = f": {short(row['ack_reason'], 200)}" if row.get("ack_reason") else ""
    return f"acknowledged{who}{why}"


def ack(kit: Kit, request: Request) -> Answer:
    alert_id = parse_id(_first(request), "an alert")
    reason = reason_of(request.args[1:])
    if not kit.engine.acknowledge(alert_id, True, by=request.asker, reason=reason or None,
                                  conn=request.conn):
        raise Refused(f"no alert #{alert_id} (see `alerts`)")
    why = f": {code(reason, 200)}" if reason else ""
    return Answer(f"alert #{alert_id} acknowledged by {request.asker}{why}")


def unack(kit: Kit, request: Request) -> Answer:
    alert_id = _one_id(request)
    if not kit.engine.acknowledge(alert_id, False, by=request.asker, conn=request.conn):
        raise Refused(f"no alert #{alert_id} (see `alerts`)")
    return Answer(f"alert #{alert_id} no longer acknowledged ({request.asker})")


def resolve(kit: Kit, request: Request) -> Answer:
    alert_id = parse_id(_first(request), "an alert")
    reason = reason_of(request.args[1:])
    if not kit.engine.resolve(alert_id, by=request.asker, reason=reason, conn=request.conn):
        raise Refused(f"no alert #{alert_id} (see `alerts`)")
    why = f": {code(reason, 200)}" if reason else ""
    return Answer(f"alert #{alert_id} resolved by {request.asker}{why}. It is in the history "
                  "now; its window starts again from CANCEL.")


def _first(request: Request) -> str:
    if not request.args:
        raise Usage("the alert id is missing")
    return request.args[0]


def _one_id(request: Request) -> int:
    if len(request.args) != 1:
        raise Usage("give exactly one alert id")
    return parse_id(request.args[0], "an alert")


def _date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return parse_iso_date(value) if value else None
    except ValueError:
        return None


def _severity(code_value: Any) -> str | None:
    from rules.command import Severity

    try:
        return Severity(int(code_value)).name if code_value is not None else None
    except ValueError:
        return None
