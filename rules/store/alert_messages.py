"""The living alert messages' rows (:mod:`rules.store.tables.living`): SQL only.

The engine side (:mod:`rules.living.stories`) writes them inside the command's transaction;
the delivery side (:mod:`rules.living.views`) reads them to render a message as it stands now.
Functions take and return plain values and rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from rules.store.tables.engine import outbox
from rules.store.tables.living import living_alerts, living_messages

# -- messages ----------------------------------------------------------------------------


def insert_message(conn: Connection, *, kind: str, endpoint: str, room_id: str,
                   message_id: str, outbox_id: int, text: str, reacted: list[str],
                   now: datetime) -> int:
    """A room message the bot keeps alive; its row id."""
    result = conn.execute(insert(living_messages).values(
        kind=kind, endpoint=endpoint, room_id=room_id, message_id=message_id,
        outbox_id=outbox_id, text=text, reacted=reacted, created_at=now))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def message_row(conn: Connection, row_id: int) -> Any:
    return conn.execute(select(living_messages).where(living_messages.c.id == row_id)).first()


def message_by_chat_id(conn: Connection, message_id: str) -> Any:
    return conn.execute(select(living_messages)
                        .where(living_messages.c.message_id == message_id)).first()


def withdrawn(conn: Connection, row_id: int) -> bool:
    """Whether the message's post was withdrawn (a delayed open whose window cancelled in
    time): then nothing may bring it up to date, which would post it after all."""
    status = conn.execute(
        select(outbox.c.status).select_from(
            living_messages.join(outbox, outbox.c.id == living_messages.c.outbox_id))
        .where(living_messages.c.id == row_id)).scalar()
    return status == "cancelled"


def set_reacted(conn: Connection, row_id: int, reacted: list[str]) -> None:
    conn.execute(update(living_messages).where(living_messages.c.id == row_id)
                 .values(reacted=reacted))


def alert_messages_since(conn: Connection, room_id: str, endpoint: str,
                         since: datetime) -> int:
    """How many alert messages (not summaries) were posted in the room since ``since``."""
    return int(conn.execute(
        select(func.count()).select_from(living_messages)
        .where(living_messages.c.room_id == room_id, living_messages.c.kind == "alert",
               living_messages.c.endpoint == endpoint, living_messages.c.created_at > since)
    ).scalar_one())


def current_summary(conn: Connection, room_id: str, endpoint: str, since: datetime) -> Any:
    """The room's newest summary message created after ``since``, or None."""
    return conn.execute(
        select(living_messages)
        .where(living_messages.c.room_id == room_id, living_messages.c.kind == "summary",
               living_messages.c.endpoint == endpoint, living_messages.c.created_at > since)
        .order_by(living_messages.c.id.desc()).limit(1)).first()


# -- alerts ------------------------------------------------------------------------------


def insert_alert(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(insert(living_alerts).values(**values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_alert(conn: Connection, row_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(living_alerts).where(living_alerts.c.id == row_id).values(**values))


def alert_rows(conn: Connection, alert_id: int, slot: int | None = None) -> list[Any]:
    """The rows of one alert (one per Rocket.Chat notification slot), with their message."""
    query = (select(living_alerts, living_messages.c.kind, living_messages.c.room_id,
                    living_messages.c.message_id, living_messages.c.text,
                    living_messages.c.endpoint, living_messages.c.reacted)
             .join(living_messages, living_messages.c.id == living_alerts.c.message_row)
             .where(living_alerts.c.alert_id == alert_id))
    if slot is not None:
        query = query.where(living_alerts.c.slot == slot)
    return list(conn.execute(query.order_by(living_alerts.c.slot)))


def latest_of_window(conn: Connection, rule: str, window_key: str, slot: int) -> Any:
    """The newest row of a window's alerts for one slot (the candidate for a reopening)."""
    return conn.execute(
        select(living_alerts)
        .where(living_alerts.c.rule == rule, living_alerts.c.window_key == window_key,
               living_alerts.c.slot == slot)
        .order_by(living_alerts.c.id.desc()).limit(1)).first()


def latest_of_message(conn: Connection, row_id: int) -> Any:
    """The newest alert living in message ``row_id`` (an alert message's current story)."""
    return conn.execute(
        select(living_alerts).where(living_alerts.c.message_row == row_id)
        .order_by(living_alerts.c.id.desc()).limit(1)).first()


def summary_members(conn: Connection, row_id: int, limit: int) -> tuple[list[Any], int, int]:
    """(the newest ``limit`` alerts folded into summary ``row_id``, how many alerts, how many
    of them are resolved). An alert that reopened in the summary counts once, as its newest
    row."""
    newest = (select(func.max(living_alerts.c.id).label("id"))
              .where(living_alerts.c.message_row == row_id)
              .group_by(living_alerts.c.rule, living_alerts.c.window_key, living_alerts.c.slot)
              .subquery())
    rows = list(conn.execute(
        select(living_alerts).where(living_alerts.c.id.in_(select(newest.c.id)))
        .order_by(living_alerts.c.id).limit(limit)))
    total, resolved = conn.execute(
        select(func.count(), func.count().filter(living_alerts.c.state == "resolved"))
        .select_from(living_alerts).where(living_alerts.c.id.in_(select(newest.c.id)))).one()
    return rows, int(total), int(resolved)
