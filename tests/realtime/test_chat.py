"""Chat messages become the webhook path's command; the policy drops what must not reach rules."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.chat.messages import ChatListener, RoomDirectory, RoomInfo, message_key, to_command
from bot.config import RocketChatSettings
from rules.clock import ManualClock
from rules.ingest import Ingestor
from rules.message_keys import BotIdentity, ChatInput, addressed_text
from rules.store import Database

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rocketchat"
BOT = BotIdentity(user_id="botid", username="atsd_bot")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def stream_message(name: str = "ddp-changed-stream-room-messages.json") -> dict[str, Any]:
    frame = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return copy.deepcopy(frame["fields"]["args"][0])


def settings(**overrides: Any) -> RocketChatSettings:
    return RocketChatSettings(url="http://127.0.0.1:1", user_id="botid", token="t", **overrides)


class FakeCommands:
    """A desk that knows ``help`` and ``alerts`` and claims like the real one."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.handled: list[str] = []

    def __call__(self, message: ChatInput, *, path: str) -> str | None:
        text = addressed_text(message, "atsd_bot")
        if not text or text.split(" ")[0] not in ("help", "alerts"):
            return None
        done = self.ingestor.once(message.key, path=path,
                                  work=lambda _conn: self.handled.append(text) or True)
        return "command" if done else "duplicate"


@pytest.fixture
def listener(sqlite_db: Database) -> ChatListener:
    return ChatListener(Ingestor(sqlite_db), settings(), BOT, clock=ManualClock(NOW))


def test_channel_message_gives_the_webhook_tags() -> None:
    msg = stream_message()
    command = to_command(msg, RoomInfo(msg["rid"], "c", "general"), NOW)
    assert (command.entity, command.type, command.source) == ("rocket.chat", "webhook",
                                                              "rocket.chat")
    assert command.message == "rbot text here"
    assert command.date == NOW
    assert command.tags == {
        "bot": "false",
        "channel_id": "WNqBb5jkkFNeYswcp",
        "channel_name": "general",
        "message_id": "357Cde8axgiCYd3kY",
        "timestamp": "2018-10-28T19:58:39.398Z",
        "user_id": "vNW5eZW5Ma823XNt3",
        "user_name": "nicolas.c",
        "alias": "C Nicolas",
    }


def test_dm_has_no_channel_name_and_thread_and_edit_tags() -> None:
    msg = stream_message() | {"tmid": "parent1", "editedAt": {"$date": 1540756720000},
                              "alias": ""}
    command = to_command(msg, RoomInfo(msg["rid"], "d", "ignored"), NOW)
    assert "channel_name" not in command.tags and "alias" not in command.tags
    assert command.tags["tmid"] == "parent1" and command.tags["isedited"] == "true"


def test_rest_dates_give_the_same_timestamp_tag() -> None:
    msg = stream_message()
    rest = msg | {"ts": "2018-10-28T19:58:39.398Z"}
    room = RoomInfo(msg["rid"], "c", "general")
    assert to_command(rest, room, NOW).tags == to_command(msg, room, NOW).tags


def test_keys_include_the_edit_stamp_only_when_edited() -> None:
    msg = stream_message()
    assert message_key(msg) == "rc:357Cde8axgiCYd3kY"
    edited = msg | {"editedAt": {"$date": 1540756720001}}
    assert message_key(edited) == "rc:357Cde8axgiCYd3kY@1540756720001"


