"""The one typed wrapper around ``rocketchat_API`` 3.7.x (Rocket.Chat's REST API).

``rocketchat_API`` >= 2.0 returns parsed dicts and raises its own exceptions; nothing outside
this module touches it. Every failure becomes :class:`RestRejected` (a ``ChatRejected``:
retrying will not help) or :class:`RestUnavailable` (a ``ChatUnavailable``, with
``retry_after`` on a 429); see :mod:`bot.rest_errors`.

Decisions:

* Login is done here rather than by ``rocketchat_API`` (whose ``login`` hides 429/5xx/non-JSON
  answers behind one ``RocketConnectionException``) and always sends a JSON body, which
  Rocket.Chat >= 7.6 requires.
* Two-factor "password fallback" (the server default for users without 2FA): a 2FA-protected
  route answers ``totp-required`` with ``method: "password"``; a client made with
  :meth:`RestClient.with_password` retries once with ``x-2fa-code: sha256(password)``. Only the
  digest is kept in memory, never the password. For ``totp``/``email`` the code given at login
  (``totp_code``) is sent the same way; without one it is a clear error.
* ``rocketchat_API`` builds GET query strings without URL-encoding, so every value passed to a
  GET is percent-encoded here first.
* No secret (password, token, 2FA digest) ever appears in a log line or an error text: errors
  quote only the server's ``error``/``errorType`` and the endpoint name.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from rocketchat_API.APISections.base import json_or_error
from rocketchat_API.rocketchat import RocketChat

from bot.rest_errors import RestRejected, RestUnavailable, retry_after, run_translated

__all__ = ["DEFAULT_TIMEOUT", "RestClient", "RestRejected", "RestUnavailable", "iso_ms",
           "retry_after"]

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0


def iso_ms(moment: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``: the date format Rocket.Chat's REST API reads and writes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _q(value: object) -> str:
    """Percent-encode one GET value (``rocketchat_API`` concatenates them raw)."""
    return quote(str(value), safe="")


class RestClient:
    """Authenticated REST calls to one Rocket.Chat server; every method returns parsed JSON.

    Build it with :meth:`with_password` (logs in now) or :meth:`with_token` (personal access
    token or a login token; nothing is sent until the first call).
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self._last = threading.local()  # the last HTTP response of this thread (for headers)
        self.session.hooks["response"].append(self._remember)
        self._api = RocketChat(server_url=self.url, timeout=timeout, session=self.session)
        self._password_digest: str | None = None  # for the 2FA password fallback only
        self._two_factor_code: str | None = None  # a TOTP/e-mail code given by the user
        self._header_lock = threading.Lock()
        self.user_id: str | None = None
        self.username: str | None = None

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def with_password(cls, url: str, user: str, password: str, *,
                      timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                      totp_code: str | None = None) -> RestClient:
        """Log in with a username (or e-mail) and password; raises on bad credentials."""
        client = cls(url, timeout=timeout, session=session)
        client._login(user, password, totp_code)
        return client

    @classmethod
    def with_token(cls, url: str, user_id: str, token: str, *,
                   timeout: float = DEFAULT_TIMEOUT,
                   session: requests.Session | None = None) -> RestClient:
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

    # -- server and self ------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """``GET /api/info``; raises :class:`RestUnavailable` when the server is not Rocket.Chat."""
        answer = self._call("info", self._api.info)
        if not isinstance(answer, dict) or answer.get("success") is not True:
            raise RestUnavailable(f"{self.url} does not look like a Rocket.Chat server "
                                  "(/api/info did not answer success); check the URL")
        return answer

    def me(self) -> dict[str, Any]:
        """The authenticated user (``GET /api/v1/me``): ``_id``, ``username``, ``roles`` ..."""
        return self._call("me", self._api.me)

    # -- users ----------------------------------------------------------------------------

    def users_info(self, *, username: str | None = None,
                   user_id: str | None = None) -> dict[str, Any] | None:
        """The user document, or None when the server says the user does not exist."""
        if (username is None) == (user_id is None):
            raise ValueError("give exactly one of username= or user_id=")
        try:
            if username is not None:
                answer = self._call("users.info",
                                    lambda: self._api.users_info(username=_q(username)))
            else:
                answer = self._call("users.info",
                                    lambda: self._api.users_info(user_id=_q(user_id)))
        except RestRejected as exc:
            if exc.status == 400 and "not found" in str(exc).lower():
                return None
            raise
        user = answer.get("user")
        return user if isinstance(user, dict) else None

    def users_create(self, *, email: str, name: str, password: str, username: str,
                     **fields: Any) -> dict[str, Any]:
        """``POST users.create``; ``fields`` go as-is (``roles``, ``verified``, ...)."""
        answer = self._call("users.create", lambda: self._api.users_create(
            email=email, name=name, password=password, username=username, **fields))
        return dict(answer.get("user") or {})

    def users_update(self, user_id: str, **data: Any) -> dict[str, Any]:
        """``POST users.update`` ``{"userId": user_id, "data": data}`` (a 2FA route)."""
        answer = self._call("users.update", lambda: self._api.users_update(user_id, **data))
        return dict(answer.get("user") or {})

    def generate_personal_access_token(self, name: str,
                                       bypass_two_factor: bool = True) -> str:
        """A new personal access token *for the authenticated user*; returns the token."""
        answer = self._call("users.generatePersonalAccessToken", lambda: self._api.call_api_post(
            "users.generatePersonalAccessToken", tokenName=name,
            bypassTwoFactor=bypass_two_factor))
        token = answer.get("token")
        if not isinstance(token, str) or not token:
            raise RestUnavailable("users.generatePersonalAccessToken answered without a token")
        return token

    def personal_access_tokens(self) -> list[dict[str, Any]]:
        """The authenticated user's tokens (names and dates, never the secrets)."""
        answer = self._call("users.getPersonalAccessTokens",
                            lambda: self._api.call_api_get("users.getPersonalAccessTokens"))
        tokens = answer.get("tokens")
        return list(tokens) if isinstance(tokens, list) else []

    # -- integrations ---------------------------------------------------------------------

    def integrations_list(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every integration, or those whose name equals ``name`` exactly.

        The server's ``name`` filter is a case-insensitive substring match, so the exact
        comparison is done here.
        """
        kwargs: dict[str, Any] = {} if name is None else {"name": _q(name)}
        items = self._call("integrations.list",
                           lambda: list(self._api.integrations_list(**kwargs)))
        return [i for i in items if name is None or i.get("name") == name]

    def integrations_create(self, **fields: Any) -> dict[str, Any]:
        """``POST integrations.create`` with exactly ``fields``; returns the integration."""
        answer = self._call("integrations.create", lambda: self._api.call_api_post(
            "integrations.create", body=fields))
        return dict(answer.get("integration") or {})

    def integrations_update(self, **fields: Any) -> dict[str, Any]:
        """``PUT integrations.update``: send the full object (with ``integrationId``, ``token``)."""
        answer = self._call("integrations.update", lambda: self._api.call_api_put(
            "integrations.update", **fields))
        return dict(answer.get("integration") or {})

    def integrations_remove(self, integration_id: str,
                            integration_type: str = "webhook-outgoing") -> dict[str, Any]:
        """``POST integrations.remove``; returns the removed integration."""
        answer = self._call("integrations.remove", lambda: self._api.integrations_remove(
            integration_type, integration_id))
        return dict(answer.get("integration") or {})

    # -- messages and rooms ---------------------------------------------------------------

    def chat_post_message(self, *, room_id: str | None = None, text: str = "",
                          tmid: str | None = None, **extra: Any) -> dict[str, Any]:
        """``POST chat.postMessage`` to ``room_id`` (or ``channel=`` in ``extra``)."""
        if tmid is not None:
            extra["tmid"] = tmid
        answer = self._call("chat.postMessage", lambda: self._api.chat_post_message(
            text, room_id=room_id, **extra))
        return dict(answer.get("message") or {})

    def chat_send_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """``POST chat.sendMessage``; ``message`` needs ``rid`` and may carry our own ``_id``."""
        answer = self._call("chat.sendMessage",
                            lambda: self._api.chat_send_message(message))
        return dict(answer.get("message") or {})

    def chat_get_message(self, message_id: str) -> dict[str, Any] | None:
        """``GET chat.getMessage``: the message, or None when the server does not have it."""
        try:
            answer = self._call("chat.getMessage",
                                lambda: self._api.chat_get_message(_q(message_id)))
        except RestRejected as exc:
            if exc.status in (400, 404):
                return None
            raise
        message = answer.get("message")
        return message if isinstance(message, dict) else None

    def dm_create(self, username: str) -> dict[str, Any]:
        """Open (or find) the direct-message room with ``username``; returns the room."""
        answer = self._call("dm.create", lambda: self._api.dm_create(username))
        return dict(answer.get("room") or {})

    def sync_messages(self, room_id: str, last_update: datetime) -> dict[str, Any]:
        """``GET chat.syncMessages``: ``{"updated": [...], "deleted": [...]}`` since a moment."""
        answer = self._call("chat.syncMessages", lambda: self._api.chat_sync_messages(
            _q(room_id), _q(iso_ms(last_update))))
        result = answer.get("result")
        return dict(result) if isinstance(result, dict) else {"updated": [], "deleted": []}

    def channels_history(self, room_id: str, oldest: datetime,
                         count: int = 100) -> list[dict[str, Any]]:
        """Messages of a public channel newer than ``oldest`` (newest first, like the server)."""
        return self._history("channels.history", self._api.channels_history,
                             room_id, oldest, count)

    def im_history(self, room_id: str, oldest: datetime,
                   count: int = 100) -> list[dict[str, Any]]:
        """Messages of a direct-message room newer than ``oldest`` (``dm.history``)."""
        return self._history("dm.history", self._api.dm_history, room_id, oldest, count)

    def groups_history(self, room_id: str, oldest: datetime,
                       count: int = 100) -> list[dict[str, Any]]:
        """Messages of a private group newer than ``oldest``."""
        return self._history("groups.history", self._api.groups_history,
                             room_id, oldest, count)

    def rooms_get(self) -> list[dict[str, Any]]:
        """Every room the authenticated user is subscribed to (``GET rooms.get``)."""
        answer = self._call("rooms.get", self._api.rooms_get)
        rooms = answer.get("update", answer.get("rooms", []))
        return list(rooms) if isinstance(rooms, list) else []

    def _history(self, endpoint: str, call: Callable[..., Any], room_id: str,
                 oldest: datetime, count: int) -> list[dict[str, Any]]:
        # the library pages these (a generator); max_count stops it after ``count`` messages
        return self._call(endpoint, lambda: list(call(
            _q(room_id), oldest=_q(iso_ms(oldest)), count=int(count), max_count=int(count))))

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
