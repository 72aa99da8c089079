"""The WSGI server thread stops cleanly, also when waitress's wake-up pipe is already closed."""

from __future__ import annotations

import os
import socket
from typing import Any

import requests

from bot.config import HttpSettings
from bot.service.http_server import HttpServer, QuietChannel
from tests.realtime.harness import wait_until


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


CHUNK, CHUNKS = 256 * 1024, 64


def chunks(environ: dict, start_response) -> Any:  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(CHUNK * CHUNKS))])
    # 16 MiB in 256 KiB writes: more than loopback's socket buffers take
    return (bytes([i % 251]) * CHUNK for i in range(CHUNKS))


def test_a_response_above_the_high_water_mark_arrives_whole() -> None:
    # A client that does not read yet: the worker's output piles up past the mark, where
    # the worker waits for waitress's loop to drain it; the loop must do so.
    server = HttpServer(chunks, HttpSettings(port=0, threads=2), join_seconds=5.0)
    mark = server.server.adj.outbuf_high_watermark = 256 * 1024
    server.start()
    try:
        port = int(server.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            wait_until(lambda: any(getattr(c, "total_outbufs_len", 0) > mark
                                   for c in list(server.server._map.values())),
                       what="the response to pile up past the high-water mark")
            received = bytearray()
            while chunk := client.recv(65536):
                received += chunk
        body = bytes(received).split(b"\r\n\r\n", 1)[1]
        assert len(body) == CHUNK * CHUNKS
        assert body[::CHUNK] == bytes(i % 251 for i in range(CHUNKS))
    finally:
        server.stop()


def test_keep_alive_connections_get_every_answer() -> None:
    server = started()
    try:
        with requests.Session() as session:
            assert [session.get(server.base_url, timeout=5).text for _ in range(50)] \
                == ["hello"] * 50
    finally:
        server.stop()


class Adj:
    outbuf_high_watermark = 1000


def channel(requests_running: int, pending: int, **flags: bool) -> QuietChannel:
    quiet = QuietChannel.__new__(QuietChannel)  # the state writable() reads, no socket
    quiet.requests = [object()] * requests_running
    quiet.total_outbufs_len = pending
    quiet.will_close = flags.get("will_close", False)
    quiet.close_when_flushed = flags.get("close_when_flushed", False)
    quiet.adj = Adj()
    return quiet


def test_the_loop_leaves_a_running_requests_output_to_its_worker() -> None:
    assert not channel(1, 10).writable()  # the worker flushes it
    assert channel(1, 1000).writable()  # at the mark the worker waits for the loop
    assert channel(0, 10).writable()  # the request ended: the loop sends what is left
    assert channel(1, 10, will_close=True).writable()
    assert channel(1, 10, close_when_flushed=True).writable()
    assert not channel(0, 0).writable()
