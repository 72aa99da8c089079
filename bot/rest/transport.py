"""The HTTP transport of the bot's REST calls: ``requests`` minus per-call work it never needs.

A reply goes out as one ``chat.sendMessage`` and the replies of a room one after another, so
the client's CPU per call bounds a room's burst. With a plain ``requests.Session`` that CPU was
about 0.6 ms a call, four times a raw ``http.client`` POST: merging cookie jars that stay empty,
settings merged through generic mapping code, the URL parsed and re-quoted, the answer's headers
run through ``http.cookiejar`` for cookies that never come, a redirect generator for a route
that never redirects, the urllib3 pool looked up by a freshly built key, and the request's
headers and body written in two ``send`` calls (two packets, two wake-ups of the server).

:class:`LeanSession` and :class:`LeanAdapter` keep ``requests``' public API, its exceptions
and its semantics and skip only work whose result is known:

* :meth:`LeanSession.request` builds the prepared request itself when the call is plain (no
  params, form data, files, auth, cookies, per-call proxies or hooks; ``trust_env`` off; an
  empty cookie jar): the URL is prepared once per distinct URL; headers merge and are
  validated, the JSON body is encoded, and the response hooks run, as ``requests`` does. The
  answer's cookies are extracted only when it has a ``Set-Cookie`` header, and redirects are
  followed only when it is a redirect (then with ``requests``' own code). Anything else goes
  through ``requests.Session.request`` unchanged.
* :class:`LeanAdapter` remembers the connection pool for a (scheme, host, port, TLS settings,
  proxy), checks a CA bundle's path once per pool and settings rather than on every call, and
  builds the ``Response`` without the cookie pass when there is no ``Set-Cookie``. Its
  ``send`` is ``HTTPAdapter.send`` itself, so ``responses`` (which patches that method) still
  intercepts every call in tests.
* Its connections (not through a proxy) write a request whose body is bytes with a
  ``Content-Length`` in one ``send``: header block and body together.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.hooks import dispatch_hook
from requests.models import PreparedRequest, Response
from requests.sessions import preferred_clock
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    check_header_validity,
    get_auth_from_url,
    get_encoding_from_headers,
    select_proxy,
    to_native_string,
)
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from bot.rest.response import FastHeadersResponse

# A body up to this size goes out in the same send as the header block (larger ones, uploads,
# are not worth copying for it).
JOIN_LIMIT = 64 * 1024
# Distinct URLs whose prepared form is kept: the POST routes (chat.sendMessage, chat.update ...)
# repeat; GET URLs carry their query and mostly do not, so the cache stops growing at this size.
URL_CACHE_SIZE = 256
# Distinct header sets kept (a new login or a 2FA answer makes one more).
HEADER_CACHE_SIZE = 32


def _has_cookies(response: Any) -> bool:
    """Whether an urllib3 response sets cookies (``http.cookiejar`` reads only these two)."""
    headers = getattr(response, "headers", None)
    return headers is not None and ("set-cookie" in headers or "set-cookie2" in headers)


class LeanSession(requests.Session):
    """A ``requests.Session`` whose plain calls skip the work whose result is known (see the
    module's docstring); meant for a session with ``trust_env`` off and no cookies."""

    def __init__(self) -> None:
        super().__init__()
        self._urls: dict[str, str | None] = {}  # as given -> prepared (None: has credentials)
        self._headers: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}

    def request(self, method: str, url: Any, params: Any = None, data: Any = None,  # type: ignore[override]
                headers: Any = None, cookies: Any = None, files: Any = None, auth: Any = None,
                timeout: Any = None, allow_redirects: bool = True, proxies: Any = None,
                hooks: Any = None, stream: bool | None = None, verify: Any = None,
                cert: Any = None, json: Any = None) -> Response:
        prepared_url = self._prepared_url(url) if type(url) is str else None
        if (prepared_url is None or params or data or files or auth or cookies or proxies
                or hooks or stream or self.trust_env or self.auth or self.params
                or self.stream or len(self.cookies)):
            return super().request(method, url, params=params, data=data, headers=headers,
                                   cookies=cookies, files=files, auth=auth, timeout=timeout,
                                   allow_redirects=allow_redirects, proxies=proxies,
                                   hooks=hooks, stream=stream, verify=verify, cert=cert,
                                   json=json)
        prep = PreparedRequest()
        prep.method = method.upper()
        prep.url = prepared_url
        prep.headers = CaseInsensitiveDict(self._header_pairs(headers))
        prep.prepare_body({}, None, json)
        prep.prepare_hooks(self.hooks)
        settings = {"stream": False, "timeout": timeout,
                    "verify": self.verify if verify is None else verify,
                    "cert": self.cert if cert is None else cert,
                    "proxies": {k: v for k, v in self.proxies.items() if v is not None}}
        return self._send_plain(prep, allow_redirects, settings)

    def _prepared_url(self, url: str) -> str | None:
        """``url`` as ``requests`` prepares it (parsed, IDNA host, re-quoted), computed once;
        None for a URL with credentials in it (``requests`` turns those into basic auth)."""
        prepared = self._urls.get(url, "")
        if prepared != "":
            return prepared
        prep = PreparedRequest()
        prep.prepare_url(url, None)
        result = prep.url if not any(get_auth_from_url(str(prep.url))) else None
        if len(self._urls) < URL_CACHE_SIZE:
            self._urls[url] = result
        return result

    def _header_pairs(self, headers: Any) -> list[tuple[str, Any]]:
        """The session's headers with the call's over them, None values dropped and each
        checked (``requests``' ``merge_setting`` and ``prepare_headers``), once per distinct
        set: a call's headers are the login's and the library's, the same every time."""
        try:
            key = (tuple(self.headers.items()), tuple(headers.items()) if headers else ())
            pairs = self._headers.get(key)
        except TypeError:  # an unhashable value: not cached
            key, pairs = None, None
        if pairs is None:
            merged = CaseInsensitiveDict(self.headers)
            if headers:
                merged.update(headers)
            pairs = []
            for header in merged.items():
                if header[1] is not None:
                    check_header_validity(cast("tuple[str, str]", header))
                    pairs.append((to_native_string(header[0]), header[1]))
            if key is not None:
                if len(self._headers) >= HEADER_CACHE_SIZE:
                    self._headers.clear()
                self._headers[key] = pairs
        return pairs

    def _send_plain(self, prep: PreparedRequest, allow_redirects: bool,
                    settings: dict[str, Any]) -> Response:
        """``requests.Session.send`` for a plain request, its cookie and redirect passes run
        only when the answer sets a cookie or redirects."""
        adapter = self.get_adapter(url=str(prep.url))
        start = preferred_clock()
        r = adapter.send(prep, **settings)
        r.elapsed = timedelta(seconds=preferred_clock() - start)
        r = dispatch_hook("response", prep.hooks, r, **settings)
        for earlier in r.history:  # a hook may have made history
            extract_cookies_to_jar(self.cookies, earlier.request, earlier.raw)
        if _has_cookies(r.raw):
            extract_cookies_to_jar(self.cookies, prep, r.raw)
        if self.get_redirect_target(r) is not None:
            prep.prepare_cookies(RequestsCookieJar())  # what resolve_redirects merges into
            if allow_redirects:
                history = [r, *self.resolve_redirects(r, prep, **settings)]
                r = history.pop()
                r.history = history
            else:
                r._next = next(
                    self.resolve_redirects(r, prep, yield_requests=True, **settings), None)
        r.content  # noqa: B018 - read the body now (stream=False), as requests does
        return r


