"""Delivery of outbox rows: :class:`OutboxSender` claims, sends and records outcomes.

Rows reach a round two ways: handed over in memory right after the commit that wrote them
(:meth:`OutboxSender.deliver_handed`, the hot path: no due query), or found by the due query
of a pass (:meth:`OutboxSender.run_pass`: retries, delayed opens, rows of another instance or
from before a restart). Either way each row is claimed with a conditional ``UPDATE`` (so two
senders never send the same row), delivered through its endpoint (rows of different rooms
and alerts side by side, :mod:`rules.outbox.lanes`), and every attempt is recorded in
``outbox_attempts``; the row is then marked delivered, scheduled for a retry (exponential
backoff with jitter, or the endpoint's ``retry_after``), or after ``max_attempts`` marked
``failed`` with the error, where the diagnostics API shows it and
:meth:`OutboxSender.retry_now` can revive it. The loop that drives rounds is in
:mod:`rules.outbox.loop`; the SQL, and the functions that run it, in
:mod:`rules.store.outbox_sql`.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rules.clock import Clock, aware
from rules.notification import DeliveryError, Endpoint, Notification
from rules.outbox.lanes import LaneRunner, split
from rules.outbox.outcome import Outcome
from rules.store import Database
from rules.store import outbox_sql as sql
from rules.store.outbox import row_to_notification

log = logging.getLogger(__name__)

MAX_ROUNDS = 10
HANDED_CHUNK = 500  # rows handed over in memory claimed per statement


class OutboxSender:
    """Delivers outbox rows; ``run_once`` is one pass over the due rows.

    A pass is a few rounds of: one query for the due rows (each flagged when an earlier row
    of its alert is still active and not part of this round), one ``UPDATE ... RETURNING``
    that claims the ready ones, the deliveries (in id order within a lane, lanes side by
    side), then one transaction that records every outcome and attempt of the round. A row
    whose earlier row of the same alert did not go out is put back at once, as is every claim
    of a round that fails half-way (the store went away, say), so no reply waits for the
    stale-claim timeout. A row put back after it was in fact delivered is sent again: the
    Rocket.Chat endpoint's stable ``_id`` makes that a no-op in the room; an ``http``
    endpoint may see it twice (at least once).
    """

    def __init__(self, db: Database, endpoints: Mapping[str, Endpoint], clock: Clock,
                 settings: Any, *, instance: str | None = None, batch: int = 50,
                 claim_seconds: float = 300.0, rng: random.Random | None = None,
                 concurrency: int = 8) -> None:
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
        self.lanes = LaneRunner(concurrency)
        self._next_release: datetime | None = None  # stale claims are looked for now and then
        # claims of a failed round whose release failed too: put back at the next pass
        self._unreleased: set[int] = set()

    def close(self) -> None:
        """Stop the lane threads (a later round starts them again)."""
        self.lanes.close()

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
            sent, ok = self._round(ready, self._claim_rows(
                [int(row.id) for row in ready], now)) if ready else (0, 0)
            done, delivered = done + sent, delivered + ok
            # look again only when this round may have let a held row go, or left some out
            if not sent or (len(due) < self.batch and len(ready) == len(due)):
                break
            now = self.clock.now()
        return done, delivered

    def deliver_handed(self, notes: Sequence[Notification]) -> tuple[int, int, bool]:
        """Deliver rows just committed, handed over in memory: no due query.

        Returns (rows attempted, rows delivered, left): ``left`` is true when some row did not
        go out now (not yet due, held behind an earlier row of its alert, claimed by another
        sender, or failed and to be retried), so that a pass with the due query follows.
        """
        now = self.clock.now()
        wanted = sorted((n for n in notes if n.id is not None), key=lambda n: int(n.id or 0))
        due = [n for n in wanted if _is_due(n, now)]
        left = len(due) < len(notes)
        done = delivered = 0
        for start in range(0, len(due), HANDED_CHUNK):
            chunk = due[start:start + HANDED_CHUNK]
            rows = self._claim_handed(chunk, now)
            sent, ok = self._round(chunk, rows)
            # a row not claimed, or one that failed (its retry is due later), is left
            left = left or len(rows) < len(chunk) or ok < sent
            done, delivered = done + sent, delivered + ok
        return done, delivered, left

    def seconds_to_next_due(self) -> float | None:
        """Seconds until the earliest pending row comes due (0 when one is due now), or None
        when no row is pending: how long the loop may sleep without a wake-up."""
        when = sql.next_due(self.db)
        if when is None:
            return None
        return max(0.0, (when - self.clock.now()).total_seconds())

    def retry_now(self, outbox_id: int) -> bool:
        """Send a failed (or backing-off) row at the next pass, with a fresh set of attempts."""
        return sql.retry(self.db, outbox_id, self.clock.now())

    def _release_stale(self, now: datetime) -> None:
        sql.release_stale(self.db, now - self.claim_timeout)

    def _due(self, now: datetime) -> list[Any]:
        return sql.due_rows(self.db, now, self.batch)

    def _claim(self, row_id: int, now: datetime) -> Any:
        """Claim one row (None when another sender has it)."""
        rows = self._claim_rows([row_id], now)
        return rows[0] if rows else None

    def _claim_rows(self, ids: list[int], now: datetime) -> list[Any]:
        """Claim the rows still pending among ``ids``; the claimed rows in id order."""
        return sql.claim(self.db, ids, self.instance, now)

    def _claim_handed(self, notes: list[Notification], now: datetime) -> list[Any]:
        """Claim handed rows that are due and not held behind an earlier active row of their
        alert (the due query checks that for the others); the claimed rows in id order,
        rebuilt from the notifications (they were just written: nothing to read back)."""
        attempts = sql.claim_handed(self.db, [int(n.id or 0) for n in notes], self.instance,
                                    now)
        if isinstance(attempts, list):  # an old SQLite: the claimed rows, read back
            return attempts
        return [HandedRow(note, attempts[int(note.id or 0)]) for note in notes
                if int(note.id or 0) in attempts]

    def _round(self, ready: Sequence[Any], rows: list[Any]) -> tuple[int, int]:
        """Deliver the claimed ``rows`` (of ``ready``, the rows meant to go) and record the
        outcomes; every claim not finished is released before return."""
        claimed = {int(row.id) for row in rows}
        finished: set[int] = set()
        delivered = 0
        try:
            outcomes = self.lanes.map(self._deliver_in_order, split(_in_order(ready, rows)))
            self._record(outcomes)
            finished = {o.note_id for o in outcomes}
            delivered = sum(o.status == "delivered" for o in outcomes)
        finally:
            if claimed - finished:
                self._release(claimed - finished)
        return len(finished), delivered

    def _deliver_in_order(self, rows: list[Any]) -> list[Outcome]:
        """One lane, in id order: a row whose earlier row of the same alert did not go out
        is skipped (released by the round; it goes after its predecessor)."""
        outcomes: list[Outcome] = []
        stopped: set[tuple[int, str]] = set()  # alerts whose earlier row did not go out
        for row in rows:
            key = (row.alert_id, row.endpoint)
            if row.alert_id is not None and key in stopped:
                continue
            outcome = self._deliver(row)
            outcomes.append(outcome)
            if outcome.status != "delivered" and row.alert_id is not None:
                stopped.add(key)
        return outcomes

    def _release(self, ids: set[int]) -> None:
        try:
            sql.release(self.db, sorted(ids), self.instance)
        except Exception:  # the store is away: keep them and try again at the next pass
            log.exception("outbox: %d claim(s) could not be released; retried next pass",
                          len(ids))
            self._unreleased.update(ids)
        else:
            self._unreleased.difference_update(ids)

    def _deliver(self, row: Any) -> Outcome:
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
        return Outcome(row, "delivered", attempt, now, started, code=result.status,
                        delivered_at=now, detail=result.detail or None)

    def _failed(self, row: Any, note: Notification, attempt: int, error: DeliveryError,
                started: float) -> Outcome:
        now = self.clock.now()
        final = not error.retryable or attempt >= self.max_attempts
        log.warning("notification %s %s: rule=%s endpoint=%s trigger=%s alert=%s attempt=%d/%d "
                    "status=%s error=%s", note.id, "failed" if final else "will be retried",
                    note.rule, note.endpoint, note.trigger, note.alert_id, attempt,
                    self.max_attempts, error.status, error.reason)
        retry_at = None if final else now + timedelta(
            seconds=self.delay(attempt, error.retry_after))
        return Outcome(row, "failed" if final else "pending", attempt, now, started,
                        code=error.status, error=error.reason, next_at=retry_at)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: the server's word, else backoff with jitter."""
        if retry_after is not None and retry_after >= 0:
            return float(retry_after)
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        # "equal jitter": at least half the backoff, so retries never bunch up at zero
        return ceiling / 2 + self.rng.random() * ceiling / 2

    def _record(self, outcomes: list[Outcome]) -> None:
        """Every outcome and attempt of a round in one transaction (one commit, not two per
        row); only rows still claimed by this instance change."""
        if not outcomes:
            return
        sql.record(self.db, [o.finish(self.instance) for o in outcomes],
                   [o.attempt() for o in outcomes])


class HandedRow:
    """A claimed row of a handed notification: the columns a delivery reads, without a read."""

    __slots__ = ("id", "rule", "endpoint", "trigger", "text", "alert_id", "target", "due_at",
                 "attempts")

    def __init__(self, note: Notification, attempts: int) -> None:
        self.id, self.rule, self.endpoint, self.trigger = note.id, note.rule, note.endpoint, \
            note.trigger
        self.text, self.alert_id, self.target = note.text, note.alert_id, note.target
        self.due_at, self.attempts = note.due_at, attempts


def _is_due(note: Notification, now: datetime) -> bool:
    when = aware(note.due_at)
    return when is None or when <= now


def _in_order(ready: Sequence[Any], claimed: list[Any]) -> list[Any]:
    """The claimed rows that may go now: when another sender took a ready row between our
    query and our claim, the later rows of its alert must wait for it (they are released)."""
    got = {int(row.id) for row in claimed}
    missing = {(r.alert_id, r.endpoint) for r in ready
               if r.alert_id is not None and int(r.id) not in got}
    return [row for row in claimed
            if row.alert_id is None or (row.alert_id, row.endpoint) not in missing]
