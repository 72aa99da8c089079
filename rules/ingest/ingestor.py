"""The one entry point for every inbound message: store it, then run it through the engine.

Both inbound paths (webhook, realtime) and the insert API call :meth:`Ingestor.accept`. In one
transaction it records the once-only key, stores the command and, when this instance runs the
engine, lets the engine apply it (window changes and outbox rows in the same transaction). The
caller answers its client only after ``accept`` returns, so an acknowledged message is durable.

A thread with several commands at hand (the realtime pipeline's hop, the insert API's
request) opens :meth:`Ingestor.batch`: its commands
share one transaction and one fsync, and are acknowledged only after that commit.

What else must happen after a commit (metrics, waking the sender loop) is a *hook*: a
callable ``(Accepted, path, seconds)`` the ingestor calls after each commit (of an accepted
command, of a chat command, of stored commands run later), so the adapters and the composition
root add behaviour without subclassing the ingestor. A chat command is not a message command:
it runs through :meth:`Ingestor.once`, which claims its once-only key and commits the
command's changes and answer with the claim, through the same lock and store.

An instance that does not run the engine (another instance holds the lease) only stores the
command with ``processed = false``; the engine owner picks such rows up in id order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection

from rules.clock import Clock, SystemClock
from rules.command import MessageCommand
from rules.ingest.accepted import CHAT_COMMAND, STORED, Accepted, CommandEngine, IngestHook
from rules.ingest.batch import IngestBatch
from rules.notification import Notification
from rules.store import Database
from rules.store import messages as message_store

__all__ = ["Ingestor"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Pending:
    """One caller's command waiting in the group-commit queue, and what became of it."""

    __slots__ = ("command", "path", "dedupe_key", "persist", "done", "result", "error")

    def __init__(self, command: MessageCommand, path: str, dedupe_key: str | None,
                 persist: bool) -> None:
        self.command = command
        self.path = path
        self.dedupe_key = dedupe_key
        self.persist = persist
        self.done = False
        self.result: Accepted | None = None
        self.error: BaseException | None = None

    def finish(self, result: Accepted) -> None:
        self.result, self.done = result, True

    def fail(self, error: BaseException) -> None:
        self.error, self.done = error, True

    def outcome(self) -> Accepted:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class Ingestor:
    """Stores commands durably and hands them to the engine, one at a time."""

    def __init__(
        self, db: Database, engine: CommandEngine | None = None, clock: Clock | None = None,
        hooks: Sequence[IngestHook] = (),
    ) -> None:
        self.db = db
        self.engine = engine
        self.clock = clock or SystemClock()
        self.hooks: list[IngestHook] = list(hooks)
        # The engine applies commands one at a time; windows then need no locks of their own.
        self._lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self.max_batch = 256
        self.runs_engine = engine is not None
        # Set when several instances share the database: checked inside each engine
        # transaction, so an instance that lost its lease stores but does not process.
        self.fence: Callable[[Connection], bool] | None = None
        self._local = threading.local()  # the thread's open IngestBatch, if any

    @property
    def write_lock(self) -> threading.RLock:
        """Held while this ingestor writes. Another writer on the same SQLite store (the
        webhook request log) takes it too, so that the two never meet in SQLite's busy
        handler, which sleeps milliseconds at a time."""
        return self._lock

    def accept(
        self,
        command: MessageCommand,
        *,
        path: str,
        dedupe_key: str | None = None,
        persist: bool = True,
    ) -> Accepted:
        """Store ``command`` (unless ``persist`` is false) and run it through the engine.

        With ``dedupe_key`` a message seen before is not stored or run again; the result then
        has ``duplicate=True`` and the command stored the first time (when there is one).

        Group commit: callers that arrive while a transaction is being committed queue up, and
        the next one to get the lock commits the whole queue in one transaction (one fsync for
        all of them). Each caller still returns only after the transaction holding its command
        has committed, so an answered request is as durable as before.
        """
        open_batch: IngestBatch | None = getattr(self._local, "batch", None)
        if open_batch is not None:
            return open_batch.accept(command, path=path, dedupe_key=dedupe_key, persist=persist)
        started = time.perf_counter()
        item = _Pending(command, path, dedupe_key, persist)
        with self._queue_lock:
            self._queue.append(item)
        with self._lock:
            if not item.done:
                with self._queue_lock:
                    batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
                self._commit(batch)
        result = item.outcome()
        self.run_hooks(result, path, time.perf_counter() - started)
        return result

    @contextmanager
    def batch(self, *, durable: bool = True) -> Iterator[IngestBatch]:
        """Accept this thread's commands into one transaction, committed when the block ends.

        Inside the block, :meth:`accept` (called by this thread, by whatever code) runs the
        command at once in the batch's open transaction and returns its result, which holds
        once the block has ended without an error: the commit (one fsync for the lot) and
        the hooks come at the end. If the block raises, or the commit fails, nothing of the
        batch is stored and the error propagates; the caller must not have acknowledged any
        of its commands. :meth:`once` commits what came before it first.

        ``durable=False``: the commit does not wait for the disk (SQLite); only for commands
        their source keeps and sends again when they are lost (the realtime stream, whose
        back-fill starts from a cursor written durably later).
        """
        if getattr(self._local, "batch", None) is not None:
            raise RuntimeError("an ingest batch is already open in this thread")
        batch = IngestBatch(self, durable=durable)
        self._local.batch = batch
        try:
            yield batch
        except BaseException:
            self._local.batch = None
            batch.abort()
            raise
        self._local.batch = None
        batch.flush()

    def once(self, key: str, *, path: str, work: Callable[[Connection], T],
             notifications: Callable[[T], Sequence[Notification]] | None = None) -> T | None:
        """Run a chat command once: claim its key and run ``work`` in one transaction.

        The command's own key (``cmd:`` + ``key``) decides, because the other path may have
        taken the message for the rules and claimed the plain key first; the plain key is
        claimed too, so that a later copy of the message is not run through the rules.

        ``work`` gets the transaction's connection: what the command changes (an alert
        acknowledged, a silence made) and its answer (an outbox row) commit together with
        the claim, or not at all. So a crash before the commit leaves nothing (a webhook
        retry or the other path runs it again) and after it, the answer is in the outbox and
        goes out after the restart. None when the key was claimed before (no second answer).
        Engine changes made through the connection are finished with ``after_commit`` /
        ``after_rollback``, as :meth:`accept` does. After the commit the hooks run with an
        :class:`Accepted` of kind ``CHAT_COMMAND`` (``duplicate`` when the key was claimed
        before) carrying ``notifications(result)``: the answer's rows, which the sender takes
        at once.
        """
        open_batch: IngestBatch | None = getattr(self._local, "batch", None)
        if open_batch is not None:
            open_batch.flush()  # what came before the command is committed first
        started = time.perf_counter()
        now = self.clock.now()
        with self._lock:
            try:
                with self.db.begin_kept() as conn:
                    claimed = message_store.claim_key(conn, "cmd:" + key, path=path, now=now)
                    if claimed:
                        message_store.claim_key(conn, key, path=path, now=now)
                        result = work(conn)
            except BaseException:
                if self.engine is not None:
                    self.engine.after_rollback()
                raise
            if claimed and self.engine is not None:
                self.engine.after_commit()
        if not claimed:
            self.run_hooks(Accepted(None, duplicate=True, kind=CHAT_COMMAND), path,
                           time.perf_counter() - started)
            return None
        notes = list(notifications(result)) if notifications is not None else []
        self.run_hooks(Accepted(None, processed=True, notifications=notes, kind=CHAT_COMMAND),
                       path, time.perf_counter() - started)
        return result

    def run_hooks(self, result: Accepted, path: str, seconds: float) -> None:
        for hook in self.hooks:
            try:
                hook(result, path, seconds)
            except Exception:  # the command is stored: a hook's failure must not undo that
                log.exception("ingest hook %r failed (the command is stored)", hook)

    def _commit(self, batch: list[_Pending]) -> None:
        """Commit ``batch`` in one transaction; if that fails, one transaction each."""
        try:
            # the kept connection: one writer (this lock's holder) commits one batch after
            # another, and a pool check-out per batch cost more than SQLite's BEGIN/COMMIT
            with self.db.begin_kept() as conn:
                results = [
                    self.accept_in(conn, p.command, p.path, p.dedupe_key, p.persist)
                    for p in batch
                ]
        except BaseException as exc:
            if self.engine is not None:
                self.engine.after_rollback()
            if len(batch) > 1 and isinstance(exc, Exception):
                # One bad command must not fail the others that happened to share its batch.
                for pending in batch:
                    self._commit([pending])
                return
            for pending in batch:
                pending.fail(exc)
            return
        if self.engine is not None and any(r.processed for r in results):
            self.engine.after_commit()
        for pending, result in zip(batch, results, strict=True):
            pending.finish(result)

    def accept_in(
        self,
        conn: Connection,
        command: MessageCommand,
        path: str,
        dedupe_key: str | None,
        persist: bool,
    ) -> Accepted:
        now = self.clock.now()
        run_engine = self._may_run_engine(conn) and not (persist and self._behind(conn))
        message_id: int | None = None
        if persist and dedupe_key is not None:
            # the message and its key's claim in two statements (a duplicate stores nothing)
            message_id = message_store.insert_keyed_message(
                conn, command, dedupe_key, path=path, received_at=now, processed=run_engine)
            if message_id is None:
                return self._duplicate(conn, command, dedupe_key)
        elif dedupe_key is not None:
            if not message_store.claim_key(conn, dedupe_key, path=path, now=now):
                return self._duplicate(conn, command, dedupe_key)
        elif persist:
            message_id = message_store.insert_message(
                conn, command, path=path, received_at=now, processed=run_engine
            )
        notes: list[Notification] = []
        if run_engine:
            assert self.engine is not None
            # chat replies get an id derived from the message that caused them
            notes = self.engine.process(conn, command, message_id, cause=dedupe_key)
        return Accepted(
            command=command, message_id=message_id, processed=run_engine, notifications=notes
        )

    @staticmethod
    def _duplicate(conn: Connection, command: MessageCommand, dedupe_key: str) -> Accepted:
        """A command whose key was claimed before: the command stored then, if any."""
        first_id = message_store.key_message_id(conn, dedupe_key)
        first = message_store.get_message(conn, first_id) if first_id else None
        return Accepted(command=first or command, message_id=first_id, duplicate=True)

    def _may_run_engine(self, conn: Connection) -> bool:
        if self.engine is None or not self.runs_engine:
            return False
        return self.fence is None or self.fence(conn)

    def _behind(self, conn: Connection) -> bool:
        """With several instances (``fence`` set), commands stored by another instance, or
        before a take-over, may still wait for the engine: a new command then joins the queue
        (stored unprocessed, run by ``process_pending`` in id order) instead of overtaking
        them, so that one sender's messages reach the engine in the order they were sent."""
        if self.fence is None:
            return False
        return message_store.has_unprocessed(conn)

    def process_pending(self, limit: int = 5000) -> int:
        """Run stored but unprocessed commands through the engine, oldest first.

        They come from another instance (which stores only), from this one while it was
        behind, or from before a crash. Up to ``max_batch`` of them share one transaction
        (one commit for the lot); each is claimed with a conditional UPDATE inside it, so no
        command is processed twice even when two instances overlap. The lock is let go
        between batches, so new commands get stored meanwhile. After each commit the hooks run
        with an :class:`Accepted` of kind ``STORED`` (path ``pending``) carrying the
        notifications made. Returns how many were processed.
        """
        if self.engine is None or not self.runs_engine:
            return 0
        with self.db.connect() as conn:
            ids = message_store.unprocessed_ids(conn, limit)
        done = 0
        for start in range(0, len(ids), self.max_batch):
            chunk = ids[start:start + self.max_batch]
            started = time.perf_counter()
            with self._lock:
                processed, notes = self._process_stored(chunk)
            done += processed
            if notes:
                self.run_hooks(Accepted(None, processed=True, notifications=notes, kind=STORED),
                               "pending", time.perf_counter() - started)
            if processed < len(chunk):
                break  # the fence refused: another instance runs the engine now
        return done

    def _process_stored(self, ids: list[int]) -> tuple[int, list[Notification]]:
        """Process ``ids`` in one transaction; if that fails, one transaction each, and a
        command the engine cannot handle alone is marked processed (and logged)."""
        assert self.engine is not None
        notes: list[Notification] = []
        try:
            with self.db.begin() as conn:
                if not self._may_run_engine(conn):
                    return 0, []
                for message_id in ids:
                    if not message_store.mark_processed(conn, message_id):
                        continue  # another instance got it first
                    command = message_store.get_message(conn, message_id)
                    if command is not None:
                        notes += self.engine.process(conn, command, message_id)
        except Exception:
            self.engine.after_rollback()
            if len(ids) > 1:
                done = 0
                for message_id in ids:
                    processed, some = self._process_stored([message_id])
                    if not processed:
                        break
                    done, notes = done + processed, notes + some
                return done, notes
            # One message the engine cannot handle must not hold back every later one.
            log.exception("engine failed on stored message %d; marking it processed", ids[0])
            with self.db.begin() as conn:
                message_store.mark_processed(conn, ids[0], claim=False)
            return 1, []
        self.engine.after_commit()
        return len(ids), notes
