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
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, or_, select, update

from rules.clock import Clock
from rules.command import format_iso_date
from rules.notify import DeliveryError, Endpoint, Notification
from rules.store import Database
from rules.store.db import PreparedInsert
from rules.store.engine_schema import outbox, outbox_attempts

log = logging.getLogger("atsd_bot.outbox")

ACTIVE = ("pending", "sending")
MAX_ROUNDS = 10
# Compiled once and run on the DBAPI cursor (rules.store.db.PreparedInsert): one row per
# notification on the hot path, where SQLAlchemy's execute path cost more than SQLite.
_INSERT = PreparedInsert(outbox, (
    "created_at", "due_at", "next_attempt_at", "rule", "endpoint", "trigger", "alert_id",
    "text", "target", "status", "attempts", "delivered_at"))


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def write(conn: Connection, note: Notification, *, status: str, now: datetime) -> int:
    """Store one notification; sets and returns ``note.id``."""
    due = note.due_at or now
    note.id = _INSERT.run(conn, {
        "created_at": now, "due_at": due, "next_attempt_at": due, "rule": note.rule,
        "endpoint": note.endpoint, "trigger": note.trigger, "alert_id": note.alert_id,
        "text": note.text, "target": note.target, "status": status, "attempts": 0,
        "delivered_at": now if status == "response" else None,
    })
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
    """Delivers due outbox rows; ``run_once`` is one pass, the loops below repeat it.

    A pass is a few rounds of: one query for the due rows (each flagged when an earlier row
    of its alert is still active and not part of this round), one ``UPDATE ... RETURNING``
    that claims the ready ones, the deliveries in id order, then one transaction that records
    every outcome and attempt of the round. A row whose earlier row of the same alert did not
    go out is put back at once, as is every claim of a round that fails half-way (the store
    went away, say), so no reply waits for the stale-claim timeout. A row put back after it
    was in fact delivered is sent again: the Rocket.Chat endpoint's stable ``_id`` makes that
    a no-op in the room; an ``http`` endpoint may see it twice (at least once).
    """

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
        # claims of a failed round whose release failed too: put back at the next pass
        self._unreleased: set[int] = set()

    def run_once(self) -> int:
        """Deliver every due row this instance can claim; returns how many were attempted."""
        return self.run_pass()[0]

    def run_pass(self) -> tuple[int, int]:
        """:meth:`run_once`, returning (rows attempted, rows delivered)."""
        now = self.clock.now()
        if self._unreleased:
            self._release(set(self._unreleased))
        if self._next_release is None or now >= self._next_release:
            self._release_stale(now)
            self._next_release = now + self.claim_timeout / 10
        done = delivered = 0
        # Bounded, so a flood cannot pin one pass; the thread loops while passes deliver.
        for _ in range(MAX_ROUNDS):
            due = self._due(now)
            ready = [row for row in due if not row.held]
            sent, ok = self._round(ready, now) if ready else (0, 0)
            done, delivered = done + sent, delivered + ok
            # look again only when this round may have let a held row go, or left some out
            if not sent or (len(due) < self.batch and len(ready) == len(due)):
                break
            now = self.clock.now()
        return done, delivered

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

    def _due(self, now: datetime) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(_DUE, {"now": now, "limit": self.batch}))

    def _claim(self, row_id: int, now: datetime) -> Any:
        """Claim one row (None when another sender has it)."""
        rows = self._claim_rows([row_id], now)
        return rows[0] if rows else None

    def _claim_rows(self, ids: list[int], now: datetime) -> list[Any]:
        """Claim the rows still pending among ``ids``; the claimed rows in id order."""
        params = {"ids": ids, "me": self.instance, "at": now}
        with _light_transaction(self.db) as conn:
            if conn.dialect.update_returning:
                rows = list(conn.execute(_CLAIM_RETURNING, params))
            else:  # an old SQLite: claim, then read what this claim got
                conn.execute(_CLAIM, params)
                rows = list(conn.execute(_CLAIMED, params))
        return sorted(rows, key=lambda row: int(row.id))

    def _round(self, ready: list[Any], now: datetime) -> tuple[int, int]:
        """Claim and deliver ``ready``; every claim not finished is released before return."""
        rows = self._claim_rows([int(row.id) for row in ready], now)
        claimed = {int(row.id) for row in rows}
        finished: set[int] = set()
        delivered = 0
        try:
            outcomes = self._deliver_in_order(_in_order(ready, rows))
            self._record(outcomes)
            finished = {o.note_id for o in outcomes}
            delivered = sum(o.status == "delivered" for o in outcomes)
        finally:
            if claimed - finished:
                self._release(claimed - finished)
        return len(finished), delivered

    def _deliver_in_order(self, rows: list[Any]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        stopped: set[tuple[int, str]] = set()  # alerts whose earlier row did not go out
        for row in rows:
            key = (row.alert_id, row.endpoint)
            if row.alert_id is not None and key in stopped:
                continue  # released below; it goes after its predecessor
            outcome = self._deliver(row)
            outcomes.append(outcome)
            if outcome.status != "delivered" and row.alert_id is not None:
                stopped.add(key)
        return outcomes

    def _release(self, ids: set[int]) -> None:
        try:
            with self.db.begin() as conn:
                conn.execute(_RELEASE, {"ids": sorted(ids), "me": self.instance})
        except Exception:  # the store is away: keep them and try again at the next pass
            log.exception("outbox: %d claim(s) could not be released; retried next pass",
                          len(ids))
            self._unreleased.update(ids)
        else:
            self._unreleased.difference_update(ids)

    def _deliver(self, row: Any) -> _Outcome:
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
            return self._failed(row, note, attempt, exc, started)
        except Exception as exc:  # an endpoint bug must not stop the sender
            log.exception("endpoint %s raised on notification %s", note.endpoint, note.id)
            return self._failed(row, note, attempt,
                                DeliveryError(f"{type(exc).__name__}: {exc}"), started)
        log.info("notification %s delivered: rule=%s endpoint=%s trigger=%s alert=%s "
                 "attempt=%d status=%s", note.id, note.rule, note.endpoint, note.trigger,
                 note.alert_id, attempt, result.status)
        now = self.clock.now()
        return _Outcome(row, "delivered", attempt, now, started, code=result.status,
                        delivered_at=now, detail=result.detail or None)

    def _failed(self, row: Any, note: Notification, attempt: int, error: DeliveryError,
                started: float) -> _Outcome:
        now = self.clock.now()
        final = not error.retryable or attempt >= self.max_attempts
        log.warning("notification %s %s: rule=%s endpoint=%s trigger=%s alert=%s attempt=%d/%d "
                    "status=%s error=%s", note.id, "failed" if final else "will be retried",
                    note.rule, note.endpoint, note.trigger, note.alert_id, attempt,
                    self.max_attempts, error.status, error.reason)
        retry_at = None if final else now + timedelta(
            seconds=self.delay(attempt, error.retry_after))
        return _Outcome(row, "failed" if final else "pending", attempt, now, started,
                        code=error.status, error=error.reason, next_at=retry_at)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: the server's word, else backoff with jitter."""
        if retry_after is not None and retry_after >= 0:
            return float(retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        # "equal jitter": at least half the backoff, so retries never bunch up at zero
        return ceiling / 2 + self.rng.random() * ceiling / 2

    def _record(self, outcomes: list[_Outcome]) -> None:
        """Every outcome and attempt of a round in one transaction (one commit, not two per
        row); only rows still claimed by this instance change."""
        if not outcomes:
            return
        with _light_transaction(self.db) as conn:
            conn.execute(_FINISH, [o.finish(self.instance) for o in outcomes])
            conn.execute(_INSERT_ATTEMPT, [o.attempt() for o in outcomes])


class _Outcome:
    """What one delivery attempt did to its row, written by :meth:`OutboxSender._record`."""

    __slots__ = ("row", "status", "attempt_no", "at", "duration_ms", "code", "error",
                 "delivered_at", "detail", "next_at")

    def __init__(self, row: Any, status: str, attempt: int, at: datetime, started: float, *,
                 code: int | None = None, error: str | None = None,
                 delivered_at: datetime | None = None, detail: str | None = None,
                 next_at: datetime | None = None) -> None:
        self.row, self.status, self.attempt_no, self.at = row, status, attempt, at
        self.duration_ms = int((time.monotonic() - started) * 1000)
        self.code, self.error, self.delivered_at = code, error, delivered_at
        # columns an outcome does not set keep the row's value
        self.detail = detail if status == "delivered" else row.detail
        self.next_at = next_at or row.next_attempt_at

    @property
    def note_id(self) -> int:
        return int(self.row.id)

    @property
    def outcome(self) -> str:
        return {"delivered": "delivered", "pending": "retry"}.get(self.status, "failed")

    def finish(self, instance: str) -> dict[str, Any]:
        return {"oid": self.note_id, "me": instance, "new_status": self.status,
                "n": self.attempt_no, "err": self.error, "code": self.code,
                "done_at": self.delivered_at or self.row.delivered_at, "det": self.detail,
                "next_at": self.next_at}

    def attempt(self) -> dict[str, Any]:
        return {"outbox_id": self.note_id, "at": self.at, "outcome": self.outcome,
                "status_code": self.code, "error": self.error, "duration_ms": self.duration_ms}


@contextlib.contextmanager
def _light_transaction(db: Database) -> Iterator[Connection]:
    """A transaction of the sender's own bookkeeping (claims, outcomes), not fsync'd on SQLite.

    Why: the claim's commit sits between a user's message and the bot's reply, and with
    ``synchronous = FULL`` its fsync was the slowest step at p99. Losing the claim or the
    outcome costs nothing that matters: in WAL mode NORMAL survives a crash of the process,
    a power cut loses at most the last such commits (never a notification, which is written
    with FULL in the command's transaction; the next FULL commit syncs these too), and the
    row is then sent again, a no-op in Rocket.Chat (stable ``_id``).
    """
    if db.dialect != "sqlite":
        with db.begin() as conn:
            yield conn
        return
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        mode = int(raw.execute("PRAGMA synchronous").fetchone()[0])
        if mode > _NORMAL:
            raw.execute(f"PRAGMA synchronous={_NORMAL}")
        try:
            with conn.begin():
                yield conn
        finally:
            if mode > _NORMAL:  # the pooled connection goes back as durable as it came
                raw.execute(f"PRAGMA synchronous={mode}")


_NORMAL = 1  # SQLite's number for synchronous = NORMAL


def _in_order(ready: list[Any], claimed: list[Any]) -> list[Any]:
    """The claimed rows that may go now: when another sender took a ready row between our
    query and our claim, the later rows of its alert must wait for it (they are released)."""
    got = {int(row.id) for row in claimed}
    missing = {(r.alert_id, r.endpoint) for r in ready
               if r.alert_id is not None and int(r.id) not in got}
    return [row for row in claimed
            if row.alert_id is None or (row.alert_id, row.endpoint) not in missing]


# -- statements, built once (compiled once per dialect by SQLAlchemy's cache) -----------------

def _time(name: str) -> Any:
    return bindparam(name, type_=outbox.c.next_attempt_at.type)


_earlier = outbox.alias("earlier")
# an earlier row of the same alert and endpoint that is active and not due with this one
_HELD = exists().where(
    _earlier.c.alert_id == outbox.c.alert_id, _earlier.c.endpoint == outbox.c.endpoint,
    _earlier.c.id < outbox.c.id,
    or_(_earlier.c.status == "sending",
        and_(_earlier.c.status == "pending", _earlier.c.next_attempt_at > _time("now"))),
).correlate(outbox)
_DUE = (select(outbox.c.id, outbox.c.alert_id, outbox.c.endpoint, _HELD.label("held"))
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= _time("now"))
        .order_by(outbox.c.id).limit(bindparam("limit")))
_IDS: Any = bindparam("ids", expanding=True)
_CLAIM = (update(outbox).where(outbox.c.id.in_(_IDS), outbox.c.status == "pending")
          .values(status="sending", claimed_by=bindparam("me"), claimed_at=_time("at")))
_CLAIM_RETURNING = _CLAIM.returning(*outbox.c)
_CLAIMED = select(outbox).where(outbox.c.id.in_(_IDS), outbox.c.status == "sending",
                                outbox.c.claimed_by == bindparam("me"),
                                outbox.c.claimed_at == _time("at"))
_RELEASE = (update(outbox).where(outbox.c.id.in_(_IDS), outbox.c.status == "sending",
                                 outbox.c.claimed_by == bindparam("me"))
            .values(status="pending", claimed_by=None))
_FINISH = (update(outbox).where(outbox.c.id == bindparam("oid"), outbox.c.status == "sending",
                                outbox.c.claimed_by == bindparam("me"))
           .values(status=bindparam("new_status"), claimed_by=None, attempts=bindparam("n"),
                   last_error=bindparam("err"), last_status_code=bindparam("code"),
                   delivered_at=_time("done_at"), detail=bindparam("det"),
                   next_attempt_at=_time("next_at")))
_INSERT_ATTEMPT = insert(outbox_attempts)


class SenderThread:
    """Runs ``sender.run_once`` on a daemon thread: at once after :meth:`wake`, again at once
    while passes still deliver (a backlog drains at full speed), else every ``interval``.

    The wake-up flag is cleared *before* each pass, so a wake that arrives during a pass
    makes another pass: it cannot be lost between a pass and the wait.
    """

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
            self._wake.clear()
            try:
                sent = self.sender.run_pass()[1]
            except Exception:  # the store may be briefly unavailable; try again next round
                log.exception("outbox pass failed")
                sent = 0
            # a pass that delivered may have left more behind; one that only failed waits
            # (an endpoint saying "retry after 0" must not make this a busy loop)
            if not sent:
                self._wake.wait(self.interval)


async def run_forever(sender: OutboxSender, stop: asyncio.Event, interval: float = 1.0) -> None:
    """The asyncio form of :class:`SenderThread`: passes run in a worker thread."""
    while not stop.is_set():
        try:
            sent = (await asyncio.to_thread(sender.run_pass))[1]
        except Exception:
            log.exception("outbox pass failed")
            sent = 0
        if not sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
