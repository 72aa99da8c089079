"""bot.rest.response: headers read without the email parser, the same as http.client's.

Each header block and raw response below is read both ways, by ``http.client`` itself and
by :mod:`bot.rest.response`; everything a caller can see must be equal.
"""

from __future__ import annotations

import http.client
import io
from typing import Any

import pytest

from bot.rest.response import FastHeadersResponse, read_headers

BLOCKS = [
    b"Content-Type: application/json\r\nContent-Length: 12\r\n\r\n",
    b"X-RateLimit-Limit: 10\r\nX-RateLimit-Remaining:0\r\nx-ratelimit-reset:   1700000000\r\n\r\n",
    b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nVary: Origin\r\nVary: Accept\r\n\r\n",
    b"Empty:\r\nSpaces:  \t value with  spaces  \r\n\r\n",
    b"Latin: caf\xe9\r\nUnix-End: yes\n\n",
    b"Folded: first\r\n second line\r\nNext: 1\r\n\r\n",  # continuation: parser's way
    b"Bad Name: x\r\nAfter: 1\r\n\r\n",  # a space in the name ends the parser's headers
    b"NoColon\r\nAfter: 1\r\n\r\n",
    b": empty name\r\nAfter: 1\r\n\r\n",
    b"From nobody\r\nAfter: 1\r\n\r\n",
    b"\r\n",
]


def seen(message: http.client.HTTPMessage) -> dict[str, Any]:
    return {"items": message.items(), "keys": message.keys(),
            "all": {k: message.get_all(k) for k in message},
            "defects": [type(d).__name__ for d in message.defects],
            "multipart": message.is_multipart()}  # fmt: skip


@pytest.mark.parametrize("block", BLOCKS)
def test_a_header_block_reads_as_http_client_reads_it(block: bytes) -> None:
    expected = http.client.parse_headers(io.BytesIO(block + b"body"))
    fast = read_headers(io.BytesIO(block + b"body"))
    assert seen(fast) == seen(expected)
    assert isinstance(fast, http.client.HTTPMessage)


def test_the_limits_of_http_client_still_hold() -> None:
    with pytest.raises(http.client.LineTooLong):
        read_headers(io.BytesIO(b"X: " + b"a" * 70000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        read_headers(io.BytesIO(b"X: 1\r\n" * 101 + b"\r\n"))


class FakeSocket:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


RESPONSES = [
    (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
     b'{"ok":true}', "POST"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "POST"),
    (b"HTTP/1.1 429 Too Many Requests\r\nX-RateLimit-Reset: 1\r\nConnection: close\r\n"
     b"Content-Length: 2\r\n\r\n{}", "POST"),
    (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", "GET"),
    (b"HTTP/1.1 100 Continue\r\nX: 1\r\n\r\nHTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", "POST"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\nabc", "GET"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\nKeep-Alive: timeout=5\r\n\r\nabc", "GET"),
    (b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nFolded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
     "GET"),
]


def read(cls: type[http.client.HTTPResponse], raw: bytes, method: str) -> dict[str, Any]:
    response = cls(FakeSocket(raw), method=method)  # type: ignore[arg-type]
    response.begin()
    state = {name: getattr(response, name) for name in
             ("status", "reason", "version", "chunked", "chunk_left", "length", "will_close")}
    return state | {"headers": seen(response.msg), "body": response.read()}


@pytest.mark.parametrize(("raw", "method"), RESPONSES)
def test_a_response_begins_as_http_client_begins_it(raw: bytes, method: str) -> None:
    assert read(FastHeadersResponse, raw, method) == read(http.client.HTTPResponse, raw, method)


def test_an_unknown_protocol_is_refused_the_same_way() -> None:
    with pytest.raises(http.client.UnknownProtocol):
        read(FastHeadersResponse, b"HTTP/2.0 200 OK\r\n\r\n", "GET")
