"""Run a WSGI app under waitress on an ephemeral loopback port, in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from waitress.server import create_server


@contextmanager
def serve(app: Any, threads: int = 4) -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT``; the server stops when the block ends."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           clear_untrusted_proxy_headers=False)
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:
            # Closing the sockets from this side ends select() with EBADF; that is the stop.
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        server.close()
        # Kept-alive client connections stay in the loop's map and would keep it running.
        for channel in list(server._map.values()):
            channel.close()
        server._map.clear()
        server.task_dispatcher.shutdown()
        thread.join(timeout=10)
