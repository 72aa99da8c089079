"""The WSGI server thread stops cleanly, also when waitress's wake-up pipe is already closed."""

from __future__ import annotations

import os
import socket

import requests

from bot.config import HttpSettings
from bot.service.http_server import HttpServer


def hello(environ: dict, start_response) -> list[bytes]:  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def started() -> HttpServer:
    server = HttpServer(hello, HttpSettings(port=0, threads=2), join_seconds=5.0)
    server.start()
    assert requests.get(server.base_url, timeout=5).text == "hello"
    return server


def port_is_free(base_url: str) -> bool:
    port = int(base_url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_stop_ends_the_loop_and_frees_the_port() -> None:
    server = started()
    server.stop()
    assert not server._thread.is_alive()
    assert port_is_free(server.base_url)


def test_stop_survives_a_closed_wake_up_pipe(caplog) -> None:  # type: ignore[no-untyped-def]
    # CI once saw pull_trigger fail with EBADF: the write end of the pipe was gone.
    server = started()
    os.close(server.server.trigger.trigger)
    server.stop()
    assert not server._thread.is_alive()
    assert port_is_free(server.base_url)
    assert "cannot wake its loop" in caplog.text
