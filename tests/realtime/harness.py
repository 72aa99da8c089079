"""Run the realtime bot against the simulator from synchronous tests.

:class:`BotRunner` starts the client on its own thread and event loop (the simulator has its
own), wires the real store, engine, outbox sender and Rocket.Chat endpoint, and offers waits
that poll a condition until a deadline (never a fixed sleep).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.config import DeliverySettings, RocketChatSettings
from bot.realtime.client import RealtimeOptions
from bot.realtime.status import RealtimeFatal
from bot.realtime.wiring import RealtimeBot, build_realtime_bot
from rules.clock import SystemClock
from rules.definitions.loader import load_rules
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor, wake_on_notifications
from rules.notification import Notification
from rules.outbox import OutboxSender, SenderLoop
from rules.store import Database
from rules.store.tables import base as schema

SEED = Path(__file__).resolve().parents[2] / "rules.d"
FAST = RealtimeOptions(idle_ping=1.0, dead_after=1.0, call_timeout=5.0, backoff_initial=0.02,
                       backoff_max=0.2, cursor_flush=0.2)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        time.sleep(0.005)


class BotRunner:
    def __init__(self, db: Database, settings: RocketChatSettings, *, rules: bool = True,
                 options: RealtimeOptions = FAST, delivery: DeliverySettings | None = None,
                 inline_send: bool = False) -> None:
        self.db = db
        self.clock = SystemClock()
        self.engine = RuleEngine(db, self.clock, endpoints=("rocketchat",))
        if rules:
            loaded, issues = load_rules([SEED], endpoints=("rocketchat",))
            assert not issues
            self.engine.load(loaded)
        self.ingestor = Ingestor(db, self.engine, self.clock)
        self.bot: RealtimeBot = build_realtime_bot(
            settings, self.ingestor, engine=self.engine, clock=self.clock, options=options)
        self.sender = OutboxSender(db, {"rocketchat": self.bot.endpoint}, self.clock,
                                   delivery or DeliverySettings(backoff_seconds=0.05,
                                                                max_backoff_seconds=0.5))
        self.sender_loop = SenderLoop(self.sender, interval=0.05)
        # chat command answers are outbox rows too: the same hook hands them over
        self.ingestor.hooks.append(wake_on_notifications(
            self._send_inline if inline_send else lambda notes: self.sender_loop.wake(notes)))
        self.loop = asyncio.new_event_loop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="bot-under-test")

    def _send_inline(self, notes: Sequence[Notification]) -> None:
        # Deliver from the worker thread right after the commit: one thread hop less. The
        # sender thread still runs for retries; claims keep the two from sending a row twice.
        if notes:
            self.sender.deliver_handed(notes)
        else:  # rows not listed (a chat command's change): what is due
            self.sender.run_once()

    @property
    def client(self) -> Any:
        return self.bot.client

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.client.run())
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test
            self.error = exc

    def start(self, *, wait: bool = True) -> BotRunner:
        self.sender_loop.start()
        self.thread.start()
        if wait:
            self.wait_subscribed()
        return self

    def wait_subscribed(self, timeout: float = 10.0) -> None:
        def ready() -> bool:
            if self.error is not None:
                raise self.error
            return self.bot.status.subscribed
        wait_until(ready, timeout, "the bot to subscribe")

    def wait_fatal(self, timeout: float = 10.0) -> RealtimeFatal:
        wait_until(lambda: not self.thread.is_alive(), timeout, "the client to give up")
        assert isinstance(self.error, RealtimeFatal), self.error
        return self.error

    def idle(self, timeout: float = 10.0) -> None:
        """Every message received so far has been handled."""
        future = asyncio.run_coroutine_threadsafe(self.client.wait_idle(), self.loop)
        future.result(timeout)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.client.stop)
            self.thread.join(10)
        self.sender_loop.stop()

    # -- store views ----------------------------------------------------------------------

    def commands(self, path: str | None = None) -> list[Any]:
        with self.db.connect() as conn:
            query = select(schema.messages)
            if path is not None:
                query = query.where(schema.messages.c.path == path)
            return list(conn.execute(query.order_by(schema.messages.c.id)))

    def command_count(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.messages))
                       .scalar_one())
