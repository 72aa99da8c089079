"""Timed work of the rule engine on APScheduler 3.x.

One interval job (every second by default) runs :meth:`EngineScheduler.step`:

1. ``engine.tick()``: time windows expire (with check-on-exit), held opens come due;
2. timer commands ``timer_15s``, ``timer_1m``, ``timer_15m``, ``timer_1h`` (entity
   ``atsd-bot``, source ``timer``) are handed to the ``inject`` callback when their period
   boundary passes, so rules with metric ``timer_*`` run without inbound messages;
3. any extra callables (e.g. ``Ingestor.process_pending``);
4. when the tick made notifications, ``wake`` (the sender loop's) so they go out at once.

All time is read from the engine's clock, so tests drive a ManualClock and call ``step()``
themselves; APScheduler only supplies the heartbeat. Timer periods are aligned to the clock
(a ``timer_1m`` fires at every full minute); after a pause (e.g. a suspended host) a missed
period fires once, not once per missed period.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from rules.clock import Clock
from rules.command import MessageCommand
from rules.engine.compiled import TIMER_SOURCE

log = logging.getLogger("atsd_bot.schedule")

TIMERS: tuple[tuple[str, int], ...] = (
    ("timer_15s", 15), ("timer_1m", 60), ("timer_15m", 900), ("timer_1h", 3600))
TIMER_ENTITY = "atsd-bot"


def timer_command(name: str, now: datetime) -> MessageCommand:
    return MessageCommand(entity=TIMER_ENTITY, type=name, source=TIMER_SOURCE, date=now,
                          message=name)


def next_boundary(now: datetime, seconds: int) -> datetime:
    """The first multiple of ``seconds`` (since the epoch) strictly after ``now``."""
    stamp = now.timestamp()
    return datetime.fromtimestamp((int(stamp // seconds) + 1) * seconds, UTC)


@dataclass
class StepResult:
    notifications: int = 0
    timers: list[str] = field(default_factory=list)


class EngineScheduler:
    """Drives ``engine.tick`` and timer commands; see the module docstring."""

    def __init__(self, engine: Any, clock: Clock, *,
                 inject: Callable[[MessageCommand], object] | None = None,
                 wake: Callable[[], None] | None = None, interval: float = 1.0,
                 also: Sequence[Callable[[], object]] = ()) -> None:
        self.engine = engine
        self.clock = clock
        self.inject = inject
        self.wake = wake
        self.interval = interval
        self.also = tuple(also)
        now = clock.now()
        self._due = {name: next_boundary(now, seconds) for name, seconds in TIMERS}
        self._scheduler: BackgroundScheduler | None = None

    def step(self) -> StepResult:
        """One pass of everything that is due; each part fails on its own (and is logged)."""
        result = StepResult()
        notes = self._guard("engine tick", self.engine.tick)
        result.notifications = len(notes or ())
        result.timers = self._fire_timers()
        for extra in self.also:
            self._guard(getattr(extra, "__name__", "extra job"), extra)
        if result.notifications and self.wake is not None:
            self.wake()
        return result

    def _fire_timers(self) -> list[str]:
        now = self.clock.now()
        fired: list[str] = []
        for name, seconds in TIMERS:
            if now < self._due[name]:
                continue
            self._due[name] = next_boundary(now, seconds)
            if self.inject is not None:
                self._guard(name, functools.partial(self.inject, timer_command(name, now)))
            fired.append(name)
        return fired

    def next_due(self, name: str) -> datetime:
        return self._due[name]

    @staticmethod
    def _guard(what: str, job: Callable[[], Any]) -> Any:
        try:
            return job()
        except Exception:  # one failing part must not stop the others or the heartbeat
            log.exception("%s failed", what)
            return None

    def start(self) -> None:
        """Start the heartbeat on a background thread (the service's composition root)."""
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(self.step, "interval", seconds=self.interval, id="rules-step",
                          max_instances=1, coalesce=True,
                          next_run_time=datetime.now(UTC) + timedelta(seconds=self.interval))
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
