"""The production WSGI server (waitress) in a thread, with a bounded, graceful stop.

``start()`` returns once the socket listens (port 0 picks a free one: see ``base_url``).
``stop()`` stops accepting, lets running requests finish and their answers go out (bounded),
then closes idle keep-alive connections too, so the server loop ends instead of waiting for
clients. Socket changes run on waitress's own loop thread, through its trigger: closing a
socket under a running ``select()`` from another thread fails with EBADF.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from bot.config.load import HttpSettings

log = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, app: Any, http: HttpSettings, *,
                 in_flight: Callable[[], int] = lambda: 0, join_seconds: float = 2.0) -> None:
        self.in_flight = in_flight
        self.join_seconds = join_seconds
        self._stopping = False
        self.server: Any = create_server(
            app, host=http.host, port=http.port, threads=http.threads, ident="atsd-bot",
            # waitress would strip X-Forwarded-For from every peer;
            # with trusted_proxies the app judges the peer itself
            clear_untrusted_proxy_headers=not http.trusted_proxies)
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
        server.trigger.pull_trigger(lambda: wasyncore.dispatcher.close(server))
        deadline = time.monotonic() + self.join_seconds
        pause = threading.Event()
        while time.monotonic() < deadline and not self._idle():
            pause.wait(0.02)
        server.task_dispatcher.shutdown(timeout=self.join_seconds)
        server.trigger.pull_trigger(lambda: server.asyncore.close_all(server._map,
                                                                      ignore_all=True))
        self._thread.join(self.join_seconds)

    def _idle(self) -> bool:
        channels = list(self.server._map.values())
        return self.in_flight() == 0 and all(
            getattr(c, "total_outbufs_len", 0) == 0 for c in channels)