def dm(text: str = "hello", **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    msg = stream_message() | {"rid": "dmroom", "msg": text, "mentions": []} | extra
    return msg, {"roomParticipant": True, "roomType": "d"}


def test_dm_is_stored_once(listener: ChatListener) -> None:
    msg, meta = dm()
    first = listener.handle(msg, meta)
    assert first.kind == "stored" and first.accepted is not None
    assert first.accepted.command.tags["channel_id"] == "dmroom"
    assert listener.handle(msg, meta).kind == "duplicate"
    assert listener.handle(msg, None, path="backfill").kind == "duplicate"


@pytest.mark.parametrize(("extra", "reason"), [
    ({"t": "uj"}, "system message"),
    ({"u": {"_id": "botid", "username": "atsd_bot"}}, "written by the bot itself"),
    ({"u": {"_id": "other", "username": "ATSD_BOT"}}, "written by the bot itself"),
    ({"bot": {"i": "integration"}}, "bot flag set"),
    ({"editedAt": {"$date": 1}}, "edit ignored"),
])
def test_policy_drops(listener: ChatListener, extra: dict[str, Any], reason: str) -> None:
    msg, meta = dm(**extra)
    outcome = listener.handle(msg, meta)
    assert outcome.kind == "ignored" and reason in outcome.reason


def test_bot_messages_pass_when_ignore_bots_is_off(sqlite_db: Database) -> None:
    listener = ChatListener(Ingestor(sqlite_db), settings(ignore_bots=False), BOT)
    msg, meta = dm(bot={"i": "x"})
    outcome = listener.handle(msg, meta)
    assert outcome.kind == "stored" and outcome.accepted is not None
    assert outcome.accepted.command.tags["bot"] == "true"


def test_edits_processed_when_configured(sqlite_db: Database) -> None:
    listener = ChatListener(Ingestor(sqlite_db), settings(edits="process"), BOT)
    msg, meta = dm()
    assert listener.handle(msg, meta).kind == "stored"
    edited = msg | {"editedAt": {"$date": 1540756720001}, "msg": "hello again"}
    assert listener.handle(edited, meta).kind == "stored"
    assert listener.handle(edited, meta).kind == "duplicate"


def test_channel_needs_a_mention(listener: ChatListener) -> None:
    meta = {"roomParticipant": True, "roomType": "c", "roomName": "ops"}
    plain = stream_message() | {"msg": "just chatting", "mentions": []}
    assert listener.handle(plain, meta).kind == "ignored"
    mentioned = stream_message() | {"_id": "m2", "msg": "@atsd_bot disk full",
                                     "mentions": [{"_id": "botid", "username": "atsd_bot"}]}
    outcome = listener.handle(mentioned, meta)
    assert outcome.kind == "stored" and outcome.accepted is not None
    assert outcome.accepted.command.tags["channel_name"] == "ops"
    assert outcome.accepted.command.message == "@atsd_bot disk full"
    text_only = stream_message() | {"_id": "m3", "msg": "hey @atsd_bot, look"}
    assert listener.handle(text_only, meta).kind == "stored"
    other = stream_message() | {"_id": "m4", "msg": "mail atsd_bot@x.org"}
    assert listener.handle(other, meta).kind == "ignored"


def test_channel_all_mode_skips_rooms_not_joined(sqlite_db: Database) -> None:
    listener = ChatListener(Ingestor(sqlite_db), settings(channel_messages="all"), BOT)
    msg = stream_message() | {"mentions": []}
    assert listener.handle(msg, {"roomParticipant": False, "roomType": "c"}).kind == "ignored"
    assert listener.handle(msg, {"roomParticipant": True, "roomType": "c"}).kind == "stored"


def test_room_type_comes_from_the_directory_for_backfill(sqlite_db: Database) -> None:
    rooms = RoomDirectory()
    rooms.learn_room({"_id": "dmroom", "t": "d"})
    listener = ChatListener(Ingestor(sqlite_db), settings(), BOT, rooms)
    msg, _ = dm()
    assert listener.handle(msg, None, path="backfill").kind == "stored"
    unknown = msg | {"_id": "x2", "rid": "elsewhere"}
    assert listener.handle(unknown, None, path="backfill").kind == "ignored"


def test_commands_are_answered_once_and_not_stored(sqlite_db: Database) -> None:
    ingestor = Ingestor(sqlite_db)
    commands = FakeCommands(ingestor)
    listener = ChatListener(ingestor, settings(), BOT, commands=commands)
    msg, meta = dm("alerts")
    assert listener.handle(msg, meta).kind == "command"
    assert listener.handle(msg, meta).kind == "duplicate"
    assert commands.handled == ["alerts"]
    # the webhook copy of the same message is a duplicate for the rules too
    from rules.command import MessageCommand
    copy_ = Ingestor(sqlite_db).accept(MessageCommand(entity="rocket.chat"), path="webhook",
                                       dedupe_key=message_key(msg))
    assert copy_.duplicate


def test_mentioned_command_in_channel_strips_the_mention(sqlite_db: Database) -> None:
    ingestor = Ingestor(sqlite_db)
    commands = FakeCommands(ingestor)
    listener = ChatListener(ingestor, settings(), BOT, commands=commands)
    msg = stream_message() | {"msg": "@atsd_bot help",
                              "mentions": [{"_id": "botid", "username": "atsd_bot"}]}
    assert listener.handle(msg, {"roomType": "c", "roomName": "ops"}).kind == "command"
    assert commands.handled == ["help"]


def test_command_after_webhook_copy_still_answered(sqlite_db: Database) -> None:
    from rules.command import MessageCommand
    ingestor = Ingestor(sqlite_db)
    commands = FakeCommands(ingestor)
    listener = ChatListener(ingestor, settings(), BOT, commands=commands)
    msg, meta = dm("help")
    Ingestor(sqlite_db).accept(MessageCommand(entity="rocket.chat"), path="webhook",
                               dedupe_key=message_key(msg))
    assert listener.handle(msg, meta).kind == "command"
    assert commands.handled == ["help"]


@pytest.mark.parametrize(("name", "room_id", "room_type"), [
    ("ddp-changed-notify-user-rooms-changed-dm-inserted.json",
     "JoxbibGnXizRb4ef4hZKg86uJavE6jYLya", "d"),
    ("ddp-changed-notify-user-rooms-changed-updated.json", "ocwXv7EvCJ69d3AdG", "p"),
    ("ddp-changed-notify-user-subscriptions-changed-inserted.json", "ipm7yudHF8A4yRHcN", "c"),
])
def test_rooms_learned_from_user_events(name: str, room_id: str, room_type: str) -> None:
    fields = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["fields"]
    rooms = RoomDirectory()
    rooms.apply_user_event(fields["eventName"], tuple(fields["args"]))
    assert rooms.get(room_id).type == room_type
    if room_type == "d":
        assert rooms.get(room_id).name is None


def test_removed_room_is_forgotten_and_removed_subscription_ignored() -> None:
    rooms = RoomDirectory()
    rooms.learn_room({"_id": "r1", "t": "c", "name": "ops"})
    removed = json.loads((FIXTURES / "ddp-changed-notify-user-subscriptions-changed-removed"
                                     ".json").read_text(encoding="utf-8"))["fields"]
    rooms.apply_user_event(removed["eventName"], tuple(removed["args"]))
    assert rooms.get("r1").name == "ops"
    rooms.apply_user_event("u/rooms-changed", ("removed", {"_id": "r1"}))
    assert rooms.get("r1").type is None
