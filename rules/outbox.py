"""The durable outbox: notifications written with the state change that caused them, then sent.

The engine calls :func:`write` inside the command's transaction. :class:`OutboxSender` later
claims due rows with a conditional ``UPDATE`` (so two instances never send the same row),
delivers each through its endpoint, records every attempt in ``outbox_attempts`` and either
marks the row delivered, schedules a retry (exponential backoff with jitter, or the
endpoint's ``retry_after``), or after ``max_attempts`` marks it ``failed`` with the error,
where the diagnostics API shows it and :meth:`OutboxSender.retry_now` can revive it.

The row id is the notification's stable id: the Rocket.Chat endpoint uses it as the chat
message ``_id``, so a send repeated after a crash is a no-op on the server.

**Decision:** rows of one alert and endpoint go out in order: a repeat or cancel waits while
an earlier row of the same alert is still pending (e.g. backing off), so a chat never shows a
cancel before its open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from rules.clock import Clock
from rules.command import format_iso_date
from rules.notify import DeliveryError, DeliveryResult, Endpoint, Notification
from rules.store import Database
from rules.store.engine_schema import outbox, outbox_attempts

log = logging.getLogger("atsd_bot.outbox")

ACTIVE = ("pending", "sending")
MAX_ROUNDS = 10
# built once: a statement with literal values is re-compiled on every call
_INSERT = insert(outbox)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def write(conn: Connection, note: Notification, *, status: str, now: datetime) -> int:
    """Store one notification; sets and returns ``note.id``."""
    due = note.due_at or now
    result = conn.execute(_INSERT, {
        "created_at": now, "due_at": due, "next_attempt_at": due, "rule": note.rule,
        "endpoint": note.endpoint, "trigger": note.trigger, "alert_id": note.alert_id,
        "text": note.text, "target": note.target, "status": status, "attempts": 0,
        "delivered_at": now if status == "response" else None,
    })
    note.id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return note.id


def cancel_held(conn: Connection, outbox_id: int, now: datetime) -> bool:
    """Cancel a delayed open that is not yet due; False when it is already being sent."""
    return bool(conn.execute(
        update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == "pending", outbox.c.due_at > now)
        .values(status="cancelled", detail="window cancelled within the open delay")
    ).rowcount)


def row_to_notification(row: Any) -> Notification:
    return Notification(rule=row.rule, endpoint=row.endpoint, trigger=row.trigger,
                        text=row.text, alert_id=row.alert_id, target=dict(row.target or {}),
                        due_at=_aware(row.due_at), id=int(row.id))


def recent(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The notification log, newest first: each row with its status and last error."""
    query = select(outbox).order_by(outbox.c.id.desc())
    if limit > 0:
        query = query.limit(limit)
    return [_describe(row) for row in conn.execute(query)]


