"""Pruning by age: stored messages, request log, incidents, alert history, notifications, errors.

What is never pruned, whatever the age:

- open alerts (``close_time`` null), and closed alerts a notification still waiting in the
  outbox refers to;
- the rule windows (they are state, not history);
- notifications still waiting to go out (``pending``, ``sending``);
- stored messages a window still holds (its entries name them), messages the engine has not
  processed yet, and, while a big time window is rebuilt from the store at restart (a window
  row marked ``replay``), messages of the longest time window a rule may have.

Rows go in batches of :data:`BATCH`, each in its own short transaction, so that a running
service's writers wait at most one batch. ``dry_run`` counts what would go and deletes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, select

from rules.definitions.durations import MAX_TIME_WINDOW
from rules.store.db import Database
from rules.store.tables.base import messages, processed_keys, security_incidents, webhook_requests
from rules.store.tables.engine import alerts, outbox, outbox_attempts, rule_errors, rule_windows

__all__ = ["BATCH", "FINAL_OUTBOX", "KINDS", "prune"]

BATCH = 2000
# outbox rows that will never be sent again: history
FINAL_OUTBOX = ("delivered", "failed", "silenced", "response", "cancelled")
KINDS = ("messages", "webhook_requests", "security_incidents", "alerts", "notifications",
         "rule_errors")


@dataclass(frozen=True)
class _Target:
    table: Any
    key: Any  # the column the batches walk
    where: Callable[[datetime], Any]  # rows older than the cutoff that may go


def _targets() -> dict[str, _Target]:
    waiting = select(outbox.c.alert_id).where(outbox.c.status.in_(("pending", "sending")),
                                              outbox.c.alert_id.is_not(None))
    return {
        "webhook_requests": _Target(webhook_requests, webhook_requests.c.id,
                                    lambda cut: webhook_requests.c.received_at < cut),
        "security_incidents": _Target(security_incidents, security_incidents.c.id,
                                      lambda cut: security_incidents.c.at < cut),
        "rule_errors": _Target(rule_errors, rule_errors.c.id, lambda cut: rule_errors.c.at < cut),
        "alerts": _Target(alerts, alerts.c.id, lambda cut: and_(
            alerts.c.close_time.is_not(None), alerts.c.close_time < cut,
            alerts.c.id.not_in(waiting))),
        "notifications": _Target(outbox, outbox.c.id, lambda cut: and_(
            outbox.c.status.in_(FINAL_OUTBOX), outbox.c.created_at < cut)),
    }


def prune(db: Database, cutoffs: Mapping[str, datetime | None], *, now: datetime,
          dry_run: bool = False) -> dict[str, int]:
    """Remove (or, with ``dry_run``, count) each kind's rows older than its cutoff.

    ``cutoffs``: kind (one of :data:`KINDS`) -> the oldest time kept; None keeps all of that
    kind. Returns kind -> rows removed (or that would be).
    """
    unknown = set(cutoffs) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kind of record: {sorted(unknown)[0]}")
    removed: dict[str, int] = {}
    targets = _targets()
    for kind in KINDS:
        cut = cutoffs.get(kind)
        if cut is None:
            continue
        if kind == "messages":
            removed[kind] = _prune_messages(db, cut, now, dry_run)
        else:
            removed[kind] = _prune(db, targets[kind], cut, dry_run,
                                   before=_attempts if kind == "notifications" else None)
    return removed


def _prune(db: Database, target: _Target, cut: datetime, dry_run: bool,
           before: Callable[[Connection, list[int]], None] | None = None) -> int:
    total, last = 0, None
    while True:
        query = select(target.key).where(target.where(cut)).order_by(target.key).limit(BATCH)
        if last is not None:
            query = query.where(target.key > last)
        with db.begin() as conn:
            ids = [row[0] for row in conn.execute(query)]
            if ids and not dry_run:
                if before is not None:
                    before(conn, ids)
                conn.execute(delete(target.table).where(target.key.in_(ids)))
        total += len(ids)
        if len(ids) < BATCH:
            return total
        last = ids[-1]


def _attempts(conn: Connection, outbox_ids: list[int]) -> None:
    conn.execute(delete(outbox_attempts).where(outbox_attempts.c.outbox_id.in_(outbox_ids)))


def _prune_messages(db: Database, cut: datetime, now: datetime, dry_run: bool) -> int:
    with db.connect() as conn:
        held, replaying = _held_by_windows(conn)
    condition = and_(messages.c.received_at < cut, messages.c.processed.is_(True))
    if replaying:  # rebuilt from the store at restart: keep the longest span a window may have
        condition = and_(condition, messages.c.date < now - timedelta(seconds=MAX_TIME_WINDOW))
    total, last = 0, None
    while True:
        query = select(messages.c.id).where(condition).order_by(messages.c.id).limit(BATCH)
        if last is not None:
            query = query.where(messages.c.id > last)
        with db.begin() as conn:
            ids = [row[0] for row in conn.execute(query)]
            going = [i for i in ids if i not in held]
            if going and not dry_run:
                conn.execute(delete(processed_keys).where(
                    processed_keys.c.message_id.in_(going)))
                conn.execute(delete(messages).where(messages.c.id.in_(going)))
        total += len(going)
        if len(ids) < BATCH:
            break
        last = ids[-1]
    # once-only keys of chat commands (no stored message) age with the messages
    keys = _Target(processed_keys, processed_keys.c.key, lambda c: and_(
        processed_keys.c.message_id.is_(None), processed_keys.c.first_seen_at < c))
    _prune(db, keys, cut, dry_run)
    return total


def _held_by_windows(conn: Connection) -> tuple[set[int], bool]:
    """Message ids the windows' entries name, and whether a window is rebuilt by replay."""
    held: set[int] = set()
    replaying = False
    for (entries,) in conn.execute(select(rule_windows.c.entries)):
        if isinstance(entries, dict):
            replaying = replaying or bool(entries.get("replay"))
            continue
        for entry in entries or ():
            if isinstance(entry, (list, tuple)) and len(entry) > 1 and isinstance(entry[1], int):
                held.add(entry[1])
    return held, replaying
