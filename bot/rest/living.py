"""The Rocket.Chat side of the living alert message: buttons, edits, state reactions.

:class:`bot.rest.endpoint.RocketChatEndpoint` hands this module the rows :mod:`rules.living`
wrote (see there for what each holds):

- an alert message is posted with ``attachments[].actions``: ``Acknowledge`` and
  ``Silence 1h`` are ``msg_in_chat_window`` buttons whose ``msg`` is the command addressed to
  the bot (``@atsd_bot ack 42``), so a click is an ordinary chat command on either inbound
  path; ``Open`` links to the alert's web UI page (:func:`alert_page_url`) when
  ``[http] public_url`` is set;
- an ``edit`` row brings the message up to date as the store has it *now*
  (:class:`rules.living.MessageView`): ``chat.update`` with the text, then the state reaction
  (``chat.react`` with an explicit ``shouldReact``: the new one added first, then the bot's
  others taken back, which is safe because the message then has reactions; see the
  simulator README on RC's toggle). A text or reaction this process already set is not sent
  again, so a burst of edits of one summary costs one ``chat.update``;
- Rocket.Chat refusing an edit (``error-action-not-allowed``: editing disabled, the time limit,
  no ``edit-message``; ``error-message-editing-blocked``) is not a failure: the row's own text
  (the state change) is posted into the thread instead, with a stable ``_id`` so a retry
  posts it once, and the first refusal in this process is logged with the settings to change;
- a message that is not there yet (its post is still retrying, or failed for good) when a
  thread post or an edit needs it is posted first from its view, with its own stable ``_id``,
  so the later post of it is a no-op; rows of one message may thus go out in any order.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bot.errors import ChatRejected, ChatUnavailable
from rules.living import MessageView
from rules.notification import DeliveryError, Notification, chat_message_id

log = logging.getLogger(__name__)

REFUSED_EDIT = frozenset({"error-action-not-allowed", "error-message-editing-blocked"})
REMEMBERED = 10_000  # messages whose last text and reaction this process remembers
SILENCE_FOR = "1h"
_refusal_logged = threading.Event()  # once per process, not once per refused edit


class LivingApi(Protocol):
    """The part of :class:`bot.rest.client.RestClient` this module uses."""

    username: str | None

    def chat_send_message(self, message: dict[str, Any]) -> dict[str, Any]: ...

    def chat_update(self, *, room_id: str, msg_id: str, text: str) -> dict[str, Any]: ...

    def chat_react(self, msg_id: str, emoji: str, should_react: bool) -> None: ...

    def me(self) -> dict[str, Any]: ...


class MessageViews(Protocol):
    def view(self, message_id: str) -> MessageView | None: ...


def button_actions(spec: Mapping[str, Any], bot_name: str | None,
                   public_url: str | None) -> list[dict[str, Any]]:
    """The alert message's buttons for alert ``spec["alert_id"]``."""
    address = f"@{bot_name} " if bot_name else ""
    alert_id = spec.get("alert_id")
    silence = f"{address}silence rule={_matcher_value(spec.get('rule'))}"
    if spec.get("entity"):
        silence += f" entity={_matcher_value(spec.get('entity'))}"
    actions = [_chat_button("Acknowledge", f"{address}ack {alert_id}"),
               _chat_button("Silence 1h", f"{silence} {SILENCE_FOR}")]
    if public_url:
        actions.append({"type": "button", "text": "Open",
                        "url": alert_page_url(public_url, alert_id)})
    return actions


def alert_page_url(public_url: str, alert_id: Any) -> str:
    """The web UI's page of one alert (open or closed): ``{public_url}/ui/alerts/{id}``."""
    return f"{public_url.rstrip('/')}/ui/alerts/{alert_id}"


def _chat_button(label: str, msg: str) -> dict[str, Any]:
    return {"type": "button", "text": label, "msg": msg, "msg_in_chat_window": True,
            "msg_processing_type": "sendMessage"}


def _matcher_value(value: Any) -> str:
    # a silence matcher value is one word: blanks become the one-character wildcard
    return "?".join(str(value or "").split()) or "*"