def _describe(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        value = _aware(value)
        return format_iso_date(value) if value is not None else None

    return {
        "id": int(row.id), "created": iso(row.created_at), "due": iso(row.due_at),
        "rule": row.rule, "endpoint": row.endpoint, "trigger": row.trigger,
        "alert_id": row.alert_id, "text": row.text, "target": row.target,
        "status": row.status, "attempts": int(row.attempts), "last_error": row.last_error,
        "last_status_code": row.last_status_code, "next_attempt": iso(row.next_attempt_at),
        "delivered": iso(row.delivered_at), "detail": row.detail,
    }


def attempts(conn: Connection, outbox_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(outbox_attempts).where(outbox_attempts.c.outbox_id == outbox_id)
                        .order_by(outbox_attempts.c.id))
    return [{"at": format_iso_date(_aware(r.at) or r.at), "outcome": r.outcome,
             "status_code": r.status_code, "error": r.error, "duration_ms": r.duration_ms}
            for r in rows]


FINISHED = ("delivered", "cancelled", "silenced", "response")


def prune(db: Database, before: datetime) -> int:
    """Delete finished rows (and their attempts) created before ``before``; failed and
    pending rows stay. Returns how many rows went. For a daily job of the service."""
    with db.begin() as conn:
        old = select(outbox.c.id).where(outbox.c.status.in_(FINISHED),
                                        outbox.c.created_at < before)
        conn.execute(delete(outbox_attempts).where(outbox_attempts.c.outbox_id.in_(old)))
        return int(conn.execute(delete(outbox).where(outbox.c.status.in_(FINISHED),
                                                     outbox.c.created_at < before)).rowcount)


class OutboxSender:
    """Delivers due outbox rows; ``run_once`` is one pass, the loops below repeat it."""

    def __init__(self, db: Database, endpoints: Mapping[str, Endpoint], clock: Clock,
                 settings: Any, *, instance: str | None = None, batch: int = 50,
                 claim_seconds: float = 300.0, rng: random.Random | None = None) -> None:
        self.db = db
        self.endpoints = endpoints
        self.clock = clock
        self.max_attempts = int(settings.max_attempts)
        self.backoff = float(settings.backoff_seconds)
        self.max_backoff = float(settings.max_backoff_seconds)
        self.instance = instance or f"sender-{uuid.uuid4().hex[:8]}"
        self.batch = batch
        # a row claimed longer ago than this belonged to a sender that died mid-send
        self.claim_timeout = timedelta(seconds=claim_seconds)
        self.rng = rng or random.Random()
        self._next_release: datetime | None = None  # stale claims are looked for now and then

    def run_once(self) -> int:
        """Deliver every due row this instance can claim; returns how many were attempted."""
        now = self.clock.now()
        if self._next_release is None or now >= self._next_release:
            self._release_stale(now)
            self._next_release = now + self.claim_timeout / 10
        done = 0
        # A row held back behind an earlier one of its alert may go once that one is out:
        # look again after a round that sent something (bounded, so a flood cannot pin us).
        for _ in range(MAX_ROUNDS):
            sent = 0
            for row_id in self._due_ids(now):
                row = self._claim(row_id, now)
                if row is not None:
                    self._deliver(row)
                    sent += 1
            done += sent
            if not sent:
                break
        return done

    def retry_now(self, outbox_id: int) -> bool:
        """Send a failed (or backing-off) row at the next pass, with a fresh set of attempts."""
        with self.db.begin() as conn:
            return bool(conn.execute(
                update(outbox).where(outbox.c.id == outbox_id,
                                     outbox.c.status.in_(("failed", "pending")))
                .values(status="pending", attempts=0, next_attempt_at=self.clock.now())
            ).rowcount)

    def _release_stale(self, now: datetime) -> None:
        with self.db.begin() as conn:
            conn.execute(update(outbox).where(
                outbox.c.status == "sending", outbox.c.claimed_at < now - self.claim_timeout
            ).values(status="pending", claimed_by=None))

    def _due_ids(self, now: datetime) -> list[int]:
        with self.db.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.alert_id, outbox.c.endpoint)
                .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
                .order_by(outbox.c.id).limit(self.batch)
            ).all()
            alert_ids = {r.alert_id for r in rows if r.alert_id is not None}
            first: dict[tuple[int, str], int] = {}
            if alert_ids:
                for r in conn.execute(
                    select(outbox.c.alert_id, outbox.c.endpoint, func.min(outbox.c.id))
                    .where(outbox.c.alert_id.in_(alert_ids), outbox.c.status.in_(ACTIVE))
                    .group_by(outbox.c.alert_id, outbox.c.endpoint)
                ):
                    first[(r[0], r[1])] = int(r[2])
        return [int(r.id) for r in rows
                if r.alert_id is None or first.get((r.alert_id, r.endpoint), r.id) == r.id]

    def _claim(self, row_id: int, now: datetime) -> Any:
        with self.db.begin() as conn:
            claimed = conn.execute(
                update(outbox).where(outbox.c.id == row_id, outbox.c.status == "pending")
                .values(status="sending", claimed_by=self.instance, claimed_at=now)
            ).rowcount
            if not claimed:
                return None  # another sender got it first
            return conn.execute(select(outbox).where(outbox.c.id == row_id)).first()

    def _deliver(self, row: Any) -> None:
        note = row_to_notification(row)
        attempt = int(row.attempts) + 1
        endpoint = self.endpoints.get(note.endpoint)
        started = time.monotonic()
        try:
            if endpoint is None:
                raise DeliveryError(f"no endpoint named {note.endpoint!r} is configured",
                                    retryable=False)
            result = endpoint.deliver(note)
        except DeliveryError as exc:
            self._failed(note, attempt, exc, started)
        except Exception as exc:  # an endpoint bug must not stop the sender
            log.exception("endpoint %s raised on notification %s", note.endpoint, note.id)
            self._failed(note, attempt, DeliveryError(f"{type(exc).__name__}: {exc}"), started)
        else:
            self._delivered(note, attempt, result, started)

    def _delivered(self, note: Notification, attempt: int, result: DeliveryResult,
                   started: float) -> None:
        now = self.clock.now()
        with self.db.begin() as conn:
            self._finish(conn, note, now, status="delivered", attempts=attempt,
                         delivered_at=now, last_status_code=result.status,
                         detail=result.detail or None, last_error=None)
            self._attempt(conn, note, now, "delivered", result.status, None, started)
        log.info("notification %s delivered: rule=%s endpoint=%s trigger=%s alert=%s "
                 "attempt=%d status=%s", note.id, note.rule, note.endpoint, note.trigger,
                 note.alert_id, attempt, result.status)

    def _failed(self, note: Notification, attempt: int, error: DeliveryError,
                started: float) -> None:
        now = self.clock.now()
        final = not error.retryable or attempt >= self.max_attempts
        retry_at = now + timedelta(seconds=self.delay(attempt, error.retry_after))
        with self.db.begin() as conn:
            values: dict[str, Any] = {"attempts": attempt, "last_error": error.reason,
                                      "last_status_code": error.status}
            if final:
                self._finish(conn, note, now, status="failed", **values)
            else:
                self._finish(conn, note, now, status="pending", next_attempt_at=retry_at,
                             **values)
            self._attempt(conn, note, now, "failed" if final else "retry", error.status,
                          error.reason, started)
        log.warning("notification %s %s: rule=%s endpoint=%s trigger=%s alert=%s attempt=%d/%d "
                    "status=%s error=%s", note.id, "failed" if final else "will be retried",
                    note.rule, note.endpoint, note.trigger, note.alert_id, attempt,
                    self.max_attempts, error.status, error.reason)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: the server's word, else backoff with jitter."""
        if retry_after is not None and retry_after >= 0:
            return float(retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        # "equal jitter": at least half the backoff, so retries never bunch up at zero
        return ceiling / 2 + self.rng.random() * ceiling / 2

    def _finish(self, conn: Connection, note: Notification, now: datetime, *, status: str,
                **values: Any) -> None:
        conn.execute(update(outbox).where(outbox.c.id == note.id, outbox.c.status == "sending",
                                          outbox.c.claimed_by == self.instance)
                     .values(status=status, claimed_by=None, **values))

    def _attempt(self, conn: Connection, note: Notification, now: datetime, outcome: str,
                 status: int | None, error: str | None, started: float) -> None:
        conn.execute(insert(outbox_attempts).values(
            outbox_id=note.id, at=now, outcome=outcome, status_code=status, error=error,
            duration_ms=int((time.monotonic() - started) * 1000)))


class SenderThread:
    """Runs ``sender.run_once`` every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, sender: OutboxSender, interval: float = 1.0) -> None:
        self.sender = sender
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Deliver now instead of at the next interval (e.g. right after a commit)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sender.run_once()
            except Exception:  # the store may be briefly unavailable; try again next round
                log.exception("outbox pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()


async def run_forever(sender: OutboxSender, stop: asyncio.Event, interval: float = 1.0) -> None:
    """The asyncio form of :class:`SenderThread`: passes run in a worker thread."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(sender.run_once)
        except Exception:
            log.exception("outbox pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
