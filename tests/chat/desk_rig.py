"""A chat command desk over a real store, engine and outbox; the REST side records what was
sent (the simulator tests cover the wire)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.chat.admins import AdminCheck
from bot.chat.commands import Kit
from bot.chat.desk import CommandDesk
from bot.config import DeliverySettings, RocketChatSettings
from bot.rest.endpoint import RocketChatEndpoint
from rules.clock import ManualClock
from rules.definitions.model import Rule
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor
from rules.message_keys import ChatInput, dedupe_key
from rules.outbox import OutboxSender
from rules.store import Database
from tests.engine.helpers import note, rule

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
RULES = [rule("disk-full", source="rocket.chat", filter="message LIKE '*disk*'",
              notifications=(note("rocketchat"),)),
         rule("echo", source="rocket.chat", condition="true",
              notifications=(note("rocketchat", open="echo ${message}",
                                  repeat="echo ${message}", cancel=None),))]


class RecordingRest:
    def __init__(self, roles: dict[str, list[str]] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.roles = roles or {}

    def chat_send_message(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(message)
        return dict(message)

    def chat_post_message(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("answers go through the outbox, not chat.postMessage")

    def chat_get_message(self, message_id: str) -> dict[str, Any] | None:
        return None

    def users_info(self, *, username: str | None = None,
                   user_id: str | None = None) -> dict[str, Any] | None:
        return {"_id": user_id, "roles": self.roles.get(str(user_id), ["user"])}


class DeskRig:
    def __init__(self, db: Database, rules: list[Rule] | None = None) -> None:
        self.db = db
        self.clock = ManualClock(NOW)
        self.engine = RuleEngine(db, self.clock, endpoints=("rocketchat", "log"))
        assert self.engine.load(rules if rules is not None else RULES) == []
        self.ingestor = Ingestor(db, self.engine, self.clock)
        self.rest = RecordingRest({"u-carol": ["user", "admin"]})
        settings = RocketChatSettings(url="http://x", user_id="botid", token="t",
                                      admins=("boss",))
        kit = Kit(engine=self.engine, settings=settings, clock=self.clock,
                  status=lambda _conn: {"uptime_seconds": 61})
        self.desk = CommandDesk(self.ingestor, kit, is_admin=AdminCheck(settings, self.rest_of),
                                bot_username=lambda: "atsd_bot")
        self.sender = OutboxSender(db, {"rocketchat": RocketChatEndpoint(self.rest)},
                                   self.clock, DeliverySettings())
        self.count = 0

    def rest_of(self) -> RecordingRest:
        return self.rest

    def message(self, text: str, *, user: str = "alice", room: str = "dm-alice",
                direct: bool = True, tmid: str | None = None, mid: str | None = None,
                trigger_word: str | None = None) -> ChatInput:
        self.count += 1
        mid = mid or f"msg-{self.count:04d}"
        return ChatInput(message_id=mid, key=dedupe_key(mid), room_id=room, text=text,
                         user_id=f"u-{user}", username=user, direct=direct, tmid=tmid,
                         trigger_word=trigger_word)

    def ask(self, text: str, **kwargs: Any) -> list[str]:
        """The texts the bot posted for this message (answers and rule replies alike)."""
        before = len(self.rest.sent)
        message = self.message(text, **kwargs)
        if self.desk(message, path="realtime") is None:
            self.say(message)
        self.sender.run_once()
        return [m["msg"] for m in self.rest.sent[before:]]

    def one(self, text: str, **kwargs: Any) -> str:
        answers = self.ask(text, **kwargs)
        assert len(answers) == 1, answers
        return answers[0]

    def say(self, message: ChatInput) -> int | None:
        """A message that is no command, into the rules as both paths make it."""
        from rules.command import MessageCommand

        tags = {"channel_id": message.room_id, "user_id": message.user_id or "",
                "user_name": message.username or "", "message_id": message.message_id}
        command = MessageCommand(entity="rocket.chat", source="rocket.chat",
                                 message=message.text, tags=tags, date=self.clock.now())
        return self.ingestor.accept(command, path="realtime", dedupe_key=message.key).message_id

    def stored(self) -> int:
        from sqlalchemy import func, select

        from rules.store.tables.base import messages

        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(messages)).scalar_one())
