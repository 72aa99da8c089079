"""The one typed wrapper around ``rocketchat_API`` 3.7.x (Rocket.Chat's REST API).

``rocketchat_API`` >= 2.0 returns parsed dicts and raises its own exceptions; nothing outside
this module touches it. Every failure becomes :class:`RestRejected` (a ``ChatRejected``:
retrying will not help) or :class:`RestUnavailable` (a ``ChatUnavailable``, with
``retry_after`` on a 429); see :mod:`bot.rest.errors`.

Decisions:

* Login and the two-factor answers are in :mod:`bot.rest.session` (decisions there).
* ``rocketchat_API`` builds GET query strings without URL-encoding, so every value passed to a
  GET is percent-encoded here first.
* No secret (password, token, 2FA digest) ever appears in a log line or an error text: errors
  quote only the server's ``error``/``errorType`` and the endpoint name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.rest.errors import RestRejected, RestUnavailable, retry_after
from bot.rest.session import DEFAULT_TIMEOUT, RestSession
from rules.clock import aware

__all__ = ["DEFAULT_TIMEOUT", "RestClient", "RestRejected", "RestUnavailable", "iso_ms",
           "retry_after"]


def iso_ms(moment: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``: the date format Rocket.Chat's REST API reads and writes."""
    text = aware(moment).astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _q(value: object) -> str:
    """Percent-encode one GET value (``rocketchat_API`` concatenates them raw)."""
    return quote(str(value), safe="")


class RestClient(RestSession):
    """Authenticated REST calls to one Rocket.Chat server; every method returns parsed JSON.

    Build it with :meth:`with_password` (logs in now) or :meth:`with_token` (personal access
    token or a login token; nothing is sent until the first call).
    """

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

    def chat_update(self, *, room_id: str, msg_id: str, text: str) -> dict[str, Any]:
        """``POST chat.update``: the message's new text; answers the edited message."""
        answer = self._call("chat.update", lambda: self._api.call_api_post(
            "chat.update", body={"roomId": room_id, "msgId": msg_id, "text": text}))
        return dict(answer.get("message") or {})

    def chat_react(self, msg_id: str, emoji: str, should_react: bool) -> None:
        """``POST chat.react`` with an explicit ``shouldReact`` (without it the server
        toggles, and a repeated call would take the reaction back)."""
        self._call("chat.react", lambda: self._api.call_api_post(
            "chat.react", body={"messageId": msg_id, "emoji": emoji,
                                "shouldReact": should_react}))

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
