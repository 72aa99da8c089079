"""Pruning by ``[retention]``: once a day in the service, and now with ``atsd-bot prune``.

:func:`cutoffs` turns the settings (or ``--older-than``) into the oldest time kept per kind;
:func:`run_prune` removes and logs; :class:`DailyPrune` runs it in a thread of the instance
that runs the engine, first a few minutes after the start (not in the middle of it), then
every 24 hours. The settings are read at each run, so a ``SIGHUP`` applies at the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config import RetentionSettings
from bot.config.sections import retention_seconds
from rules.clock import Clock
from rules.store import Database
from rules.store.retention import KINDS, prune

__all__ = ["DAY_SECONDS", "FIRST_RUN_SECONDS", "DailyPrune", "cutoffs", "run_prune"]

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0
FIRST_RUN_SECONDS = 300.0


def cutoffs(retention: RetentionSettings, now: datetime,
            older_than: float | None = None) -> dict[str, datetime | None]:
    """Kind -> the oldest time kept (None: keep all); ``older_than`` overrides every kind."""
    found: dict[str, datetime | None] = {}
    for kind in KINDS:
        seconds = older_than if older_than is not None else retention_seconds(
            getattr(retention, kind))
        found[kind] = None if seconds is None else now - timedelta(seconds=seconds)
    return found


def run_prune(db: Database, retention: RetentionSettings, now: datetime, *,
              older_than: float | None = None, dry_run: bool = False) -> dict[str, int]:
    removed = prune(db, cutoffs(retention, now, older_than), now=now, dry_run=dry_run)
    if any(removed.values()) and not dry_run:
        log.info("retention: removed %s", ", ".join(
            f"{count} {kind.replace('_', ' ')}" for kind, count in removed.items() if count))
    return removed


class DailyPrune:
    def __init__(self, db: Database, clock: Clock,
                 retention: Callable[[], RetentionSettings], *,
                 first: float = FIRST_RUN_SECONDS, every: float = DAY_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.retention = retention
        self.first = first
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            wait = self.every
            try:
                run_prune(self.db, self.retention(), self.clock.now())
            except Exception as exc:  # the next day tries again; the service goes on
                log.warning("retention: pruning failed (%s: %s); trying again in %.0f h",
                            type(exc).__name__, exc, self.every / 3600)
