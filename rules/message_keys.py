"""Rules both inbound paths apply to Rocket.Chat messages before anything reaches the engine.

- once only: a message is keyed by its Rocket.Chat id plus its edit stamp (when edited);
- loop guard: a message whose ``bot`` field is set, or whose author is the bot itself, is
  never run through the rules, so the bot never answers itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
