"""What every chat command is made of: :class:`Command`, the :class:`Kit` and
:class:`Request` a handler gets, the :class:`Answer` it gives, and ``help``'s texts.

A message addressed to the bot whose first word names a command (the table in
:mod:`bot.chat.table`) is a command (spec: conversation, section 1); :mod:`bot.chat.desk`
answers it once. Each command's behaviour is a function ``(kit, request) -> Answer`` in
:mod:`bot.chat.alert_commands`, :mod:`bot.chat.silence_commands` or
:mod:`bot.chat.info_commands`.

Decisions:

- Arguments that do not fit raise :class:`Usage`; the answer starts with ``usage:`` and shows
  the command's syntax and an example, plus one line on what was wrong.
- Alert and silence ids are positive integers, written ``N`` or ``#N``; anything else is a
  usage error. Texts a user wrote (comments, reasons, matchers) are shown back only inside
  code spans, cut short, with backticks removed, so an answer never turns a user's markup
  into the bot's (``@all``, ``*bold*``, links).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from bot.config import RocketChatSettings
from rules.chat_text import plain
from rules.clock import Clock
from rules.engine import MAX_REASON
from rules.engine.rule_engine import RuleEngine
from rules.errors import AtsdBotError
from rules.message_keys import ChatInput

MAX_ANSWER = 4000  # characters: Rocket.Chat's default message limit is 5000
MAX_ID = 2**62


@dataclass(frozen=True)
class Answer:
    """What a command says. ``text`` None: the command posted its answer itself (the end
    note of ``unsilence`` run in the silence's own room is that answer)."""

    text: str | None
    outcome: str = "ok"  # ok | refused | usage | error (a metrics label)


class Usage(AtsdBotError):
    """The arguments do not fit the command; ``detail`` says what was wrong."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class Refused(AtsdBotError):
    """A clear one-line answer that changes nothing (unknown id, another room, ...)."""


@dataclass
class Kit:
    """What the commands work with; one per service."""

    engine: RuleEngine
    settings: RocketChatSettings
    clock: Clock
    status: Callable[[Connection | None], Mapping[str, Any]]  # the ``status`` facts
    commands: Mapping[str, Command] = field(default_factory=dict)
    public_url: str | None = None  # the web UI's address, for links

    @property
    def admin_hint(self) -> str:
        roles = ", ".join(self.settings.admin_roles) or "none"
        return ("the users in `[rocketchat] admins` and the holders of a role in "
                f"`[rocketchat] admin_roles` (now: {roles})")


@dataclass
class Request:
    """One command being answered, inside the transaction that claims it (``conn``)."""

    message: ChatInput
    name: str
    args: list[str]
    text: str  # the addressed text: mention or trigger word removed
    conn: Connection
    admin: bool = False

    @property
    def asker(self) -> str:
        return f"@{self.message.username}" if self.message.username else "someone"


Handler = Callable[[Kit, Request], Answer]


@dataclass(frozen=True)
class Command:
    name: str
    syntax: str
    example: str
    about: str
    admin: bool = False
    handler: Handler | None = field(default=None, compare=False)

    def usage(self, detail: str = "") -> str:
        line = f"usage: `{self.syntax}`, e.g. `{self.example}`"
        return f"{line}\n{detail}" if detail else line


def code(text: Any, limit: int = 60) -> str:
    """A user's text, safe to put inside a code span: backticks gone, cut at ``limit``
    (:func:`rules.chat_text.plain`; :func:`rules.chat_text.code_span` adds the backticks)."""
    return plain(text, limit)


def parse_id(word: str, what: str) -> int:
    """``N`` or ``#N`` (a positive integer); :class:`Usage` for anything else."""
    digits = word[1:] if word.startswith("#") else word
    if not digits.isascii() or not digits.isdigit() or not 0 < int(digits) < MAX_ID:
        raise Usage(f"`{code(word, 30)}` is not {what} id: write N or #N")
    return int(digits)


def reason_of(args: list[str], limit: int = MAX_REASON) -> str:
    reason = " ".join(args).strip()
    if len(reason) > limit:
        raise Usage(f"the reason is longer than {limit} characters")
    return reason


def help_text(table: Mapping[str, Command], admin_hint: str) -> str:
    lines = ["I answer these commands in a direct message, or when a message starts with a "
             "mention of me or with the outgoing integration's trigger word:"]
    for command in table.values():
        star = " *" if command.admin else ""
        lines.append(f"• `{command.syntax}`: {command.about}{star}")
    lines.append(f"(* for bot admins: {admin_hint}.) `help COMMAND` shows one command with an "
                 "example. Anything else goes to the rules as a normal message.")
    return "\n".join(lines)


def help_for(command: Command, admin_hint: str) -> str:
    who = f"bot admins only ({admin_hint})" if command.admin else "everyone"
    return (f"`{command.syntax}`: {command.about}.\n"
            f"Example: `{command.example}`\nWho may run it: {who}.")
