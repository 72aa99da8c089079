"""What the crash and instance tests expect, computed from the acknowledged sequence, and the
checks against the store and the simulator's rooms.

The rule (harness.RULE) is one alert per channel: a message other than ``resolved`` opens it
(``open <id>``) or repeats it (``repeat <id>``); ``resolved`` cancels an open alert
(``cancel <id>``) and is otherwise silent.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rules.store import Database
from rules.store.tables import base as schema
from rules.store.tables import engine as es
from tests.reliability.harness import BOT_USER


def make_plan(count: int, channels: list[str], prefix: str, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"id": f"{prefix}{i:06d}", "channel": channels[rng.randrange(len(channels))],
             "text": "resolved" if rng.random() < 0.25 else f"m{i}"} for i in range(count)]


def expected(plan: list[dict[str, Any]]) -> tuple[Counter[tuple[str, str]], set[str]]:
    """(room, text) replies that must be in the rooms exactly once, and channels left open."""
    replies: Counter[tuple[str, str]] = Counter()
    open_channels: set[str] = set()
    for message in plan:
        channel, mid = message["channel"], message["id"]
        if message["text"] == "resolved":
            if channel in open_channels:
                replies[(channel, f"cancel {mid}")] += 1
                open_channels.discard(channel)
        elif channel in open_channels:
            replies[(channel, f"repeat {mid}")] += 1
        else:
            replies[(channel, f"open {mid}")] += 1
            open_channels.add(channel)
    return replies, open_channels


def acknowledged(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def stored_ids(db_url: str) -> Counter[str]:
    db = Database(db_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(select(schema.messages.c.tags)).all()
    finally:
        db.dispose()
    return Counter(str((row.tags or {}).get("message_id")) for row in rows)


def open_alert_channels(db_url: str) -> list[str]:
    db = Database(db_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(select(es.alerts.c.tags)
                                .where(es.alerts.c.close_time.is_(None))).all()
    finally:
        db.dispose()
    return sorted(str((row.tags or {}).get("channel_id")) for row in rows)


def unprocessed(db_url: str) -> int:
    db = Database(db_url)
    try:
        with db.connect() as conn:
            return len(conn.execute(select(schema.messages.c.id)
                                    .where(schema.messages.c.processed.is_(False))).all())
    finally:
        db.dispose()


def room_replies(sim: Any, rooms: list[str]) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for rid in rooms:
        for doc in sim.messages(rid):
            if (doc.get("u") or {}).get("username") == BOT_USER:
                found[(rid, str(doc.get("msg")))] += 1
    return found


def outbox_texts(db_url: str) -> Counter[tuple[str, str]]:
    """(room, text) of every outbox row: a command run twice by the engine shows up here."""
    db = Database(db_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(select(es.outbox.c.target, es.outbox.c.text)).all()
    finally:
        db.dispose()
    return Counter((str((row.target or {}).get("room_id")), str(row.text)) for row in rows)


def stored_order(db_url: str) -> list[str]:
    """Message ids in the order the service stored (and so processed) them."""
    db = Database(db_url)
    try:
        with db.connect() as conn:
            rows = conn.execute(select(schema.messages.c.tags)
                                .order_by(schema.messages.c.id)).all()
    finally:
        db.dispose()
    return [str((row.tags or {}).get("message_id")) for row in rows]