class LivingChat:
    """Buttons, edits and reactions for one Rocket.Chat endpoint."""

    def __init__(self, rest: Callable[[], LivingApi], views: MessageViews | None = None, *,
                 bot_name: Callable[[], str | None] | None = None,
                 public_url: str | None = None) -> None:
        self._rest = rest
        self.views = views
        self._bot_name = bot_name or (lambda: None)
        self.public_url = public_url
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._reactions: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()
        self._me: str | None = None

    @property
    def rest(self) -> LivingApi:
        return self._rest()

    def attachments(self, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"button_alignment": "horizontal",
                 "actions": button_actions(spec, self.bot_name(), self.public_url)}]

    def bot_name(self) -> str | None:
        """The bot's user name for the buttons: the realtime login's, else REST's."""
        name = self._bot_name() or getattr(self.rest, "username", None) or self._me
        if name:
            return str(name)
        try:
            self._me = str(self.rest.me().get("username") or "") or None
        except (ChatRejected, ChatUnavailable) as exc:
            log.warning("buttons: the bot's user name is unknown (%s); they address no one, "
                        "which works in a direct message only", exc)
        return self._me

    # -- edits and reactions ------------------------------------------------------------

    def edit(self, note: Notification) -> str:
        """Bring the message of an ``edit`` row up to date; the delivery detail."""
        target = note.target
        message_id = str(target.get("msg_id") or "")
        view = self.views.view(message_id) if self.views is not None else None
        if view is None:
            raise DeliveryError(f"no stored state for message {message_id}: nothing to edit",
                                retryable=False)
        detail = self._update(view, note)
        if target.get("react"):
            self.react(view)
        return detail

    def _update(self, view: MessageView, note: Notification) -> str:
        if self._remembered(self._texts, view.message_id) == view.text:
            return f"{view.message_id} already reads so"
        try:
            self.rest.chat_update(room_id=view.room_id, msg_id=view.message_id, text=view.text)
        except ChatUnavailable as exc:
            raise _retry(exc) from None
        except ChatRejected as exc:
            if getattr(exc, "error_type", None) in REFUSED_EDIT:
                return self._refused(view, note, exc)
            if "No message found" not in str(exc) or not self.ensure(view.message_id):
                raise DeliveryError(f"Rocket.Chat refused the edit: {exc}", retryable=False,
                                    status=getattr(exc, "status", None)) from None
            # just posted from its view: it already reads as it should
        self._remember(self._texts, view.message_id, view.text)
        return f"edited {view.message_id}"

    def _refused(self, view: MessageView, note: Notification, exc: ChatRejected) -> str:
        if not _refusal_logged.is_set():
            _refusal_logged.set()
            log.warning("Rocket.Chat refused to edit an alert message (%s); state changes go "
                        "into the thread instead. To let the bot edit its alert messages set "
                        "Message_AllowEditing = true and Message_AllowEditing_BlockEditInMinutes "
                        "= 0 (Administration > Settings > Message), or give the bot's user "
                        "the edit-message permission", getattr(exc, "error_type", exc))
        if not note.target.get("note") or not note.text or note.id is None:
            return "edit refused by Rocket.Chat; nothing to note"
        self.post({"_id": chat_message_id(note.id), "rid": view.room_id, "msg": note.text,
                   "tmid": view.message_id})
        return "edit refused by Rocket.Chat; noted in the thread"

    def react(self, view: MessageView) -> None:
        """The state reaction: the new one first, then the bot's others taken back."""
        wanted = (view.reaction, view.stale)
        if self._remembered(self._reactions, view.message_id) == wanted:
            return
        try:
            self._react(view.message_id, view.reaction, True)
            for emoji in view.stale:
                self._react(view.message_id, emoji, False)
        except ChatUnavailable as exc:
            raise _retry(exc) from None
        self._remember(self._reactions, view.message_id, wanted)

    def _react(self, message_id: str, emoji: str, add: bool) -> None:
        try:
            self.rest.chat_react(message_id, emoji, add)
        except ChatRejected as exc:
            if getattr(exc, "error_type", None) != "error-message-not-found" \
                    or not self.ensure(message_id):
                raise DeliveryError(f"Rocket.Chat refused the reaction: {exc}",
                                    retryable=False, status=getattr(exc, "status", None)
                                    ) from None
            self.rest.chat_react(message_id, emoji, add)

    # -- messages -----------------------------------------------------------------------

    def ensure(self, message_id: str) -> bool:
        """Post a living message that is not there yet, as its view has it; False when there
        is no view of it."""
        view = self.views.view(message_id) if self.views is not None else None
        if view is None:
            return False
        message: dict[str, Any] = {"_id": view.message_id, "rid": view.room_id,
                                   "msg": view.text}
        if view.buttons:
            message["attachments"] = self.attachments(view.buttons)
        log.info("living message %s was not there yet: posted from the store", message_id)
        self.post(message)
        self._remember(self._texts, view.message_id, view.text)
        return True

    def post(self, message: dict[str, Any]) -> None:
        """``chat.sendMessage`` with our own ``_id``; already there counts as posted."""
        try:
            self.rest.chat_send_message(message)
        except ChatUnavailable as exc:
            raise _retry(exc) from None
        except ChatRejected as exc:
            if getattr(exc, "error_type", None) != "error-message-already-exists":
                raise DeliveryError(f"Rocket.Chat refused the message: {exc}",
                                    retryable=False, status=getattr(exc, "status", None)
                                    ) from None

    # -- what this process already set -------------------------------------------------

    def _remembered(self, table: OrderedDict[str, Any], key: str) -> Any:
        with self._lock:
            return table.get(key)

    def _remember(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        with self._lock:
            table[key] = value
            table.move_to_end(key)
            while len(table) > REMEMBERED:
                table.popitem(last=False)


def _retry(exc: ChatUnavailable) -> DeliveryError:
    wait = getattr(exc, "retry_after", None)
    status = getattr(exc, "status", None)
    return DeliveryError(f"Rocket.Chat unavailable: {exc}", retryable=True, retry_after=wait,
                         status=429 if wait is not None else status)
