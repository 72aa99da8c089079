"""A Rocket.Chat message (as the realtime API or REST history gives it) -> a message command.

The command is **the same** one the webhook path makes for the same message when the outgoing
integration posts to ``/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text``
(see ``shared/spec/webhook.md``): entity and source ``rocket.chat``, type ``webhook``, message
= the text, and the tags the webhook body would flatten to: ``bot``, ``channel_id``,
``channel_name`` (absent for DMs), ``message_id``, ``timestamp`` (ISO with ms and ``Z``),
``user_id``, ``user_name``, ``alias`` (when set), ``tmid`` (thread replies) and ``isedited``
(edited messages). Empty values are dropped, as the webhook parser drops them.

Decisions (where the two paths cannot be identical):

- ``siteurl`` and ``request_ip`` exist only on the webhook path (they describe the HTTP
  request, not the message); rules that must serve both paths should not depend on them.
- ``date`` is the time of receipt on both paths (the webhook default); the message's own time
  is in the ``timestamp`` tag. The text is trimmed, as ``command.message`` is.
- The once-only key is :func:`rules.message_keys.dedupe_key` of the message id plus, for an
  edited message, ``editedAt`` in epoch ms, so an edit processed under ``edits = "process"`` is
  a new message while re-emissions (reactions, thread counters, read receipts) are not.

Policy (before anything reaches the rules): drop the bot's own messages, messages with ``bot``
set (``rocketchat.ignore_bots``, on by default), system messages (``t`` set), edits unless
``rocketchat.edits = "process"``; in channels and groups only messages that mention the bot
(``rocketchat.channel_messages = "mention"``, default) or every message of rooms the bot has
joined (``"all"``); direct messages always.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from bot.config import RocketChatSettings
from bot.rest import metrics
from bot.rest.ejson import ejson_date
from rules.clock import Clock, SystemClock
from rules.command import MessageCommand, format_iso_date
from rules.ingest import Accepted, IngestBatch, Ingestor
from rules.message_keys import (
    BotIdentity,
    ChatCommands,
    ChatInput,
    dedupe_key,
    loop_guard_reason,
)

log = logging.getLogger(__name__)

ENTITY = SOURCE = "rocket.chat"
RECENT_KEYS = 20000  # once-only keys remembered in memory, in front of the store's
DIRECT = "d"


@dataclass(frozen=True, slots=True)
class RoomInfo:
    id: str
    type: str | None = None  # c | p | d | l; None while unknown
    name: str | None = None  # absent for DMs


class RoomDirectory:
    """What the bot knows of each room: type and name, from events, meta and REST."""

    def __init__(self) -> None:
        self._rooms: dict[str, RoomInfo] = {}
        self._lock = threading.Lock()

    def get(self, room_id: str) -> RoomInfo:
        with self._lock:
            return self._rooms.get(room_id) or RoomInfo(room_id)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._rooms)

    def learn(self, room_id: str, room_type: str | None, name: str | None) -> RoomInfo:
        with self._lock:
            known = self._rooms.get(room_id) or RoomInfo(room_id)
            room_type = room_type or known.type
            info = RoomInfo(room_id, room_type,
                            None if room_type == DIRECT else (name or known.name))
            self._rooms[room_id] = info
            return info

    def learn_room(self, room: dict[str, Any]) -> RoomInfo | None:
        """From a room (``_id``, ``t``, ``name``) or a subscription (``rid``, ``t``, ``name``)."""
        room_id = room.get("rid") or room.get("_id")
        if not isinstance(room_id, str) or not room_id:
            return None
        return self.learn(room_id, room.get("t"), room.get("name"))

    def forget(self, room_id: str) -> None:
        with self._lock:
            self._rooms.pop(room_id, None)

    def apply_user_event(self, event_name: str, args: tuple[Any, ...]) -> None:
        """``stream-notify-user`` ``<uid>/rooms-changed`` or ``subscriptions-changed``:
        ``[action, room or subscription]`` with action inserted / updated / removed."""
        if len(args) < 2 or not isinstance(args[1], dict):
            return
        action, doc = args[0], args[1]
        if event_name.endswith("/rooms-changed"):
            if action == "removed" and isinstance(doc.get("_id"), str):
                self.forget(doc["_id"])
            else:
                self.learn_room(doc)
        elif event_name.endswith("/subscriptions-changed") and action != "removed":
            self.learn_room(doc)  # a subscription: rid, t, name


def edit_stamp(msg: dict[str, Any]) -> str | None:
    """``editedAt`` as epoch ms text, or None for a message never edited."""
    edited = ejson_date(msg.get("editedAt"))
    return str(int(round(edited.timestamp() * 1000))) if edited is not None else None


def message_key(msg: dict[str, Any]) -> str:
    return dedupe_key(str(msg.get("_id")), edit_stamp(msg))


def mentions_bot(msg: dict[str, Any], bot: BotIdentity) -> bool:
    for mention in msg.get("mentions") or ():
        if isinstance(mention, dict) and bot.is_author(mention.get("_id"),
                                                       mention.get("username")):
            return True
    # Servers that do not fill ``mentions`` (and REST back-fill on some versions): the text.
    return bool(bot.username and re.search(
        rf"(?<![\w.@-])@{re.escape(bot.username)}(?![\w.-])", str(msg.get("msg") or ""),
        re.IGNORECASE))


def _user(msg: dict[str, Any]) -> dict[str, Any]:
    user = msg.get("u")
    return user if isinstance(user, dict) else {}


def to_command(msg: dict[str, Any], room: RoomInfo, received: Any) -> MessageCommand:
    """The webhook path's command for this message (see the module docstring)."""
    user = _user(msg)
    ts = ejson_date(msg.get("ts"))
    tags = {
        "bot": "false",  # messages with ``bot`` set never get here unless ignore_bots is off
        "channel_id": str(msg.get("rid") or room.id),
        "channel_name": room.name if room.type != DIRECT else None,
        "message_id": msg.get("_id"),
        "timestamp": format_iso_date(ts) if ts is not None else None,
        "user_id": user.get("_id"),
        "user_name": user.get("username"),
        "alias": msg.get("alias"),
        "tmid": msg.get("tmid"),
        "isedited": "true" if msg.get("editedAt") else None,
    }
    if msg.get("bot"):
        tags["bot"] = "true"
    clean = {k: str(v).strip() for k, v in tags.items() if v is not None}
    return MessageCommand(entity=ENTITY, type="webhook", source=SOURCE, date=received,
                          message=str(msg.get("msg") or "").strip(),
                          tags={k: v for k, v in clean.items() if v})


