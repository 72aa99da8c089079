"""Chat commands with a fake engine and a recording REST double (the simulator tests cover the
real wire; these pin down parsing, authorisation and answers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.chat.commands import ChatCommands, parse_duration
from bot.chat.messages import RoomInfo
from bot.config.load import RocketChatSettings
from bot.errors import ChatUnavailable
from rules.clock import ManualClock
from rules.command import MessageCommand

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ROOM = RoomInfo("dm1", "d")


@dataclass
class Rule:
    name: str
    enabled: bool = True
    description: str = ""


@dataclass
class FakeEngine:
    alerts: list[dict[str, Any]] = field(default_factory=list)
    acked: dict[int, bool] = field(default_factory=dict)
    silenced: dict[str, datetime] = field(default_factory=dict)
    dry: list[tuple[str, list[MessageCommand]]] = field(default_factory=list)

    def open_alerts(self) -> list[dict[str, Any]]:
        return self.alerts

    def acknowledge(self, alert_id: int, acknowledged: bool) -> bool:
        if alert_id not in {a["id"] for a in self.alerts}:
            return False
        self.acked[alert_id] = acknowledged
        return True

    def silence(self, rule: str, until: datetime) -> None:
        self.silenced[rule] = until

    def unsilence(self, rule: str) -> bool:
        return self.silenced.pop(rule, None) is not None

    def rules(self) -> list[Rule]:
        return [Rule("disk-full", description="disk above 90%"), Rule("echo", enabled=False)]

    def dry_run(self, rule: Rule, commands: Sequence[MessageCommand]) -> Any:
        self.dry.append((rule.name, list(commands)))
        return {"decisions": [{"filter": "passed", "status": "CANCEL -> OPEN"}],
                "texts": ["User /@alice said \"disk\""]}


class FakeRest:
    def __init__(self, roles: dict[str, list[str]] | None = None) -> None:
        self.posted: list[dict[str, Any]] = []
        self.roles = roles or {}
        self.info_calls = 0

    def chat_post_message(self, *, room_id: str | None = None, text: str = "",
                          tmid: str | None = None, **extra: Any) -> dict[str, Any]:
        self.posted.append({"room_id": room_id, "text": text, "tmid": tmid})
        return {}

    def users_info(self, *, username: str | None = None,
                   user_id: str | None = None) -> dict[str, Any] | None:
        self.info_calls += 1
        if user_id == "down":
            raise ChatUnavailable("down")
        return {"_id": user_id, "roles": self.roles.get(str(user_id), ["user"])}


def make(admins: tuple[str, ...] = ("boss",), roles: dict[str, list[str]] | None = None
         ) -> tuple[ChatCommands, FakeEngine, FakeRest]:
    engine, rest = FakeEngine(alerts=[
        {"id": 1, "rule": "disk-full", "entity": "rocket.chat", "severity": "WARNING",
         "textValue": "disk", "openDate": "2026-01-01T00:00:00.000Z", "repeatCount": 0},
        {"id": 2, "rule": "disk-full", "entity": "rocket.chat", "severity": "MAJOR",
         "textValue": "disk again", "openDate": "2026-01-02T00:00:00.000Z", "repeatCount": 3,
         "acknowledged": True}]), FakeRest(roles)
    settings = RocketChatSettings(url="http://x", user_id="b", token="t", admins=admins)
    status = {"uptime_seconds": 3725, "last_message": {"realtime": "2026-01-02T03:04:05.000Z"},
              "outbox": {"depth": 2, "failed": 1},
              "realtime": {"connected": True, "subscribed": True, "reconnects": 4,
                           "last_event": "2026-01-02T03:04:05.000Z"}}
    commands = ChatCommands(engine, rest, settings, clock=ManualClock(NOW),
                            status=lambda: status)
    return commands, engine, rest


def msg(text: str, user: str = "alice", uid: str = "u1", **extra: Any) -> dict[str, Any]:
    return {"_id": "m1", "rid": "dm1", "msg": text, "u": {"_id": uid, "username": user}} | extra


def run(commands: ChatCommands, text: str, **kwargs: Any) -> str:
    rest = commands.rest
    assert commands.is_command(text), text
    commands.handle(text, msg(text, **kwargs), ROOM)
    assert isinstance(rest, FakeRest)
    return rest.posted[-1]["text"]


@pytest.mark.parametrize("text", [
    "help", "alerts", "rules", "status", "ack 12", "unack #3", "silence disk-full 2h",
    "unsilence disk-full", "test disk-full the disk is full", "HELP"])
def test_recognised(text: str) -> None:
    assert make()[0].is_command(text)


@pytest.mark.parametrize("text", [
    "", "help me with the disk", "alerts please", "ack everything", "silence disk-full",
    "silence disk-full forever", "test the backup tonight", "test disk-full", "hello"])
def test_other_text_goes_to_the_rules(text: str) -> None:
    assert not make()[0].is_command(text)


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("15") == timedelta(minutes=15)
    assert parse_duration("0") is None and parse_duration("soon") is None
    assert parse_duration("0m") is None


def test_help_lists_every_command() -> None:
    text = run(make()[0], "help")
    for name in ("alerts", "ack ID", "unack ID", "silence RULE DURATION", "unsilence RULE",
                 "rules", "status", "test RULE MESSAGE"):
        assert name in text


def test_alerts_newest_first_with_ids() -> None:
    text = run(make()[0], "alerts")
    assert text.index("#2") < text.index("#1")
    assert "(acknowledged)" in text and "MAJOR" in text


def test_no_alerts() -> None:
    commands, engine, _ = make()
    engine.alerts = []
    assert run(commands, "alerts") == "No open alerts."


def test_ack_and_unack_by_admin_username() -> None:
    commands, engine, _ = make()
    assert run(commands, "ack 1", user="Boss") == "Alert #1 acknowledged."
    assert run(commands, "unack #1", user="boss") == "Alert #1 unacknowledged."
    assert engine.acked == {1: False}
    assert "no open alert #9" in run(commands, "ack 9", user="boss")


def test_state_changing_commands_refuse_others_politely() -> None:
    commands, engine, rest = make()
    for text in ("ack 1", "unack 1", "silence disk-full 1h", "unsilence disk-full"):
        answer = run(commands, text, user="mallory", uid="u9")
        assert answer.startswith("Sorry @mallory") and "bot admins" in answer
    assert engine.acked == {} and engine.silenced == {}


def test_admin_role_from_users_info_is_cached() -> None:
    commands, engine, rest = make(admins=(), roles={"u5": ["user", "admin"]})
    assert run(commands, "ack 1", user="carol", uid="u5") == "Alert #1 acknowledged."
    assert run(commands, "ack 2", user="carol", uid="u5") == "Alert #2 acknowledged."
    assert rest.info_calls == 1


def test_role_lookup_failure_refuses() -> None:
    commands, engine, _ = make(admins=())
    assert run(commands, "ack 1", user="dave", uid="down").startswith("Sorry")


def test_silence_and_unsilence() -> None:
    commands, engine, _ = make()
    answer = run(commands, "silence disk-full 2h", user="boss")
    assert engine.silenced == {"disk-full": NOW + timedelta(hours=2)}
    assert "05:04" in answer
    assert "no rule named `nope`" in run(commands, "silence nope 1h", user="boss")
    assert "no longer silenced" in run(commands, "unsilence disk-full", user="boss")
    assert "was not silenced" in run(commands, "unsilence disk-full", user="boss")


def test_rules_and_status() -> None:
    commands = make()[0]
    text = run(commands, "rules")
    assert "`disk-full`: disk above 90%" in text and "`echo` (disabled)" in text
    status = run(commands, "status")
    assert "Up 0d 1h 2m" in status and "2 waiting, 1 failed" in status
    assert "realtime: live, 4 reconnect(s)" in status


def test_dry_run_uses_the_same_command_and_sends_nothing_else() -> None:
    commands, engine, rest = make()
    text = run(commands, "test disk-full the disk is full")
    [(rule, [command])] = engine.dry
    assert rule == "disk-full" and command.message == "the disk is full"
    assert command.tags["user_name"] == "alice" and command.source == "rocket.chat"
    assert "Dry run of `disk-full`" in text and "CANCEL -> OPEN" in text
    assert len(rest.posted) == 1


def test_reply_goes_to_the_thread() -> None:
    commands, _, rest = make()
    commands.handle("help", msg("help", tmid="parent7"), ROOM)
    assert rest.posted[-1]["tmid"] == "parent7" and rest.posted[-1]["room_id"] == "dm1"


def test_engine_failure_is_answered() -> None:
    commands, engine, _ = make()

    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("store unavailable")

    engine.open_alerts = broken  # type: ignore[method-assign]
    assert "Sorry, `alerts` failed: store unavailable" in run(commands, "alerts")
