"""Rules both inbound paths apply to Rocket.Chat messages before anything reaches the engine.

- once only: a message is keyed by its Rocket.Chat id plus its edit stamp (when edited);
- loop guard: a message whose ``bot`` field is set, or whose author is the bot itself, is
  never run through the rules, so the bot never answers itself;
- addressing (spec: conversation, section 1): a message is for the bot in a DM, when it
  starts with a mention of the bot, or, on the webhook path, with the outgoing integration's
  trigger word (:func:`addressed_text`). Both paths describe such a message as a
  :class:`ChatInput` and hand it to one :class:`ChatCommands` (``bot/chat``), which decides
  whether it is a chat command and answers it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol


def dedupe_key(message_id: str, edit_stamp: str | None = None) -> str:
    """The once-only key shared by the webhook and realtime paths."""
    return f"rc:{message_id}@{edit_stamp}" if edit_stamp else f"rc:{message_id}"


def bot_flag_set(value: Any) -> bool:
    """Rocket.Chat sends ``bot`` as ``false``/``true`` (6.x+) or as an object (older servers)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "null", "none")
    return bool(value)


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is, so its own messages can be recognised on either path."""

    user_id: str | None = None
    username: str | None = None

    def is_author(self, user_id: str | None, username: str | None) -> bool:
        if self.user_id and user_id and user_id == self.user_id:
            return True
        return bool(self.username and username and username.lower() == self.username.lower())


def loop_guard_reason(
    bot_field: Any, user_id: str | None, username: str | None, bot: BotIdentity
) -> str | None:
    """Why a message must not reach the rules, or None when it may."""
    if bot_flag_set(bot_field):
        return "loop guard: message posted by a bot or an integration (bot flag set)"
    if bot.is_author(user_id, username):
        return "loop guard: message written by the bot itself"
    return None


@dataclass(frozen=True, slots=True)
class ChatInput:
    """One Rocket.Chat message, as either inbound path saw it."""

    message_id: str
    key: str  # the once-only key (:func:`dedupe_key`)
    room_id: str
    text: str  # as written, mention or trigger word included
    user_id: str | None = None
    username: str | None = None
    direct: bool = False  # a DM with the bot
    tmid: str | None = None  # the thread it was written in
    trigger_word: str | None = None  # the outgoing integration's, when one matched


def addressed_text(message: ChatInput, bot_username: str | None) -> str | None:
    """The text for the bot (mention or trigger word removed), or None when the message is
    not addressed to it."""
    text = message.text.strip()
    word = (message.trigger_word or "").strip()
    if word and text.startswith(word):
        return text[len(word):].lstrip(" \t:,").strip()
    if bot_username:
        mention = re.compile(rf"^@{re.escape(bot_username)}(?![\w.-])[:,]?\s*", re.IGNORECASE)
        stripped = mention.sub("", text, count=1)
        if stripped != text:
            return stripped.strip()
    return text if message.direct else None


class ChatCommands(Protocol):
    """The chat command desk both paths call before a message goes to the rules.

    Returns None when the message is not a command (it then goes to the rules), else what
    became of it: ``"command"`` (answered now) or ``"duplicate"`` (answered before, on this
    or the other path).
    """

    def __call__(self, message: ChatInput, *, path: str) -> str | None: ...
