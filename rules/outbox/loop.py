"""The one loop that delivers the outbox: :class:`SenderLoop`.

It runs on a daemon thread. The hot path: the ingestor's hook calls :meth:`SenderLoop.wake`
with the notifications a commit just wrote, and the loop claims and delivers exactly those
rows (:meth:`OutboxSender.deliver_handed`), without querying for due rows. A pass with the
due query (:meth:`OutboxSender.run_pass`) runs when something may be due that was not handed
over: at start, after :meth:`wake` without notifications (the scheduler's ticks), when a
handed row could not go at once, again at once while passes still deliver (a backlog drains
at full speed), and otherwise when the next pending row comes due (a retry, a delayed open)
or after ``interval`` seconds at the latest (rows another instance wrote). A round that
raises is logged and retried at the next pass, because the store may be briefly unavailable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from rules.notification import Notification
from rules.outbox.delivery import OutboxSender

log = logging.getLogger(__name__)

MIN_WAIT = 0.05  # seconds: a row that is due again at once after failing must not spin


class SenderLoop:
    """Delivers the outbox on its own thread; :meth:`wake` makes it deliver now.

    The wake-up flag is cleared *before* each round, so a wake that arrives during a round
    makes another round: it cannot be lost between a round and the wait.
    """

    def __init__(self, sender: OutboxSender, interval: float = 1.0) -> None:
        self.sender = sender
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._handed: list[Notification] = []
        self._scan = True  # the first round looks for due rows (a backlog from before)
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self, notes: Sequence[Notification] = ()) -> None:
        """Deliver now: ``notes`` (rows just committed) or, without them, whatever is due."""
        with self._lock:
            if notes:
                self._handed.extend(notes)
            else:
                self._scan = True
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the round in progress (if any); later rows wait for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        close = getattr(self.sender, "close", None)
        if close is not None:
            close()

    def _run(self) -> None:
        next_scan = 0.0  # monotonic time of the next pass with the due query
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                handed, self._handed = self._handed, []
                scan = self._scan or time.monotonic() >= next_scan
                self._scan = False
            busy = False
            try:
                if handed:
                    left = self.sender.deliver_handed(handed)[2]
                    scan = scan or left
                if scan:
                    # a pass that delivered may have left more behind: pass again at once;
                    # one that only failed waits (an endpoint saying "retry after 0" must
                    # not make this a busy loop)
                    busy = self.sender.run_pass()[1] > 0
                    next_scan = time.monotonic() + self._sleep_after_pass()
            except Exception:  # the store may be briefly unavailable; try again next round
                log.exception("outbox round failed")
                next_scan = time.monotonic() + self.interval
            if busy:
                with self._lock:
                    self._scan = True
                continue
            self._wake.wait(max(0.0, next_scan - time.monotonic()))

    def _sleep_after_pass(self) -> float:
        """Until the next pending row comes due (a retry, a delayed open), at most
        ``interval`` (rows another instance writes are found that often)."""
        due_in = self.sender.seconds_to_next_due()
        if due_in is None:
            return self.interval
        return min(self.interval, max(MIN_WAIT, due_in))
