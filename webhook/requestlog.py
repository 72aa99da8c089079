"""The request log writer: webhook requests are logged by one background thread, in batches.

Why: a log row written by each HTTP thread in its own transaction made those threads contend
with the ingestor for SQLite's single write lock, and SQLite's busy handler then sleeps for
milliseconds at a time; the endpoint ran at a tenth of its speed (bench/webhook.py). One
writer taking whatever rows are queued, in one transaction, keeps the log off the request
path. The log is diagnostics, not data: rows still queued when the process dies are lost
(``close()`` at shutdown and ``flush()`` before reading avoid that in practice).

The app's one writer is ``AppContext.request_log``; the SQL is :mod:`rules.store.diagnostics`.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rules.clock import Clock
from rules.store import Database, diagnostics

log = logging.getLogger(__name__)
BATCH = 200
# Put in the queue by flush(): the writer stops gathering and writes at once.
_HURRY: dict[str, Any] = {}


class RequestLog:
    """Queue of request-log rows and the thread that writes them."""

    def __init__(self, db: Database, clock: Clock, keep: int, *,
                 write_lock: AbstractContextManager[Any] | None = None,
                 gather_seconds: float = 0.1) -> None:
        self.db = db
        # Held while writing, when given: the ingestor's lock, so that log batches never make
        # an ingest wait in SQLite's busy handler (which sleeps 1, 2, 5, 10 ... ms).
        self.write_lock = write_lock or nullcontext()
        # Rows gathered for up to this long share one transaction. A batch costs ~650 us on
        # top of ~95 us a row (SQLite, bench/webhook.py), so 0.1 s instead of 0.02 s roughly
        # halves the log's cost per request at a few hundred requests/s; readers never wait
        # for it, since flush() cuts the gathering short.
        self.gather_seconds = gather_seconds
        self.clock = clock
        self.keep = keep
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._done = threading.Condition()
        self._submitted = 0
        self._written = 0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, **fields: Any) -> None:
        """Queue one row (``received_at`` defaults to now); written shortly after."""
        fields.setdefault("received_at", self.clock.now())
        self._ensure_thread()
        with self._done:
            self._submitted += 1
        self._queue.put(fields)

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
        with self._done:
            target = self._submitted
            if self._written >= target:
                return True
        self._queue.put(_HURRY)
        with self._done:
            return self._done.wait_for(lambda: self._written >= target, timeout)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=10)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-request-log",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _HURRY:
                continue
            batch = [first] if first is not None else []
            stop = first is None
            # Gather what arrives shortly after the first row: fewer, larger transactions.
            until = time.monotonic() + self.gather_seconds
            while len(batch) < BATCH and not stop:
                try:
                    item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                elif item is _HURRY:
                    break
                else:
                    batch.append(item)
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[dict[str, Any]]) -> None:
        if not self._insert(batch) and len(batch) > 1:
            # One bad row must not cost the others: write them one by one.
            for fields in batch:
                self._insert([fields])
        with self._done:
            self._written += len(batch)
            self._done.notify_all()

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