class _OneSendMixin:
    """Writes a request whose body is bytes with a ``Content-Length`` in one ``send``: the
    header block and the body together (urllib3 sends them apart: two packets, and the server
    wakes twice). Everything else is urllib3's."""

    _pending_body: bytes | None = None
    _joining = False
    # http.client's response, with the headers read without the email parser
    response_class: type[http.client.HTTPResponse] = FastHeadersResponse

    def request(self, method: str, url: str, body: Any = None, headers: Any = None,
                **kwargs: Any) -> None:
        if (type(body) is bytes and 0 < len(body) <= JOIN_LIMIT and not kwargs.get("chunked")
                and headers is not None
                and ("content-length" in headers or "Content-Length" in headers)
                and getattr(self, "_tunnel_host", None) is None):
            self._pending_body = body
            try:
                super().request(method, url, None, headers, **kwargs)  # type: ignore[misc]
            finally:
                self._pending_body = None
                self._joining = False
            return
        super().request(method, url, body, headers, **kwargs)  # type: ignore[misc]

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        self._joining = self._pending_body is not None
        super().endheaders(message_body, encode_chunked=encode_chunked)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._joining:  # the header block: the body goes with it
            self._joining = False
            data, self._pending_body = data + self._pending_body, None
        super().send(data)  # type: ignore[misc]


