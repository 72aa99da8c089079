"""Chat commands: what the bot answers itself, in a DM or when mentioned.

``help``, ``alerts``, ``ack ID`` / ``unack ID``, ``silence RULE DURATION`` / ``unsilence RULE``,
``rules``, ``status``, ``test RULE MESSAGE...`` (the engine's dry run: sends nothing).

Decisions:

- A message is a command only when its first word is a command name **and** its arguments
  have the command's shape (``ack`` takes one number, ``silence`` a rule and a duration,
  ``test`` a known rule and some text; the others nothing). Anything else (``help me with the
  disk``, ``test the backup``) goes to the rules as a normal message, so ordinary chat that
  happens to start with these words still reaches the rules.
- ``ack``, ``unack``, ``silence`` and ``unsilence`` change state: they are allowed to the
  usernames in ``rocketchat.admins`` and to users holding one of ``rocketchat.admin_roles``
  (read with ``users.info``, cached for five minutes); others get a polite refusal.
- Replies go out directly over REST (``chat.postMessage``) into the same room and thread, not
  through the outbox: they answer a person now and are not alerts.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.chat.messages import RoomInfo, to_command
from bot.chat.replies import format_alerts, format_dry_run, format_rules, format_status
from bot.config.load import RocketChatSettings
from bot.errors import ChatRejected, ChatUnavailable
from bot.rest import metrics
from rules.clock import Clock, SystemClock
from rules.command import MessageCommand

log = logging.getLogger(__name__)

ROLE_CACHE_SECONDS = 300.0
STATE_CHANGING = frozenset({"ack", "unack", "silence", "unsilence"})
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?$", re.IGNORECASE)

HELP = """I understand these commands (in a direct message, or mention me first):
• `help`: this text
• `alerts`: open alerts, newest first, with their ids
• `ack ID` / `unack ID`: acknowledge an alert or take the acknowledgement back *
• `silence RULE DURATION` (e.g. `silence disk-full 2h`) / `unsilence RULE` *
• `rules`: the loaded rules
• `status`: uptime, inbound paths, outbox
• `test RULE MESSAGE...`: what RULE would do with MESSAGE (a dry run: sends nothing)
(* for bot admins only.) Anything else goes to the rules as a normal message."""


class EngineApi(Protocol):
    """What the commands need of :class:`rules.engine.rule_engine.RuleEngine`."""

    def open_alerts(self) -> list[dict[str, Any]]: ...

    def acknowledge(self, alert_id: int, acknowledged: bool) -> bool: ...

    def silence(self, rule: str, until: datetime) -> None: ...

    def unsilence(self, rule: str) -> bool: ...

    def rules(self) -> list[Any]: ...

    def dry_run(self, rule: Any, commands: Sequence[MessageCommand]) -> Any: ...


class ReplyApi(Protocol):
    def chat_post_message(self, *, room_id: str | None = None, text: str = "",
                          tmid: str | None = None, **extra: Any) -> dict[str, Any]: ...

    def users_info(self, *, username: str | None = None,
                   user_id: str | None = None) -> dict[str, Any] | None: ...


def parse_duration(text: str) -> timedelta | None:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``; a bare number is minutes. None if invalid."""
    if text.isdigit():
        return timedelta(minutes=int(text)) if int(text) > 0 else None
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return total if total > timedelta(0) else None


