"""An ``http.client`` response whose header block is read without the ``email`` parser.

``http.client`` hands every response's header block to ``email.parser`` (a feed parser built
for mail, with its regular expressions and policy objects): about a quarter of the bot's CPU
for one ``chat.sendMessage`` (py-spy, ``bench/rest_call.py``). Rocket.Chat's answers have a
dozen plain ``Name: value`` lines, which :func:`read_headers` reads into the same
``HTTPMessage`` the parser would make, field for field. A block with anything the parser
treats specially (a folded line, a name with characters outside the token range, a line
without a colon) goes to ``email.parser`` as before, so the result never
differs (tests/provisioning/test_rest_response.py compares the two on such blocks).

:class:`FastHeadersResponse` is ``http.client.HTTPResponse`` with :meth:`begin` reading the
headers that way; the rest of ``begin`` is the standard library's, step for step.
"""

from __future__ import annotations

import email.parser
import http.client
from typing import Any, BinaryIO

# What email's feed parser takes as a header name: printable ASCII except the colon
_NAME_CHARS = frozenset(range(0x21, 0x7F)) - {ord(":")}
_BLANK = (b"\r\n", b"\n", b"")
# http.client's reading of a header block's lines, with its limits (line length, count)
_read_lines = http.client._read_headers  # type: ignore[attr-defined]  # noqa: SLF001


def read_headers(fp: BinaryIO) -> http.client.HTTPMessage:
    """The header block at ``fp`` as ``http.client.parse_headers`` would return it."""
    lines: list[bytes] = _read_lines(fp)
    fields: list[tuple[str, str]] = []
    for line in lines:
        if line in _BLANK:
            break
        name, colon, value = line.partition(b":")
        if not colon or not name or not _NAME_CHARS.issuperset(name):
            return _parsed(lines)
        # compat32's header_source_parse: the value left-stripped of blanks, the line end cut
        fields.append((name.decode("ascii"),
                       value.lstrip(b" \t").rstrip(b"\r\n").decode("iso-8859-1")))
    message = http.client.HTTPMessage()
    message._headers = fields  # type: ignore[attr-defined]  # noqa: SLF001 - what set_raw fills
    return message


def _parsed(lines: list[bytes]) -> http.client.HTTPMessage:
    text = b"".join(lines).decode("iso-8859-1")
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)


class FastHeadersResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` reading its headers with :func:`read_headers`."""

    def begin(self) -> None:
        if self.headers is not None:
            return  # already started reading the response
        while True:  # until a response that is not 100 Continue
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            _read_lines(self.fp)  # the 100's headers, skipped
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_headers(self.fp)
        self._framing(status)

    def _framing(self, status: int) -> None:
        """Chunked or not, the length, and whether the connection closes after this answer:
        as ``http.client.HTTPResponse.begin`` works them out."""
        encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(encoding and encoding.lower() == "chunked")
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = _length(self.headers.get("content-length"), self.chunked)
        method: Any = getattr(self, "_method", None)
        if (status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
                or 100 <= status < 200 or method == "HEAD"):
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


def _length(value: str | None, chunked: bool) -> int | None:
    if not value or chunked:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


__all__ = ["FastHeadersResponse", "read_headers"]
