"""Notifications as data: what the engine returns and the outbox holds, and the endpoint API.

The outbound shape, as :mod:`rules.command` is the inbound one; the store, the engine and the
outbox all import it, so it sits below them.

The engine never performs I/O; it returns :class:`Notification` objects that are written to
the outbox in the same transaction as the window change that caused them. An
:class:`Endpoint` delivers one; senders are registered by endpoint name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rules.errors import AtsdBotError


@dataclass(slots=True)
class Notification:
    """One message to deliver. ``target`` carries endpoint-specific addressing.

    For the ``rocketchat`` endpoint ``target`` holds ``room_id`` (default: the triggering
    message's ``tags.channel_id``) and, for thread replies, ``tmid``; the living alert message
    (:mod:`rules.living`) adds an ``action`` (``post``, ``edit``) and its details.
    """

    rule: str
    endpoint: str
    trigger: str  # open | repeat | cancel
    text: str
    alert_id: int | None = None
    target: dict[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None  # later than now for delay-on-open
    id: int | None = None  # outbox row id once stored


CHAT_ID_PREFIX = "atsdbot"
CHAT_ID_LENGTH = 17  # the length of a Meteor random id, which every Rocket.Chat accepts


def chat_message_id(outbox_id: int) -> str:
    """``atsdbot0000000042``: the chat message id of outbox row 42 (17 characters).

    Stable, so a resend is a no-op on the server, and known when the row is written, so the
    engine can store the id of a message before it is posted (:mod:`rules.living`).
    """
    return CHAT_ID_PREFIX + str(int(outbox_id)).zfill(CHAT_ID_LENGTH - len(CHAT_ID_PREFIX))


class DeliveryError(AtsdBotError):
    """A delivery failed. ``retryable`` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool = True, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


@dataclass(slots=True)
class DeliveryResult:
    status: int | None = None  # response code where there is one
    detail: str = ""  # e.g. the id of the posted chat message


class Endpoint(Protocol):
    """Delivers notifications of one configured endpoint; raises ``DeliveryError``."""

    name: str

    def deliver(self, notification: Notification) -> DeliveryResult: ...