class ChatCommands:
    """Implements :class:`bot.chat.messages.CommandHandler`."""

    def __init__(self, engine: EngineApi, rest: ReplyApi | Callable[[], ReplyApi],
                 settings: RocketChatSettings, *, clock: Clock | None = None,
                 status: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.engine = engine
        self._rest = rest
        self.settings = settings
        self.clock = clock or SystemClock()
        self.status = status or (lambda: {})
        self._roles: dict[str, tuple[float, frozenset[str]]] = {}
        self._roles_lock = threading.Lock()

    @property
    def rest(self) -> ReplyApi:
        return self._rest() if callable(self._rest) else self._rest

    # -- recognising ----------------------------------------------------------------------

    def is_command(self, text: str) -> bool:
        words = text.split()
        if not words:
            return False
        name, args = words[0].lower(), words[1:]
        shapes: dict[str, Callable[[], bool]] = {
            "help": lambda: not args, "alerts": lambda: not args,
            "rules": lambda: not args, "status": lambda: not args,
            "ack": lambda: len(args) == 1 and args[0].lstrip("#").isdigit(),
            "unack": lambda: len(args) == 1 and args[0].lstrip("#").isdigit(),
            "silence": lambda: len(args) == 2 and parse_duration(args[1]) is not None,
            "unsilence": lambda: len(args) == 1,
            "test": lambda: len(args) >= 2 and self._rule(args[0]) is not None,
        }
        shape = shapes.get(name)
        return shape is not None and shape()

    # -- answering ------------------------------------------------------------------------

    def handle(self, text: str, msg: dict[str, Any], room: RoomInfo) -> bool:
        words = text.split()
        name, args = words[0].lower(), words[1:]
        user = msg.get("u") if isinstance(msg.get("u"), dict) else {}
        assert isinstance(user, dict)
        if name in STATE_CHANGING and not self.is_admin(user.get("_id"), user.get("username")):
            metrics.CHAT_COMMANDS.labels(command=name, outcome="refused").inc()
            self.reply(msg, room, self._refusal(user.get("username"), name))
            return True
        try:
            answer = getattr(self, "_cmd_" + name)(args, msg, room, text)
            outcome = "ok"
        except Exception as exc:  # a failing command must answer, not vanish
            log.exception("chat command %s failed", name)
            answer, outcome = f"Sorry, `{name}` failed: {exc}", "error"
        metrics.CHAT_COMMANDS.labels(command=name, outcome=outcome).inc()
        self.reply(msg, room, answer)
        return True

    def reply(self, msg: dict[str, Any], room: RoomInfo, text: str) -> None:
        try:
            self.rest.chat_post_message(room_id=str(msg.get("rid") or room.id), text=text,
                                        tmid=msg.get("tmid"))
        except (ChatRejected, ChatUnavailable) as exc:
            log.warning("reply to chat command in %s not delivered: %s", room.id, exc)

    # -- authorisation --------------------------------------------------------------------

    def is_admin(self, user_id: str | None, username: str | None) -> bool:
        admins = {a.lower() for a in self.settings.admins}
        if username and username.lower() in admins:
            return True
        wanted = set(self.settings.admin_roles)
        return bool(wanted and user_id and wanted & self._roles_of(user_id))

    def _roles_of(self, user_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._roles_lock:
            cached = self._roles.get(user_id)
            if cached is not None and now - cached[0] < ROLE_CACHE_SECONDS:
                return cached[1]
        try:
            user = self.rest.users_info(user_id=user_id) or {}
        except (ChatRejected, ChatUnavailable) as exc:
            log.warning("cannot read the roles of %s: %s", user_id, exc)
            return frozenset()  # not cached: asked again next time
        roles = frozenset(str(r) for r in user.get("roles") or ())
        with self._roles_lock:
            self._roles[user_id] = (now, roles)
        return roles

    def _refusal(self, username: str | None, name: str) -> str:
        who = f"@{username}" if username else "you"
        return (f"Sorry {who}, `{name}` changes alert state, so only bot admins may use it. "
                "Ask an admin, or use `alerts` and `status` to look around.")

    # -- the commands ---------------------------------------------------------------------

    def _rule(self, name: str) -> Any | None:
        for rule in self.engine.rules():
            if getattr(rule, "name", None) == name:
                return rule
        return None

    def _cmd_help(self, *_: Any) -> str:
        return HELP

    def _cmd_alerts(self, *_: Any) -> str:
        return format_alerts(self.engine.open_alerts())

    def _cmd_ack(self, args: list[str], *_: Any, acknowledged: bool = True) -> str:
        alert_id = int(args[0].lstrip("#"))
        if not self.engine.acknowledge(alert_id, acknowledged):
            return f"There is no open alert #{alert_id} (see `alerts`)."
        return f"Alert #{alert_id} {'acknowledged' if acknowledged else 'unacknowledged'}."

    def _cmd_unack(self, args: list[str], *rest: Any) -> str:
        return self._cmd_ack(args, *rest, acknowledged=False)

    def _cmd_silence(self, args: list[str], *_: Any) -> str:
        rule, duration = args[0], parse_duration(args[1])
        assert duration is not None
        if self._rule(rule) is None:
            return f"There is no rule named `{rule}` (see `rules`)."
        until = self.clock.now() + duration
        self.engine.silence(rule, until)
        return (f"Rule `{rule}` silenced until {until:%Y-%m-%d %H:%M} UTC: alerts still "
                "open and close, but nothing is sent.")

    def _cmd_unsilence(self, args: list[str], *_: Any) -> str:
        if self.engine.unsilence(args[0]):
            return f"Rule `{args[0]}` is no longer silenced."
        return f"Rule `{args[0]}` was not silenced."

    def _cmd_rules(self, *_: Any) -> str:
        return format_rules(self.engine.rules())

    def _cmd_status(self, *_: Any) -> str:
        return format_status(self.status())

    def _cmd_test(self, args: list[str], msg: dict[str, Any], room: RoomInfo,
                  text: str) -> str:
        rule = self._rule(args[0])
        message = text.split(None, 2)[2]
        command = to_command(msg | {"msg": message}, room, self.clock.now())
        return format_dry_run(args[0], self.engine.dry_run(rule, [command]))