class LeanHTTPConnection(_OneSendMixin, HTTPConnection):
    """urllib3's HTTP connection, writing header block and body in one send."""


class LeanHTTPSConnection(_OneSendMixin, HTTPSConnection):
    """urllib3's HTTPS connection, writing header block and body in one send."""


class LeanHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = LeanHTTPConnection
    verified_for: tuple[Any, Any] | None = None  # (verify, cert) cert_verify last checked


class LeanHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = LeanHTTPSConnection
    verified_for: tuple[Any, Any] | None = None


class LeanAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that remembers its pools and checks TLS paths once per pool (see the
    module's docstring); ``send`` is ``HTTPAdapter.send``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[tuple[Any, ...], Any] = {}  # -> HTTPConnectionPool
        self._pools_lock = threading.Lock()
        self._paths: dict[str, str] = {}  # prepared URL -> the path and query sent

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": LeanHTTPConnectionPool,
                                                   "https": LeanHTTPSConnectionPool}

    def get_connection_with_tls_context(self, request: PreparedRequest, verify: Any,
                                        proxies: Mapping[str, str] | None = None,
                                        cert: Any = None) -> HTTPConnectionPool:
        url = str(request.url)
        cut = url.find("/", url.find("//") + 2)
        key = (url if cut < 0 else url[:cut], verify,
               tuple(cert) if isinstance(cert, list) else cert,
               select_proxy(url, dict(proxies)) if proxies else None)
        cached = self._pools.get(key)
        if cached is not None and cached.pool is not None:  # None: closed (evicted, cleared)
            return cached
        pool: Any = super().get_connection_with_tls_context(request, verify, proxies, cert)
        with self._pools_lock:
            if len(self._pools) >= 16:
                self._pools.clear()
            self._pools[key] = pool
        return pool

    def request_url(self, request: PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        if proxies:
            return super().request_url(request, proxies)
        url = str(request.url)  # not proxied: the path and query, computed once per URL
        path = self._paths.get(url)
        if path is None:
            path = request.path_url
            if len(self._paths) >= URL_CACHE_SIZE:
                self._paths.clear()
            self._paths[url] = path
        return path

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        settings = (verify, cert)
        if getattr(conn, "verified_for", None) == settings and url.startswith("https:"):
            return  # same pool, same settings: the paths were checked when they were set
        super().cert_verify(conn, url, verify, cert)
        if isinstance(conn, LeanHTTPConnectionPool | LeanHTTPSConnectionPool):
            conn.verified_for = settings

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        if _has_cookies(resp):
            return super().build_response(req, resp)
        response = Response()
        response.status_code = getattr(resp, "status", None)  # type: ignore[assignment]
        response.headers = CaseInsensitiveDict(getattr(resp, "headers", {}))
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else str(req.url)
        response.request = req
        response.connection = self
        return response

    def close(self) -> None:
        with self._pools_lock:
            self._pools.clear()
        super().close()


def lean_session(pool_connections: int, pool_maxsize: int) -> LeanSession:
    """A :class:`LeanSession` with a :class:`LeanAdapter` for http and https."""
    session = LeanSession()
    adapter = LeanAdapter(pool_connections=pool_connections, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


__all__ = ["LeanAdapter", "LeanSession", "lean_session"]
