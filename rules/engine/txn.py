"""The engine's in-memory state and the transaction discipline around it.

Windows live in memory; each change a transaction makes is first recorded in an undo log (a
copy of the window as it was), so ``after_rollback`` can put the windows back exactly as the
store has them, and ``after_commit`` just forgets the log.

The engine lock is taken by the first change in a transaction and released at its end. It
is always taken *after* the database transaction began: ``Ingestor.accept`` begins, then calls
``process``; the engine's own work (``tick``, ``load``, ``acknowledge``...) runs through
:meth:`EngineState._run`, which begins, then locks. The two orders never cross, so a tick
and a command never deadlock, on SQLite (one writer) or on PostgreSQL (row locks).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection

from rules.clock import Clock
from rules.engine.windows import Window
from rules.store import Database

if TYPE_CHECKING:
    from rules.engine.compiled import CompiledRule
    from rules.expr import Environment

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
        self._undo.clear()
        self._touched.clear()
        self._owner = None
        self._lock.release()

    def _touch(self, rule: str, key: str, window: Window | None) -> None:
        """Remember a window as it was before this transaction first changed it."""
        if (rule, key) not in self._touched:
            self._touched.add((rule, key))
            self._undo.append((rule, key, window.copy() if window is not None else None))

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
