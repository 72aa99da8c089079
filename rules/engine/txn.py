"""The engine's in-memory state and the transaction discipline around it.

Windows live in memory; each change a transaction makes is first recorded in an undo log (a
copy of the window as it was), so ``after_rollback`` can put the windows back exactly as the
store has them, and ``after_commit`` just forgets the log.

The engine lock is taken by the first change in a transaction and released at its end. It
is always taken *after* the database transaction began: ``Ingestor.accept`` begins, then calls
``process``; the engine's own work (``tick``, ``load``, ``acknowledge``...) runs through
:meth:`EngineState._run`, which begins, then locks. The two orders never cross, so a tick
and a command never deadlock, on SQLite (one writer) or on PostgreSQL (row locks).

Window rows are written once per transaction, just before it commits: a change only marks
its window unsaved (:meth:`EngineState._unsave`), and a listener on the store's ``commit``
event writes the transaction's unsaved windows on its connection before SQLAlchemy sends the
COMMIT, so they are still part of the transaction (a failure there rolls it all back).
Why: a chat burst or a webhook's group commit runs many commands through the same window
(the seed rule has one window for every chat message); writing its row after each of them
cost a fifth of the engine's CPU per command. A window deleted in the transaction is
forgotten (:meth:`EngineState._delete`) instead of written.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, event

from rules.clock import Clock
from rules.engine.state import delete_window, save_windows
from rules.engine.windows import Window
from rules.store import Database

if TYPE_CHECKING:
    from rules.engine.compiled import CompiledRule
    from rules.expr import Environment

log = logging.getLogger(__name__)
T = TypeVar("T")


class EngineState:
    """Windows by rule and key, recent errors, and the undo log of a transaction."""

    def __init__(self, db: Database | None, clock: Clock, persist: bool) -> None:
        self.db = db
        self.clock = clock
        self.persist = persist and db is not None
        self._active: dict[str, CompiledRule] = {}
        self._windows: dict[str, dict[str, Window]] = {}
        self._errors: deque[dict[str, Any]] = deque(maxlen=1000)  # when not persisting
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._undo: list[tuple[str, str, Window | None]] = []
        self._touched: set[tuple[str, str]] = set()
        # windows changed in the open transaction and not yet written: (rule, key) -> the
        # window and its rule's fingerprint; written on _unsaved_conn before it commits
        self._unsaved: dict[tuple[str, str], tuple[Window, str]] = {}
        self._unsaved_conn: Connection | None = None
        self._unsaved_now: datetime | None = None
        if self.persist and db is not None:
            _write_before_commit(self, db)

    def environment(self, conn: Connection | None, fields: Mapping[str, Any], now: datetime,
                    window: Window | None = None) -> Environment:
        raise NotImplementedError  # the engine's

    def _enter(self) -> None:
        if self._owner == threading.get_ident():
            return
        self._lock.acquire()
        self._owner = threading.get_ident()

    def after_commit(self) -> None:
        if self._owner != threading.get_ident():
            return  # nothing of ours in that transaction
        if self._unsaved:  # a commit the listener did not see: write them late, not never
            log.error("%d window rows were not written before the commit; writing them now",
                      len(self._unsaved))
            self._write_late()
        self._undo.clear()
        self._touched.clear()
        self._owner = None
        self._lock.release()

    def after_rollback(self) -> None:
        if self._owner != threading.get_ident():
            return
        for rule, key, before in reversed(self._undo):
            windows = self._windows.setdefault(rule, {})
            if before is None:
                windows.pop(key, None)
            else:
                windows[key] = before
        self._unsaved.clear()
        self._unsaved_conn = None
        self._undo.clear()
        self._touched.clear()
        self._owner = None
        self._lock.release()

    def _touch(self, rule: str, key: str, window: Window | None) -> None:
        """Remember a window as it was before this transaction first changed it."""
        if (rule, key) not in self._touched:
            self._touched.add((rule, key))
            self._undo.append((rule, key, window.copy() if window is not None else None))

    # -- window rows, written before the commit -------------------------------------------

    def _unsave(self, conn: Connection, window: Window, fingerprint: str, now: datetime
                ) -> None:
        """Mark ``window`` changed in ``conn``'s transaction: its row is written once, just
        before that transaction commits (:func:`_write_before_commit`)."""
        if self._unsaved_conn is not conn:
            if self._unsaved:  # another connection's transaction in the same engine one
                self.write_unsaved(self._unsaved_conn)
            self._unsaved_conn = conn
        self._unsaved[(window.rule, window.key)] = (window, fingerprint)
        self._unsaved_now = now

    def write_unsaved(self, conn: Connection | None) -> None:
        """Write the rows of the windows changed in ``conn``'s open transaction (also called
        by the commit listener); nothing when they belong to another connection."""
        if conn is None or conn is not self._unsaved_conn or not self._unsaved:
            return
        unsaved, self._unsaved = self._unsaved, {}
        self._unsaved_conn = None
        assert self._unsaved_now is not None
        save_windows(conn, list(unsaved.values()), self._unsaved_now)

    def _delete(self, conn: Connection | None, window: Window) -> None:
        """Delete ``window``'s row (in ``conn``'s transaction) and forget it as unsaved."""
        unsaved = self._unsaved.get((window.rule, window.key))
        if unsaved is not None and unsaved[0] is window:
            del self._unsaved[(window.rule, window.key)]
        if conn is not None:
            delete_window(conn, window)

    def _write_late(self) -> None:
        unsaved, self._unsaved = self._unsaved, {}
        self._unsaved_conn = None
        if self.db is None or self._unsaved_now is None:
            return
        with self.db.begin() as conn:
            save_windows(conn, list(unsaved.values()), self._unsaved_now)

    @contextmanager
    def _transaction(self) -> Iterator[Connection | None]:
        """The engine's own transaction (tick, load, acknowledge), database first, then lock."""
        try:
            if self.db is None or not self.persist:
                self._enter()
                yield None
            else:
                with self.db.begin() as conn:
                    self._enter()
                    yield conn
        except BaseException:
            self.after_rollback()
            raise
        self.after_commit()

    def _run(self, work: Callable[[Connection | None], T]) -> T:
        with self._transaction() as conn:
            return work(conn)

    def _within(self, conn: Connection | None, work: Callable[[Connection | None], T]) -> T:
        """``work`` in the caller's transaction when ``conn`` is given (the engine lock is
        taken; the caller commits, then calls ``after_commit`` or ``after_rollback``, as the
        ingestor does for a chat command), else in the engine's own (:meth:`_run`)."""
        if conn is None:
            return self._run(work)
        self._enter()
        return work(conn if self.persist else None)


def _write_before_commit(state: EngineState, db: Database) -> None:
    """Listen to ``db``'s commits for ``state`` (weakly: the listener goes with the engine).

    SQLAlchemy calls a ``commit`` listener before it sends the COMMIT, with the transaction
    still open: the unsaved window rows written there commit with it, or not at all.
    """
    ref = weakref.ref(state)

    def before_commit(conn: Connection) -> None:
        engine = ref()
        if engine is not None and engine._unsaved:  # noqa: SLF001 - its own listener
            engine.write_unsaved(conn)

    event.listen(db.engine, "commit", before_commit)
    weakref.finalize(state, _stop_listening, db, before_commit)


def _stop_listening(db: Database, listener: Callable[[Connection], None]) -> None:
    if event.contains(db.engine, "commit", listener):
        event.remove(db.engine, "commit", listener)
