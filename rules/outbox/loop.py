"""The one loop that delivers the outbox: :class:`SenderLoop`.

It runs :meth:`OutboxSender.run_pass` on a daemon thread: at once after :meth:`SenderLoop.wake`
(the ingestor's hook calls it when a command made notifications, the scheduler when a tick
did), again at once while passes still deliver (a backlog drains at full speed), and otherwise
every ``interval`` seconds, when retries and delayed notifications come due. A pass that
raises is logged and retried at the next round, because the store may be briefly unavailable.
"""

from __future__ import annotations

import logging
import threading

from rules.outbox.delivery import OutboxSender

log = logging.getLogger(__name__)


class SenderLoop:
    """Delivers the outbox on its own thread; :meth:`wake` makes it pass now.

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
        """Stop after the pass in progress (if any); later rows wait for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
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
