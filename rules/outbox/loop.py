"""The loops that repeat :meth:`OutboxSender.run_pass`: a daemon thread, or an asyncio task.

Both pass again at once while passes still deliver (a backlog drains at full speed) and
otherwise wait ``interval`` seconds, or less when woken; a pass that raises is logged and
retried at the next round, because the store may be briefly unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from rules.outbox.delivery import OutboxSender

log = logging.getLogger("atsd_bot.outbox")


class SenderThread:
    """Runs ``sender.run_once`` on a daemon thread: at once after :meth:`wake`, again at once
    while passes still deliver (a backlog drains at full speed), else every ``interval``.

    The wake-up flag is cleared *before* each pass, so a wake that arrives during a pass
    makes another pass: it cannot be lost between a pass and the wait.
    """

    def __init__(self, sender: OutboxSender, interval: float = 1.0) -> None:
        self.sender = sender
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Deliver now instead of at the next interval (e.g. right after a commit)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                sent = self.sender.run_pass()[1]
            except Exception:  # the store may be briefly unavailable; try again next round
                log.exception("outbox pass failed")
                sent = 0
            # a pass that delivered may have left more behind; one that only failed waits
            # (an endpoint saying "retry after 0" must not make this a busy loop)
            if not sent:
                self._wake.wait(self.interval)


async def run_forever(sender: OutboxSender, stop: asyncio.Event, interval: float = 1.0) -> None:
    """The asyncio form of :class:`SenderThread`: passes run in a worker thread."""
    while not stop.is_set():
        try:
            sent = (await asyncio.to_thread(sender.run_pass))[1]
        except Exception:
            log.exception("outbox pass failed")
            sent = 0
        if not sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
