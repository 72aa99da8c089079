"""The Rocket.Chat side with the real engine, store and outbox (REST recorded in memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.chat.admins import AdminCheck
from bot.chat.commands import Kit
from bot.chat.desk import CommandDesk
from bot.chat.messages import ChatListener
from bot.config import DeliverySettings, RocketChatSettings
from bot.rest.endpoint import RocketChatEndpoint
from rules.clock import ManualClock
from rules.definitions.loader import load_rules
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor
from rules.message_keys import BotIdentity
from rules.outbox import OutboxSender
from rules.store import Database

SEED = Path(__file__).resolve().parents[2] / "rules.d"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class RecordingRest:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []

    def chat_send_message(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(message)
        return dict(message)

    def chat_post_message(self, *, room_id: str | None = None, text: str = "",
                          tmid: str | None = None, **extra: Any) -> dict[str, Any]:
        self.posted.append({"room_id": room_id, "text": text, "tmid": tmid})
        return {}

    def chat_get_message(self, message_id: str) -> dict[str, Any] | None:
        return None

    def users_info(self, *, username: str | None = None,
                   user_id: str | None = None) -> dict[str, Any] | None:
        return {"roles": ["user"]}


class Loop:
    def __init__(self, db: Database) -> None:
        self.clock = ManualClock(NOW)
        rules, issues = load_rules([SEED], endpoints=("rocketchat",))
        assert not issues
        self.engine = RuleEngine(db, self.clock, endpoints=("rocketchat",))
        assert not self.engine.load(rules)
        self.rest = RecordingRest()
        settings = RocketChatSettings(url="http://x", user_id="botid", token="t",
                                      admins=("boss",))
        ingestor = Ingestor(db, self.engine, self.clock)
        kit = Kit(engine=self.engine, settings=settings, clock=self.clock, status=lambda _conn: {})
        self.commands = CommandDesk(ingestor, kit, is_admin=AdminCheck(settings, lambda: self.rest),
                                    bot_username=lambda: "atsd_bot")
        self.listener = ChatListener(ingestor, settings, BotIdentity("botid", "atsd_bot"),
                                     commands=self.commands, clock=self.clock)
        self.sender = OutboxSender(db, {"rocketchat": RocketChatEndpoint(self.rest)},
                                   self.clock, DeliverySettings())

    def say(self, text: str, user: str = "alice", mid: str = "m1", **extra: Any) -> str:
        msg = {"_id": mid, "rid": "dm1", "msg": text, "ts": {"$date": 1767323045000},
               "u": {"_id": "u-" + user, "username": user}, "mentions": []} | extra
        outcome = self.listener.handle(msg, {"roomType": "d", "roomParticipant": True})
        self.sender.run_once()
        return outcome.kind


@pytest.fixture
def loop(db: Database) -> Loop:
    return Loop(db)


def test_dm_opens_alert_and_reply_goes_out_with_outbox_id(loop: Loop) -> None:
    assert loop.say("disk full", tmid="parent1") == "stored"
    [sent] = loop.rest.sent
    assert sent["rid"] == "dm1" and sent["tmid"] == "parent1"
    assert sent["msg"] == 'User /@alice said "disk full"'
    assert sent["_id"].startswith("atsdbot") and len(sent["_id"]) == 17
    assert loop.say("disk full", tmid="parent1") == "duplicate"
    assert len(loop.rest.sent) == 1


def test_the_bots_reply_does_not_trigger_again(loop: Loop) -> None:
    loop.say("hello")
    reply = loop.rest.sent[0]
    kind = loop.say(reply["msg"], user="atsd_bot", mid=reply["_id"])
    assert kind == "ignored" and len(loop.rest.sent) == 1


def last(loop: Loop) -> str:
    return str(loop.rest.sent[-1]["msg"])


def test_commands_against_the_engine(loop: Loop) -> None:
    loop.say("disk full")
    assert loop.say("alerts", mid="m2") == "command"
    listing = last(loop)
    assert "rocketchat_reply" in listing and "disk full" in listing
    alert_id = loop.engine.open_alerts()[0]["id"]
    loop.say(f"ack {alert_id}", mid="m3")
    assert last(loop).startswith("Sorry @alice") and "[rocketchat] admins" in last(loop)
    loop.say(f"ack {alert_id} on it", user="boss", mid="m4")
    assert last(loop) == f"alert #{alert_id} acknowledged by @boss: `on it`"
    assert loop.engine.open_alerts()[0]["acknowledged"] is True
    loop.say("rules", mid="m5")
    assert "`rocketchat_reply`" in last(loop)
    before = len(loop.rest.sent)
    loop.say("test rocketchat_reply is it on?", mid="m6")
    dry = last(loop)
    assert "Dry run of `rocketchat_reply`" in dry and 'said "is it on?"' in dry
    assert len(loop.rest.sent) == before + 1  # the answer only: the dry run sent nothing
    assert loop.rest.posted == []  # every answer went through the outbox


def test_silence_holds_notifications(loop: Loop) -> None:
    loop.say("silence rocketchat_reply 1h", user="boss", mid="s1")
    assert last(loop).startswith("silence #1: `rule=rocketchat_reply`")
    answers = len(loop.rest.sent)
    loop.say("quiet please", mid="s2")
    assert len(loop.rest.sent) == answers  # the seed rule's reply is held
    loop.say("unsilence 1", user="boss", mid="s3")
    assert last(loop).startswith("silence #1 ended by @boss")  # the end note is the answer
    loop.say("loud again", mid="s4")
    assert last(loop) == 'User /@alice said "loud again"'