def chat_input(msg: dict[str, Any], room: RoomInfo, key: str) -> ChatInput:
    """The message as the chat command desk sees it (the webhook path builds the same)."""
    user = _user(msg)
    return ChatInput(message_id=str(msg.get("_id")), key=key,
                     room_id=str(msg.get("rid") or room.id), text=str(msg.get("msg") or ""),
                     user_id=user.get("_id"), username=user.get("username"),
                     direct=room.type == DIRECT, tmid=msg.get("tmid") or None)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: ``ignored`` (with reason), ``duplicate`` (seen before, as
    a message or a command), ``command`` (a chat command was answered) or ``stored`` (a
    message command went to the rules)."""

    kind: str
    reason: str = ""
    accepted: Accepted | None = None


class ChatListener:
    """Applies the policy, hands messages to the chat command desk (``commands``), ingests
    everything else."""

    def __init__(self, ingestor: Ingestor, settings: RocketChatSettings, bot: BotIdentity,
                 rooms: RoomDirectory | None = None, *, commands: ChatCommands | None = None,
                 clock: Clock | None = None) -> None:
        self.ingestor = ingestor
        self.settings = settings
        self.bot = bot
        self.rooms = rooms or RoomDirectory()
        self.commands = commands
        self.clock = clock or SystemClock()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_lock = threading.Lock()

    def drop_reason(self, msg: dict[str, Any], room: RoomInfo,
                    meta: dict[str, Any] | None = None) -> str | None:
        """Why this message must not be handled, or None."""
        if msg.get("t"):
            return f"system message ({msg.get('t')})"
        user = _user(msg)
        bot_field = msg.get("bot") if self.settings.ignore_bots else None
        reason = loop_guard_reason(bot_field, user.get("_id"), user.get("username"), self.bot)
        if reason:
            return reason
        if msg.get("editedAt") and self.settings.edits != "process":
            return "edit ignored (rocketchat.edits = ignore)"
        if room.type == DIRECT:
            return None
        if mentions_bot(msg, self.bot):
            return None
        if self.settings.channel_messages != "all":
            return "channel message without a mention of the bot"
        if meta is not None and meta.get("roomParticipant") is False:
            return "room the bot has not joined"
        return None

    def handle(self, msg: dict[str, Any], meta: dict[str, Any] | None = None, *,
               path: str = "realtime") -> Outcome:
        """One message from the stream (``meta`` = ``__my_messages__``'s second argument)."""
        metrics.MESSAGES_IN.labels(path=path).inc()
        room = self._room(msg, meta)
        reason = self.drop_reason(msg, room, meta)
        if reason is not None:
            metrics.MESSAGES_IGNORED.labels(path=path, reason=reason.split(" (")[0]).inc()
            log.debug("message %s ignored: %s", msg.get("_id"), reason)
            return Outcome("ignored", reason)
        key = message_key(msg)
        if self._seen(key):
            # Re-emissions (reactions, thread counters) and back-fill overlap: known without
            # asking the store.
            metrics.DUPLICATES_DROPPED.labels(path=path).inc()
            return Outcome("duplicate")
        if self.commands is not None:
            answered = self.commands(chat_input(msg, room, key), path="realtime")
            if answered is not None:
                self._remember(key)
                return Outcome(answered)
        command = to_command(msg, room, self.clock.now())
        # counted (commands made, duplicates) by the ingest hook, the one place for both
        accepted = self.ingestor.accept(command, path="realtime", dedupe_key=key)
        self._remember(key)
        if accepted.duplicate:
            return Outcome("duplicate", accepted=accepted)
        return Outcome("stored", accepted=accepted)

    def _seen(self, key: str) -> bool:
        with self._recent_lock:
            return key in self._recent

    def _remember(self, key: str) -> None:
        """Only keys already committed (or found in the store) are remembered."""
        with self._recent_lock:
            self._recent[key] = None
            if len(self._recent) > RECENT_KEYS:
                self._recent.popitem(last=False)

    def forget(self, keys: Iterable[str]) -> None:
        """Drop remembered keys whose commit then failed (an ingest batch that rolled back),
        so that the back-fill which fetches those messages again handles them."""
        with self._recent_lock:
            for key in keys:
                self._recent.pop(key, None)

    def batch(self, *, durable: bool = True) -> AbstractContextManager[IngestBatch]:
        """The messages handled inside the block commit together
        (:meth:`rules.ingest.Ingestor.batch`: see there for ``durable``)."""
        return self.ingestor.batch(durable=durable)

    def handle_many(self, messages: Iterable[dict[str, Any]], *,
                    path: str = "backfill") -> list[Outcome]:
        return [self.handle(m, None, path=path) for m in messages]

    def _room(self, msg: dict[str, Any], meta: dict[str, Any] | None) -> RoomInfo:
        room_id = str(msg.get("rid") or "")
        if meta:
            return self.rooms.learn(room_id, meta.get("roomType"), meta.get("roomName"))
        return self.rooms.get(room_id)
