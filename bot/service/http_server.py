"""The production WSGI server (waitress) in a thread, with a bounded, graceful stop.

A listen address that cannot be opened is a :class:`bot.errors.StartError` (exit code
``EXIT_ADDRESS``) naming the key to change. ``start()`` returns once the socket listens (port 0
picks a free one: see ``base_url``). ``stop()`` stops accepting, lets running requests finish
and their answers go out (bounded), then closes idle keep-alive connections too, so the server
loop ends instead of waiting for clients. Socket changes run on waitress's own loop thread,
through its trigger: closing a socket under a running ``select()`` from another thread fails
with EBADF. When the trigger itself is gone (its descriptor closed under us, seen once in CI)
the sockets are closed from the stopping thread instead: the loop then ends on EBADF, which a
stopping server expects, and the rest of the service still stops (lease, outbox, store).

Connections are :class:`QuietChannel`: waitress's loop otherwise spins while a request runs.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

from bot.config import HttpSettings
from bot.errors import StartError
from bot.exit_codes import EXIT_ADDRESS

log = logging.getLogger(__name__)


def listen_error(http: HttpSettings, exc: BaseException) -> StartError:
    """One line for a listen address that cannot be opened, naming the key to change."""
    where = f"{http.host}:{http.port}"
    number = getattr(exc, "errno", None)
    if isinstance(exc, (ValueError, socket.gaierror)):
        text = (f"cannot listen on {where}: the host {http.host!r} does not resolve; set "
                "http.host to an address of this machine (127.0.0.1 behind a reverse proxy)")
    elif number == errno.EADDRINUSE:
        text = (f"cannot listen on {where}: the port is taken by another process; stop it or "
                "set http.port to a free port")
    elif number in (errno.EACCES, errno.EPERM):
        text = (f"cannot listen on {where}: permission denied (ports below 1024 need "
                "privileges); set http.port to 1024 or above")
    else:
        reason = getattr(exc, "strerror", None) or str(exc)
        text = (f"cannot listen on {where}: {reason}; set http.host to an address of this "
                "machine")
    return StartError(text, EXIT_ADDRESS)


class QuietChannel(HTTPChannel):
    """A waitress connection that leaves its output to the worker while a request runs.

    Why: waitress's loop asks every connection with output pending whether it may write;
    while a worker thread is writing the response it holds the buffer's lock, so the loop's
    try fails and the loop asks again, about 200 times per webhook request, each time taking
    the interpreter lock from the worker (measured: the loop cost 560-650 us per request,
    110 us for a trivial endpoint). The worker flushes what it writes itself (waitress's
    ``send_bytes`` is 1) and wakes the loop when the request ends, so the loop needs to
    write for a running request only when its output has reached the high-water mark,
    where the worker waits for the loop to drain it.
    """

    def writable(self) -> bool:
        if (self.requests and not self.will_close and not self.close_when_flushed
                and self.total_outbufs_len < self.adj.outbuf_high_watermark):
            return False
        return bool(super().writable())


def quiet_channels(server: Any) -> None:
    """Make the listening sockets of a waitress ``server`` open :class:`QuietChannel` s."""
    sockets = getattr(server, "map", None) or server._map  # several listeners, or one
    for dispatcher in list(sockets.values()):
        if hasattr(dispatcher, "channel_class"):
            dispatcher.channel_class = QuietChannel


class HttpServer:
    def __init__(self, app: Any, http: HttpSettings, *,
                 in_flight: Callable[[], int] = lambda: 0, join_seconds: float = 2.0) -> None:
        self.in_flight = in_flight
        self.join_seconds = join_seconds
        self._stopping = False
        try:
            self.server: Any = create_server(
                app, host=http.host, port=http.port, threads=http.threads, ident="atsd-bot",
                # waitress would strip X-Forwarded-For from every peer;
                # with trusted_proxies the app judges the peer itself
                clear_untrusted_proxy_headers=not http.trusted_proxies)
        except (OSError, ValueError) as exc:
            raise listen_error(http, exc) from None
        quiet_channels(self.server)
        host = http.host if ":" not in http.host else f"[{http.host}]"
        self.base_url = f"http://{host}:{self.server.effective_port}"
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # Closing the sockets from stop() wakes the select loop with EBADF; expected then.
            if not self._stopping:
                raise

    def stop(self) -> None:
        self._stopping = True
        server = self.server
        # Only the listening socket: BaseWSGIServer.close() would close the trigger too.
        self._on_loop(lambda: wasyncore.dispatcher.close(server))
        deadline = time.monotonic() + self.join_seconds
        pause = threading.Event()
        while time.monotonic() < deadline and not self._idle():
            pause.wait(0.02)
        server.task_dispatcher.shutdown(timeout=self.join_seconds)
        self._on_loop(lambda: server.asyncore.close_all(server._map, ignore_all=True))
        self._thread.join(self.join_seconds)
        if self._thread.is_alive():
            log.warning("http server: its loop did not end within %.1f s; leaving it to exit "
                        "with the process", self.join_seconds)

    def _on_loop(self, thunk: Callable[[], object]) -> None:
        """Run ``thunk`` on waitress's loop thread, or here when that loop cannot be woken."""
        if self._thread.is_alive():
            try:
                self.server.trigger.pull_trigger(thunk)
                return
            except OSError as exc:
                log.warning("http server: cannot wake its loop (%s); closing its sockets from "
                            "the stopping thread", exc)
        thunk()

    def _idle(self) -> bool:
        channels = list(self.server._map.values())
        return self.in_flight() == 0 and all(
            getattr(c, "total_outbufs_len", 0) == 0 for c in channels)
