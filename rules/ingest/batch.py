"""One thread's commands in one transaction: :class:`IngestBatch` (``Ingestor.batch()``).

The realtime pipeline hands a batch of stream messages to the chat listener; inside
``with ingestor.batch():`` every ``accept`` runs the command at once in the batch's open
transaction, and the commit (one fsync for the lot), the engine's ``after_commit`` and the
hooks come when the block ends. ``batch(durable=False)`` commits without waiting for the disk
(:meth:`rules.store.db.Database.begin_light`): for commands that are fetched again when lost.
The ingestor's lock is held while the transaction is open, so commands of other threads
queue behind it (group commit) instead of meeting it in SQLite's busy handler.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Protocol

from sqlalchemy import Connection

from rules.command import MessageCommand
from rules.ingest.accepted import Accepted, CommandEngine
from rules.store import Database

__all__ = ["BatchHost", "IngestBatch"]


class BatchHost(Protocol):
    """What a batch needs of :class:`rules.ingest.Ingestor`."""

    db: Database
    engine: CommandEngine | None

    @property
    def write_lock(self) -> AbstractContextManager[Any]: ...

    def accept_in(self, conn: Connection, command: MessageCommand, path: str,
                  dedupe_key: str | None, persist: bool) -> Accepted: ...

    def run_hooks(self, result: Accepted, path: str, seconds: float) -> None: ...


class IngestBatch:
    """The open transaction of :meth:`Ingestor.batch`; holds the ingestor's lock while open."""

    def __init__(self, ingestor: BatchHost, *, durable: bool = True) -> None:
        self._ingestor = ingestor
        self.durable = durable
        self._stack: ExitStack | None = None
        self._conn: Connection | None = None
        self._done: list[tuple[Accepted, str, float]] = []  # result, path, start

    def accept(self, command: MessageCommand, *, path: str, dedupe_key: str | None = None,
               persist: bool = True) -> Accepted:
        started = time.perf_counter()
        conn = self._open()
        try:
            result = self._ingestor.accept_in(conn, command, path, dedupe_key, persist)
        except BaseException:
            self.abort()
            raise
        self._done.append((result, path, started))
        return result

    def flush(self) -> None:
        """Commit what was accepted so far, then run the hooks; the batch stays usable."""
        stack, self._stack, self._conn = self._stack, None, None
        if stack is None:
            return
        ingestor = self._ingestor
        done, self._done = self._done, []
        try:
            stack.close()  # commits (and releases the lock)
        except BaseException:
            if ingestor.engine is not None:
                ingestor.engine.after_rollback()
            raise
        if ingestor.engine is not None and any(result.processed for result, _, _ in done):
            ingestor.engine.after_commit()
        ended = time.perf_counter()
        for result, path, started in done:
            ingestor.run_hooks(result, path, ended - started)

    def abort(self) -> None:
        """Roll back what was accepted and not yet committed."""
        stack, self._stack, self._conn = self._stack, None, None
        self._done = []
        if stack is None:
            return
        try:
            stack.__exit__(RuntimeError, RuntimeError("ingest batch aborted"), None)
        finally:
            if self._ingestor.engine is not None:
                self._ingestor.engine.after_rollback()

    def _open(self) -> Connection:
        if self._conn is None:
            stack = ExitStack()
            stack.enter_context(self._ingestor.write_lock)
            try:
                db = self._ingestor.db
                self._conn = stack.enter_context(db.begin_kept() if self.durable
                                                 else db.begin_light())
            except BaseException:
                stack.close()
                raise
            self._stack = stack
        return self._conn
