"""Assemble the Rocket.Chat side for the service: listener, command desk, client, endpoint.

The service (``bot/service/runtime.py``) calls :func:`build_realtime_bot` once, runs
``bot.client.run()`` on its asyncio loop when ``rocketchat.realtime`` is true, registers
``bot.endpoint`` with the outbox sender under the name ``rocketchat``, hands ``bot.commands``
(the chat command desk) to the webhook path too, and puts ``bot.status.as_dict`` into
``/healthz``. With realtime off (outgoing webhooks only) the endpoint and the desk still
work: they then use their own REST login.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from bot.chat.admins import AdminCheck
from bot.chat.commands import Kit
from bot.chat.desk import CommandDesk
from bot.chat.messages import ChatListener, RoomDirectory
from bot.chat.replies import store_status
from bot.config import RocketChatSettings
from bot.realtime.client import RealtimeClient, RealtimeOptions
from bot.realtime.status import RealtimeStatus
from bot.rest.client import RestClient
from bot.rest.endpoint import RocketChatEndpoint
from bot.rest.living import LivingChat
from rules.clock import Clock, SystemClock
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor
from rules.living import LivingViews
from rules.message_keys import BotIdentity

log = logging.getLogger(__name__)


class LazyRest:
    """One REST client per process, logged in on first use (token preferred)."""

    def __init__(self, settings: RocketChatSettings) -> None:
        self.settings = settings
        self._client: RestClient | None = None
        self._lock = threading.Lock()

    def __call__(self) -> RestClient:
        with self._lock:
            if self._client is None:
                s = self.settings
                if s.token and s.user_id:
                    self._client = RestClient.with_token(s.url, s.user_id, s.token)
                else:
                    assert s.user and s.password
                    self._client = RestClient.with_password(s.url, s.user, s.password)
            return self._client


class BotName:
    """The bot's user name, for mentions: from the realtime login, the settings, or once
    from REST ``me`` (a token login names no user)."""

    def __init__(self, listener: ChatListener, rest: Any) -> None:
        self.listener = listener
        self.rest = rest
        self._asked = False

    def __call__(self) -> str | None:
        known = self.listener.bot.username
        if known or self._asked:
            return known
        self._asked = True
        try:
            name = (self.rest().me() or {}).get("username")
        except Exception as exc:  # the webhook must not fail because REST is down
            log.warning("cannot learn the bot's user name from Rocket.Chat: %s", exc)
            self._asked = False
            return None
        if isinstance(name, str) and name:
            self.listener.bot = BotIdentity(user_id=self.listener.bot.user_id, username=name)
        return self.listener.bot.username


@dataclass
class RealtimeBot:
    listener: ChatListener
    client: RealtimeClient
    endpoint: RocketChatEndpoint
    commands: CommandDesk | None
    status: RealtimeStatus


def build_realtime_bot(settings: RocketChatSettings, ingestor: Ingestor, *,
                       engine: RuleEngine | None = None, clock: Clock | None = None,
                       options: RealtimeOptions | None = None,
                       started: float | None = None,
                       public_url: str | None = None) -> RealtimeBot:
    """Everything the Rocket.Chat side needs; nothing is connected until ``client.run()``.

    ``public_url`` (``[http] public_url``) gives the living alert messages an ``Open`` button.
    """
    lazy = LazyRest(settings)
    bot = BotIdentity(user_id=settings.user_id, username=settings.user)
    listener = ChatListener(ingestor, settings, bot, RoomDirectory(), clock=clock)
    client = RealtimeClient(settings, listener, ingestor.db, options=options)

    def rest() -> Any:
        # after a realtime login the client's REST session is the freshest one
        return client.rest or lazy()

    commands = None
    bot_name = BotName(listener, rest)
    if engine is not None:
        status = store_status(ingestor.db, started or time.monotonic(), client.status.as_dict)
        kit = Kit(engine=engine, settings=settings, clock=clock or SystemClock(), status=status,
                  public_url=public_url)
        commands = CommandDesk(ingestor, kit, is_admin=AdminCheck(settings, rest, clock),
                               bot_username=bot_name)
        listener.commands = commands
    living = LivingChat(rest, LivingViews(ingestor.db), bot_name=bot_name,
                        public_url=public_url)
    endpoint = RocketChatEndpoint(rest, living=living)
    return RealtimeBot(listener, client, endpoint, commands, client.status)
