"""The realtime bot against the simulator: login, one command per message, replies, commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rules.store import Database
from tests.realtime.conftest import World
from tests.realtime.harness import BotRunner, wait_until


@pytest.fixture
def runners() -> Iterator[list[BotRunner]]:
    started: list[BotRunner] = []
    yield started
    for runner in started:
        runner.stop()


def start(runners: list[BotRunner], db: Database, settings: object, **kwargs: object
          ) -> BotRunner:
    runner = BotRunner(db, settings, **kwargs)  # type: ignore[arg-type]
    runners.append(runner)
    return runner.start()


def test_login_by_token_learns_username_from_me(world: World, sqlite_db: Database,
                                               runners: list[BotRunner]) -> None:
    runner = start(runners, sqlite_db, world.token_settings())
    status = runner.bot.status.as_dict()
    assert status["connected"] and status["logged_in"] and status["subscribed"]
    assert status["user"] == "atsd_bot"
    assert runner.bot.listener.bot.user_id == world.bot_id


def test_login_by_personal_access_token(world: World, sqlite_db: Database,
                                        runners: list[BotRunner]) -> None:
    from bot.rest.client import RestClient
    # the "user" role holds create-personal-access-tokens; "bot" alone does not
    created = world.sim.create_user("patbot", "patbot-pw-1", roles=("user", "bot"))
    rest = RestClient.with_password(world.sim.url, "patbot", "patbot-pw-1")
    pat = rest.generate_personal_access_token("atsd-bot-test")
    settings = world.token_settings(user_id=created["_id"], token=pat)
    runner = start(runners, sqlite_db, settings)
    assert runner.bot.status.username == "patbot"
    dm = world.sim.dm_room("alice", "patbot")
    world.sim.post_message("alice", dm, "hello pat")
    wait_until(lambda: [m for m in world.sim.messages(dm) if m["u"]["username"] == "patbot"],
               what="a reply from the token-logged-in bot")


def test_login_by_password(world: World, sqlite_db: Database, runners: list[BotRunner]
                           ) -> None:
    runner = start(runners, sqlite_db, world.password_settings())
    assert runner.bot.status.username == "atsd_bot"
    world.sim.post_message("alice", world.dm, "hello by password")
    wait_until(lambda: world.bot_replies(), what="a reply")


@pytest.mark.parametrize(("kind", "expected"), [
    ("password", "check rocketchat.user and rocketchat.password"),
    ("token", "check rocketchat.user_id and rocketchat.token"),
])
def test_bad_credentials_are_fatal_and_secret_free(
    world: World, sqlite_db: Database, runners: list[BotRunner], kind: str, expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = (world.password_settings(password="wrong-password-x") if kind == "password"
                else world.token_settings(token="wrong-token-x"))
    runner = BotRunner(sqlite_db, settings)
    runners.append(runner)
    runner.start(wait=False)
    error = runner.wait_fatal()
    assert expected in str(error)
    assert "wrong-password-x" not in caplog.text + str(error)
    assert "wrong-token-x" not in caplog.text + str(error)
    assert runner.bot.status.as_dict()["last_error"]


def test_two_factor_is_fatal_with_advice(world: World, sqlite_db: Database,
                                        runners: list[BotRunner]) -> None:
    world.sim.create_user("bot2fa", "pw-2fa-123", roles=("bot",), two_factor=True)
    settings = world.password_settings(user="bot2fa", password="pw-2fa-123")
    runner = BotRunner(sqlite_db, settings)
    runners.append(runner)
    runner.start(wait=False)
    assert "personal access token" in str(runner.wait_fatal())


def test_dm_and_channel_mention_make_one_command_each(world: World, sqlite_db: Database,
                                                     runners: list[BotRunner]) -> None:
    room = world.sim.create_channel("ops", ["alice", "atsd_bot"])
    runner = start(runners, sqlite_db, world.token_settings())
    world.sim.post_message("alice", world.dm, "disk full on db1")
    world.sim.post_message("alice", room["_id"], "just chatting")
    world.sim.post_message("alice", room["_id"], "@atsd_bot db2 is down")
    wait_until(lambda: runner.command_count() == 2, what="two commands")
    wait_until(lambda: len(world.bot_replies(room["_id"])) == 1, what="reply in channel")
    runner.idle()
    rows = runner.commands()
    assert [r.message for r in rows] == ["disk full on db1", "@atsd_bot db2 is down"]
    assert rows[0].tags["channel_id"] == world.dm and "channel_name" not in rows[0].tags
    assert rows[1].tags["channel_name"] == "ops" and rows[1].path == "realtime"
    assert [m["msg"] for m in world.bot_replies()] == ['User /@alice said "disk full on db1"']


def test_reply_does_not_retrigger_and_thread_reply_stays_in_thread(
    world: World, sqlite_db: Database, runners: list[BotRunner]
) -> None:
    runner = start(runners, sqlite_db, world.token_settings())
    parent = world.sim.post_message("alice", world.dm, "start a thread")
    wait_until(lambda: len(world.bot_replies()) == 1, what="first reply")
    world.sim.post_message("alice", world.dm, "in the thread", tmid=parent["_id"])
    wait_until(lambda: len(world.bot_replies()) == 2, what="thread reply")
    runner.idle()
    replies = world.bot_replies()
    assert "tmid" not in replies[0] and replies[1]["tmid"] == parent["_id"]
    assert runner.command_count() == 2  # the bot's own replies made no commands
    assert replies[1]["_id"].startswith("atsdbot")


def test_new_dm_is_heard_without_restart(world: World, sqlite_db: Database,
                                         runners: list[BotRunner]) -> None:
    runner = start(runners, sqlite_db, world.token_settings())
    world.sim.create_user("carol", "carol-pw-1")
    dm = world.sim.dm_room("carol", "atsd_bot")
    world.sim.post_message("carol", dm, "hi from carol")
    wait_until(lambda: world.bot_replies(dm), what="reply to carol")
    assert runner.commands()[0].tags["user_name"] == "carol"


def test_chat_commands_and_refusal(world: World, sqlite_db: Database,
                                   runners: list[BotRunner]) -> None:
    runner = start(runners, sqlite_db, world.token_settings())
    world.sim.post_message("alice", world.dm, "disk full")
    wait_until(lambda: runner.engine.open_alerts(), what="an open alert")
    wait_until(lambda: world.bot_replies(), what="the alert's reply")
    alert_id = runner.engine.open_alerts()[0]["id"]

    def ask(user: str, room: str, text: str) -> str:
        before = len(world.bot_replies(room))
        world.sim.post_message(user, room, text)
        wait_until(lambda: len(world.bot_replies(room)) > before, what=f"answer to {text}")
        return world.bot_replies(room)[-1]["msg"]

    assert "`alerts [MATCHERS]`" in ask("alice", world.dm, "help")
    assert f"#{alert_id}" in ask("alice", world.dm, "alerts")
    assert ask("alice", world.dm, f"ack {alert_id}").startswith("Sorry @alice")
    assert not runner.engine.open_alerts()[0]["acknowledged"]
    boss_dm = world.sim.dm_room("boss", "atsd_bot")
    assert ask("boss", boss_dm, f"ack {alert_id}") == f"alert #{alert_id} acknowledged by @boss"
    assert runner.engine.open_alerts()[0]["acknowledged"]
    assert "no longer acknowledged" in ask("boss", boss_dm, f"unack {alert_id}")
    assert "rocketchat_reply" in ask("alice", world.dm, "rules")
    assert "realtime: live" in ask("alice", world.dm, "status")
    assert ask("boss", boss_dm, "silence rocketchat_reply 1h").startswith("silence #1:")
    assert ask("alice", world.dm, "unsilence 1").startswith("Sorry")
    assert ask("boss", boss_dm, "unsilence 1").startswith("silence #1 ended by @boss")
    dry = ask("alice", world.dm, "test rocketchat_reply what if")
    assert "Dry run" in dry and 'said "what if"' in dry
    room = world.sim.create_channel("ops", ["alice", "atsd_bot"])
    assert "`alerts [MATCHERS]`" in ask("alice", room["_id"], "@atsd_bot help")
    runner.idle()
    # commands are not message commands: only "disk full" reached the rules
    assert [r.message for r in runner.commands()] == ["disk full"]
