"""An authenticated session with Rocket.Chat's REST API: login, 2FA answers, error translation.

:class:`RestSession` is the base of :class:`bot.rest.client.RestClient`, which adds one typed method
per endpoint. Every library call goes through :meth:`RestSession._call`.

Decisions:

* Login is done here rather than by ``rocketchat_API`` (whose ``login`` hides 429/5xx/non-JSON
  answers behind one ``RocketConnectionException``) and always sends a JSON body, which
  Rocket.Chat >= 7.6 requires.
* Two-factor "password fallback" (the server default for users without 2FA): a 2FA-protected
  route answers ``totp-required`` with ``method: "password"``; a session made with
  :meth:`RestSession.with_password` retries once with ``x-2fa-code: sha256(password)``. Only
  the digest is kept in memory, never the password. For ``totp``/``email`` the code given at
  login (``totp_code``) is sent the same way; without one it is a clear error.
* The environment (``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE`` or
  ``CURL_CA_BUNDLE``) is read once, when the session is made, not on every call: ``requests``
  walks all of ``os.environ`` per request otherwise, a fifth of a reply's CPU. ``~/.netrc`` is
  not consulted (the session authenticates with its own headers).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar

import requests
from rocketchat_API.APISections.base import json_or_error
from rocketchat_API.rocketchat import RocketChat

from bot.rest.errors import RestRejected, RestUnavailable, run_translated
from bot.rest.transport import lean_session

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0
# Keep-alive connections kept per server: the outbox sender posts to several rooms at once
# (rules.outbox.lanes), each on a connection of its own that stays open between replies.
POOL_SIZE = 16


def keep_alive_session(url: str) -> requests.Session:
    """A ``requests.Session`` for the server at ``url`` that keeps up to :data:`POOL_SIZE`
    connections, with the proxy and CA bundle the environment gives for ``url`` fixed now;
    a :class:`~bot.rest.transport.LeanSession` (a reply's call costs half the CPU)."""
    session = lean_session(pool_connections=4, pool_maxsize=POOL_SIZE)
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


class RestSession:
    """Credentials and the HTTP session for one Rocket.Chat server.

    Build it with :meth:`with_password` (logs in now) or :meth:`with_token` (personal access
    token or a login token; nothing is sent until the first call).
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or keep_alive_session(self.url)
        self._last = threading.local()  # the last HTTP response of this thread (for headers)
        self.session.hooks["response"].append(self._remember)
        self._api = RocketChat(server_url=self.url, timeout=timeout, session=self.session)
        # the library passes ``verify=ssl_verify`` on every call, and an explicit value wins
        # over the session's: without this a CA bundle (REQUESTS_CA_BUNDLE) would be ignored
        self._api.ssl_verify = self.session.verify
        self._password_digest: str | None = None  # for the 2FA password fallback only
        self._two_factor_code: str | None = None  # a TOTP/e-mail code given by the user
        self._header_lock = threading.Lock()
        self.user_id: str | None = None
        self.username: str | None = None

    @classmethod
    def with_password(cls, url: str, user: str, password: str, *,
                      timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                      totp_code: str | None = None) -> Self:
        """Log in with a username (or e-mail) and password; raises on bad credentials."""
        client = cls(url, timeout=timeout, session=session)
        client._login(user, password, totp_code)
        return client

    @classmethod
    def with_token(cls, url: str, user_id: str, token: str, *,
                   timeout: float = DEFAULT_TIMEOUT,
                   session: requests.Session | None = None) -> Self:
        """Use an existing token (personal access token or ``authToken``) with its user id."""
        client = cls(url, timeout=timeout, session=session)
        client._api.headers["X-User-Id"] = user_id
        client._api.headers["X-Auth-Token"] = token
        client.user_id = user_id
        return client

    def _login(self, user: str, password: str, totp_code: str | None) -> None:
        body: dict[str, Any] = {"user" if "@" in user else "username": user,
                                "password": password}
        if totp_code:
            body["code"] = totp_code
            self._two_factor_code = totp_code  # also answers 2FA-protected routes later
        answer = self._call("login", lambda: self._post_login(body))
        data = answer.get("data") if isinstance(answer, dict) else None
        if answer.get("status") != "success" or not isinstance(data, dict) \
                or not data.get("authToken") or not data.get("userId"):
            raise RestUnavailable(
                f"{self.url}: the login answer is not Rocket.Chat's; check the server URL")
        self._api.headers["X-User-Id"] = str(data["userId"])
        self._api.headers["X-Auth-Token"] = str(data["authToken"])
        self.user_id = str(data["userId"])
        me = data.get("me")
        self.username = me.get("username") if isinstance(me, dict) else user
        self._password_digest = hashlib.sha256(password.encode("utf-8")).hexdigest()

    def _post_login(self, body: dict[str, Any]) -> Any:
        response = self.session.post(self.url + "/api/v1/login", json=body,
                                     timeout=self._api.timeout)
        return json_or_error(response)

    def logout(self) -> None:
        """End this login session (``POST /api/v1/logout``); tokens stay valid."""
        self._call("logout", self._api.logout)

    # -- error translation ----------------------------------------------------------------

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = response

    def _call(self, endpoint: str, call: Callable[[], T]) -> T:
        """Run one library call; translate every failure; answer a 2FA challenge once."""
        try:
            return self._translate(endpoint, call)
        except RestRejected as exc:
            answer = self._two_factor_answer() if exc.error_type == "totp-required" else None
            if answer is None:
                raise
        log.info("%s: answering the two-factor check (method %s)", endpoint, answer[1])
        with self._two_factor_headers(*answer):
            return self._translate(endpoint, call)

    def _two_factor_answer(self) -> tuple[str, str] | None:
        """(code, method) for the challenge just received, or None when we have none."""
        body = getattr(self._last, "json", None)
        details = body.get("details") if isinstance(body, dict) else None
        method = details.get("method") if isinstance(details, dict) else None
        if method == "password" and self._password_digest is not None:
            return self._password_digest, "password"
        if method in ("totp", "email") and self._two_factor_code:
            return self._two_factor_code, str(method)
        return None

    @contextmanager
    def _two_factor_headers(self, code: str, method: str) -> Iterator[None]:
        with self._header_lock:
            self._api.headers["x-2fa-code"] = code
            self._api.headers["x-2fa-method"] = method
            try:
                yield
            finally:
                self._api.headers.pop("x-2fa-code", None)
                self._api.headers.pop("x-2fa-method", None)

    def _translate(self, endpoint: str, call: Callable[[], T]) -> T:
        answer: T = run_translated(endpoint, self.url, self._api.timeout, call, self._last)
        log.debug("%s: ok", endpoint)
        return answer
