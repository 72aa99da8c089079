"""The Rocket.Chat endpoint: delivers one outbox notification as a chat message over REST.

Implements :class:`rules.notification.Endpoint` for the outbox sender
(:mod:`rules.outbox.delivery`), which
owns retries, backoff and the attempt log; this module decides what one attempt does and how
each failure is classified:

- the message goes out with ``chat.sendMessage`` into ``target["room_id"]`` (and the thread
  ``target["tmid"]`` when the triggering message was in a thread), with an ``_id`` of our own
  (:func:`reply_message_id`): derived from the chat message that caused the reply when the
  ingestor recorded it (``target["cause"]``), else from the outbox row id (always for the
  living alert message's own posts, whose id the store recorded when it wrote the row). A
  resend after a crash or a lost answer is then a no-op on the server:
  ``error-message-already-exists`` counts as delivered, and any other refusal is checked with
  ``chat.getMessage`` (delivered when our message is already there). The cause, unlike a row
  id, stays the same when a message is processed again because the transaction that first
  did it was lost;
- the living alert message's rows (:mod:`rules.living`) go through :class:`bot.rest.living.
  LivingChat`: a ``post`` carries the buttons and adds the state reaction, an ``edit`` brings
  the message up to date, and a thread post whose message is not there yet posts it first;
- ``429`` (and Rocket.Chat's ``too-many-requests``) -> retryable, ``retry_after`` from
  ``X-RateLimit-Reset``; 5xx, timeouts and refused connections -> retryable; any other 4xx
  (validation, permission, unknown room) -> not retryable, the row is marked failed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from bot.errors import ChatRejected, ChatUnavailable
from bot.rest import metrics
from bot.rest.living import LivingChat
from rules.notification import (
    CHAT_ID_LENGTH,
    CHAT_ID_PREFIX,
    DeliveryError,
    DeliveryResult,
    Notification,
    chat_message_id,
)

log = logging.getLogger(__name__)

ID_PREFIX = CHAT_ID_PREFIX
ID_LENGTH = CHAT_ID_LENGTH
outbox_message_id = chat_message_id  # ``atsdbot0000000042`` for outbox row 42
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def reply_message_id(notification: Notification) -> str | None:
    """The chat message id of a reply: from its cause (the once-only key of the message that
    caused it, with the rule, endpoint, trigger, room, thread and text) when recorded, else
    from the outbox row id; None for a notification that was never stored."""
    target = notification.target or {}
    cause = target.get("cause")
    if cause and target.get("action") != "post":  # a living message keeps its stored id
        seed = "\x1f".join(str(part) for part in (
            cause, notification.rule, notification.endpoint, notification.trigger,
            target.get("room_id"), target.get("tmid") or "", notification.text))
        number = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:16], "big")
        digits = []
        for _ in range(ID_LENGTH - len(ID_PREFIX)):
            number, digit = divmod(number, len(ALPHABET))
            digits.append(ALPHABET[digit])
        return ID_PREFIX + "".join(digits)
    if notification.id is None:
        return None
    return outbox_message_id(notification.id)


class ChatApi(Protocol):
    """The part of :class:`bot.rest.client.RestClient` the endpoint uses."""

    def chat_send_message(self, message: dict[str, Any]) -> dict[str, Any]: ...

    def chat_post_message(self, *, room_id: str | None = None, text: str = "",
                          tmid: str | None = None, **extra: Any) -> dict[str, Any]: ...

    def chat_get_message(self, message_id: str) -> dict[str, Any] | None: ...


class RocketChatEndpoint:
    """``rules.notification.Endpoint`` for Rocket.Chat; ``rest`` is a client or a getter of one
    (the realtime client replaces its REST client after a re-login); ``living`` draws the
    buttons and does the edits and reactions (without one: buttons address no one and an
    edit has nothing to render from)."""

    def __init__(self, rest: ChatApi | Callable[[], ChatApi], name: str = "rocketchat",
                 *, default_room: str | None = None, living: LivingChat | None = None) -> None:
        self._rest = rest
        self.name = name
        self.default_room = default_room
        self.living = living or LivingChat(lambda: self.rest)  # type: ignore[arg-type,return-value]

    @property
    def rest(self) -> ChatApi:
        return self._rest() if callable(self._rest) else self._rest

    def deliver(self, notification: Notification) -> DeliveryResult:
        try:
            if (notification.target or {}).get("action") == "edit":
                detail = self.living.edit(notification)
            else:
                detail = self._post(notification)
        except DeliveryError as exc:
            metrics.NOTIFICATIONS.labels(endpoint=self.name,
                                         result="retry" if exc.retryable else "failed").inc()
            raise
        metrics.NOTIFICATIONS.labels(endpoint=self.name, result="sent").inc()
        return DeliveryResult(status=200, detail=detail)

    def _post(self, notification: Notification) -> str:
        target = notification.target or {}
        room_id = target.get("room_id") or self.default_room
        if not room_id:
            raise DeliveryError("no room to post to: the notification has no target room_id "
                                "and the endpoint no default room", retryable=False)
        message: dict[str, Any] = {"rid": str(room_id), "msg": notification.text}
        if target.get("tmid"):
            message["tmid"] = str(target["tmid"])
        chat_id = reply_message_id(notification)
        if chat_id is not None:
            message["_id"] = chat_id
        if target.get("buttons"):
            message["attachments"] = self.living.attachments(target["buttons"])
        posted = self._send(message)
        if target.get("react") and "_id" in message:
            view = self.living.views.view(message["_id"]) if self.living.views else None
            if view is not None:
                self.living.react(view)
        return str(posted.get("_id") or message.get("_id"))

    def _send(self, message: dict[str, Any], *, again: bool = True) -> dict[str, Any]:
        try:
            return self.rest.chat_send_message(message)
        except ChatUnavailable as exc:
            raise _unavailable(exc) from None
        except ChatRejected as exc:
            if getattr(exc, "error_type", None) == "error-message-already-exists":
                log.info("message %s was already delivered", message.get("_id"))
                return {"_id": message.get("_id")}
            if getattr(exc, "error_type", None) == "error-invalid-message" and again \
                    and message.get("tmid") and self.living.ensure(str(message["tmid"])):
                return self._send(message, again=False)  # its thread's message was missing
            existing = self._already_there(message)
            if existing is not None:
                log.info("message %s was already delivered", message["_id"])
                return existing
            status = getattr(exc, "status", None)
            raise DeliveryError(f"Rocket.Chat refused the message: {exc}", retryable=False,
                                status=status) from None

    def _already_there(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Our own id is already stored: an earlier attempt got through (idempotent resend)."""
        if "_id" not in message:
            return None
        try:
            found = self.rest.chat_get_message(message["_id"])
        except (ChatRejected, ChatUnavailable):
            return None
        if found and found.get("rid") == message["rid"]:
            return found
        return None


def _unavailable(exc: ChatUnavailable) -> DeliveryError:
    status = getattr(exc, "status", None)
    wait = getattr(exc, "retry_after", None)
    if status == 429 or wait is not None:
        return DeliveryError(f"rate-limited by Rocket.Chat: {exc}", retryable=True,
                             retry_after=wait, status=429)
    return DeliveryError(f"Rocket.Chat unavailable: {exc}", retryable=True, status=status)
