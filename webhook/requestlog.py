"""The request log writer: webhook requests are logged by one background thread, in batches.

Why: a log row written by each HTTP thread in its own transaction made those threads contend
with the ingestor for SQLite's single write lock, and SQLite's busy handler then sleeps for
milliseconds at a time; the endpoint ran at a tenth of its speed (bench/webhook.py). One
writer taking whatever rows are queued, in one transaction, keeps the log off the request
path. The table keeps only the newest ``request_log_size`` rows, so of the rows gathered the
writer writes only those: under load most rows are never written, as they would have been
deleted in the same transaction. The log is diagnostics, not data: rows still queued when
the process dies are lost (``close()`` at shutdown and ``flush()`` before reading avoid that
in practice).

The app's one writer is ``AppContext.request_log``; the SQL is :mod:`rules.store.diagnostics`.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NamedTuple

from rules.clock import Clock
from rules.store import Database, diagnostics

log = logging.getLogger(__name__)
BATCH = 200  # rows per transaction at most


class _Later(NamedTuple):
    """A row to be built by ``make`` when written (:meth:`RequestLog.submit_later`)."""

    received_at: Any
    make: Callable[[], dict[str, Any]]


def _made(row: dict[str, Any] | _Later) -> dict[str, Any] | None:
    """The row's fields; None (logged) when building them failed."""
    if isinstance(row, dict):
        return row
    try:
        fields = row.make()
    except Exception:
        log.exception("could not build a webhook request-log row")
        return None
    fields.setdefault("received_at", row.received_at)
    return fields


class RequestLog:
    """Rows waiting to be written and the thread that writes them."""

    def __init__(self, db: Database, clock: Clock, keep: int, *,
                 write_lock: AbstractContextManager[Any] | None = None,
                 gather_seconds: float = 0.5) -> None:
        self.db = db
        # Held while writing, when given: the ingestor's lock, so that log batches never make
        # an ingest wait in SQLite's busy handler (which sleeps 1, 2, 5, 10 ... ms).
        self.write_lock = write_lock or nullcontext()
        # Rows gathered for up to this long share one transaction, and of those only the
        # newest ``keep`` are written at all: the table keeps no more, so older ones would be
        # deleted in the same transaction. A row costs the writer ~95 us (SQLite,
        # bench/webhook.py), so at a few hundred requests/s most of that is saved; readers
        # never wait for the gathering, since flush() cuts it short.
        self.gather_seconds = gather_seconds
        self.clock = clock
        self.keep = keep
        self._pending: list[dict[str, Any] | _Later] = []
        self._cond = threading.Condition()  # guards the fields below
        self._submitted = 0
        self._written = 0  # written, dropped as older than the newest ``keep``, or failed
        self._hurry = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, **fields: Any) -> None:
        """Queue one row (``received_at`` defaults to now); written shortly after."""
        fields.setdefault("received_at", self.clock.now())
        self._queue(fields)

    def submit_later(self, make: Callable[[], dict[str, Any]]) -> None:
        """Queue a row that ``make`` builds when it is written (received now): a row older
        than the newest ``keep`` is dropped without being built. ``make`` runs in the
        writer's thread, so what it reads must not change after this call."""
        self._queue(_Later(self.clock.now(), make))

    def _queue(self, row: dict[str, Any] | _Later) -> None:
        self._ensure_thread()
        with self._cond:
            self._pending.append(row)
            self._submitted += 1
            if len(self._pending) > 2 * max(self.keep, BATCH):
                # the writer is held up: what it could never keep need not wait in memory
                dropped = len(self._pending) - max(self.keep, 1)
                del self._pending[:dropped]
                self._written += dropped
            if len(self._pending) == 1:
                self._cond.notify_all()

    def write_now(self, **fields: Any) -> int:
        """Write one row at once and return its id (for replays, which report the id)."""
        self.flush()
        fields.setdefault("received_at", self.clock.now())
        with self.db.begin() as conn:
            return diagnostics.record_request(conn, keep=self.keep, **fields)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every row submitted so far is written; False on timeout."""
        if self._thread is None:
            return True
        with self._cond:
            target = self._submitted
            if self._written >= target:
                return True
            self._hurry = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            thread.join(timeout=10)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop = False
                self._thread = threading.Thread(target=self._run, name="webhook-request-log",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while True:
            batch, dropped, stop = self._gather()
            rows = [row for row in map(_made, batch) if row is not None]
            self._done(dropped + len(batch) - len(rows))  # never to be written
            for start in range(0, len(rows), BATCH):
                self._write(rows[start:start + BATCH])
            if stop:
                return

    def _gather(self) -> tuple[list[dict[str, Any] | _Later], int, bool]:
        """Wait for rows, then up to ``gather_seconds`` for more (cut short by flush and
        close); the newest ``keep`` rows, how many older ones were dropped, and whether to
        stop."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._stop or self._hurry)
            until = time.monotonic() + self.gather_seconds
            while not (self._stop or self._hurry):
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            rows, self._pending, self._hurry = self._pending, [], False
            kept = rows[-max(self.keep, 1):]
            return kept, len(rows) - len(kept), self._stop

    def _write(self, batch: list[dict[str, Any]]) -> None:
        if not self._insert(batch) and len(batch) > 1:
            # One bad row must not cost the others: write them one by one.
            for fields in batch:
                self._insert([fields])
        self._done(len(batch))

    def _done(self, count: int) -> None:
        """``count`` more rows are written (or never will be): wake flush() waiters."""
        if count:
            with self._cond:
                self._written += count
                self._cond.notify_all()

    def _insert(self, batch: list[dict[str, Any]]) -> bool:
        try:
            with self.write_lock:
                diagnostics.record_requests(self.db, batch, keep=self.keep)
        except Exception:
            if len(batch) == 1:
                # Reported, not raised: the request itself was answered already.
                log.exception("could not write a webhook request-log row")
            return False
        return True
