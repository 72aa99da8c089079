"""Chat commands against the simulator on each inbound path: the outgoing webhook alone, the
realtime stream alone, and both at once (one answer), with the seed rule loaded as in the
``make run`` demo (spec: conversation, section 1; the issue's "done when").

The webhook path is a real outgoing integration (made by the provisioning script) posting to
atsd-bot's real webhook app; answers go out through the outbox and the Rocket.Chat endpoint.
"""

from __future__ import annotations

import io
import json
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.config import build_settings
from rules.definitions.yaml_format import parse_yaml
from rules.store import Database
from rules.store.tables.base import processed_keys
from rules.store.tables.engine import outbox
from scripts import create_outgoing_integration
from tests.realtime.conftest import World
from tests.realtime.harness import BotRunner, wait_until
from webhook import AppContext, create_app

PATHS = ["webhook", "realtime", "both"]


@dataclass
class Bot:
    world: World
    runner: BotRunner
    mode: str

    def ask(self, user: str, room: str, text: str, *, tmid: str | None = None,
            answers: int = 1) -> list[dict[str, Any]]:
        """Post ``text``; the bot's messages that follow, once ``answers`` arrived and the
        message was handled on every path that is on."""
        before = {m["_id"] for m in self.world.bot_replies(room)}
        posted = self.world.sim.post_message(user, room, text, tmid=tmid)
        self.settle(posted["_id"])

        def new() -> list[dict[str, Any]]:
            return [m for m in self.world.bot_replies(room) if m["_id"] not in before]
        wait_until(lambda: len(new()) >= answers, what=f"{answers} answer(s) to {text!r}")
        return new()

    def settle(self, message_id: str) -> None:
        wait_until(lambda: self.claimed(message_id), what="the message to be handled")
        if self.mode in ("webhook", "both"):
            wait_until(lambda: any(d.get("body", {}).get("message_id") == message_id
                                   and d.get("status") == 200
                                   for d in self.world.sim.deliveries),
                       what="the webhook delivery")
        if self.mode in ("realtime", "both"):
            self.runner.idle()
        # the sender has delivered whatever those made
        wait_until(lambda: not self.pending(), what="the outbox to drain")

    def claimed(self, message_id: str) -> bool:
        with self.runner.db.connect() as conn:
            return conn.execute(select(processed_keys.c.key).where(
                processed_keys.c.key == f"rc:{message_id}")).first() is not None

    def pending(self) -> list[Any]:
        with self.runner.db.connect() as conn:
            return list(conn.execute(select(outbox.c.id).where(
                outbox.c.status.in_(("pending", "sending")))))

    def one(self, user: str, room: str, text: str, **kwargs: Any) -> str:
        found = self.ask(user, room, text, **kwargs)
        assert len(found) == 1, [m["msg"] for m in found]
        return str(found[0]["msg"])


def provision(world: World, url: str, *extra: str) -> dict[str, str]:
    argv = ["--server", world.sim.url, "--admin-user", "admin", "--admin-password", "admin",
            "--bot-username", "atsd_bot", "--webhook-url", url, "--webhook-user", "rocketchat",
            "--webhook-password", "hook-pw-1", "--retry", "0", *extra]
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert create_outgoing_integration.main(argv) == 0
    config: dict[str, str] = json.loads(out.getvalue())["atsd_bot_config"]
    return config


def start_bot(world: World, db: Database, mode: str, *integration: str,
              rules: str | None = None) -> tuple[Bot, Callable[[], None]]:
    """The bot on ``mode``'s paths, with the seed rule, or the rules of the YAML ``rules``."""
    runner = BotRunner(db, world.token_settings(admins=("boss",)), rules=rules is None)
    if rules is not None:
        loaded, issues = parse_yaml(rules, "filtered.yml")
        assert issues == [] and runner.engine.load(loaded) == []
    stops: list[Callable[[], None]] = [runner.stop]
    if mode in ("webhook", "both"):
        holder: dict[str, Any] = {}
        server = make_server("127.0.0.1", 0, lambda e, s: holder["app"](e, s), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        config = provision(world, f"http://127.0.0.1:{server.server_port}", *integration)
        settings = build_settings(tomllib.loads(config["users"] + config["webhook.tokens"]))
        ctx = AppContext(settings=settings, db=db, ingestor=runner.ingestor,
                         bot_identity=lambda: runner.bot.listener.bot, engine=runner.engine,
                         chat_commands=runner.bot.commands)
        holder["app"] = create_app(ctx)
        stops += [server.shutdown, lambda: thread.join(10)]
    if mode in ("realtime", "both"):
        runner.start()
    else:
        runner.sender_loop.start()
    return Bot(world, runner, mode), lambda: [stop() for stop in stops]


@pytest.fixture(params=PATHS)
def bot(request: pytest.FixtureRequest, world: World, sqlite_db: Database) -> Iterator[Bot]:
    found, stop = start_bot(world, sqlite_db, request.param)
    try:
        yield found
    finally:
        stop()


def test_the_demo_commands_get_one_answer_and_no_echo(bot: Bot) -> None:
    dm, world = bot.world.dm, bot.world
    boss_dm = world.sim.dm_room("boss", "atsd_bot")
    assert bot.one("alice", dm, "help").startswith("I answer these commands")
    assert bot.one("boss", boss_dm, "ack abc").startswith("usage: `ack ID [REASON...]`")
    assert bot.one("alice", dm, "ack 1").startswith("Sorry @alice, `ack` is for bot admins")
    made = bot.one("boss", boss_dm, "silence entity=db1 1h checking")
    assert made.startswith("silence #1: `entity=db1` (`checking`), matches no open alert now")
    assert "#1 `entity=db1` by @boss (`checking`)" in bot.one("alice", dm, "silences")
    echo = bot.one("alice", dm, "hello rules")
    assert echo == 'User /@alice said "hello rules"'  # not a command: the seed rule answers
    why = bot.one("alice", dm, "why")
    assert '"hello rules"' in why and "`rocketchat_reply`" in why
    assert bot.one("alice", dm, "test nosuch hi") == "no rule named `nosuch` (see `rules`)"
    # only "hello rules" reached the rules; every command was answered exactly once
    assert [r.message for r in bot.runner.commands()] == ["hello rules"]


def test_a_silenced_alert_opens_but_posts_nothing(bot: Bot) -> None:
    dm, world = bot.world.dm, bot.world
    boss_dm = world.sim.dm_room("boss", "atsd_bot")
    bot.one("boss", boss_dm, "silence rocketchat_reply 1h deploying")
    posted = world.sim.post_message("alice", dm, "disk is full")
    bot.settle(posted["_id"])
    assert world.bot_replies(dm) == []
    assert bot.runner.engine.open_alerts()  # the alert opened all the same
    with bot.runner.db.connect() as conn:
        [(status, silence_id)] = conn.execute(
            select(outbox.c.status, outbox.c.silence_id).where(outbox.c.rule != "chat"))
    assert (status, silence_id) == ("silenced", 1)
    why = bot.one("alice", dm, "why")
    assert "suppressed by silence #1" in why


def test_commands_in_a_thread_are_answered_there(bot: Bot) -> None:
    dm = bot.world.dm
    parent = bot.world.sim.post_message("alice", dm, "a thread starts")
    bot.settle(parent["_id"])
    [answer] = bot.ask("alice", dm, "rules", tmid=parent["_id"])
    assert answer.get("tmid") == parent["_id"] and "rocketchat_reply" in answer["msg"]


def test_trigger_word_and_mention_in_a_channel(world: World, sqlite_db: Database) -> None:
    room = world.sim.create_channel("ops", ["alice", "atsd_bot"])
    bot, stop = start_bot(world, sqlite_db, "both", "--channel", "#ops",
                          "--trigger-words", "!bot,@atsd_bot")
    try:
        assert bot.one("alice", room["_id"], "!bot status").startswith("Up 0d")
        assert bot.one("alice", room["_id"], "@atsd_bot help").startswith("I answer")
        assert bot.one("alice", room["_id"], "!bot hello") == 'User /@alice said "!bot hello"'
    finally:
        stop()


FILTERED = """
rules:
  - name: disk_full
    source: rocket.chat
    filter: "tags.bot != 'true' AND message LIKE '*disk*'"
    notifications:
      - {endpoint: rocketchat, open: 'disk alarm: ${message}', repeat: 'again: ${message}'}
  - name: errors
    source: rocket.chat
    filter: "message LIKE '*error*'"
    notifications: [{endpoint: rocketchat, open: 'error: ${message}'}]
"""


@pytest.mark.parametrize("mode", PATHS)
def test_why_names_the_rule_and_the_filter_part_that_stopped_a_message(
        world: World, sqlite_db: Database, mode: str) -> None:
    """The issue's "done when": a message no rule answered; ``why`` in chat says which rule
    saw it and which part of its filter was false."""
    bot, stop = start_bot(world, sqlite_db, mode, rules=FILTERED)
    try:
        dm = world.dm
        assert bot.one("alice", dm, "the disk is full") == "disk alarm: the disk is full"
        quiet = world.sim.post_message("alice", dm, "the cpu is hot")
        bot.settle(quiet["_id"])
        assert [m["msg"] for m in world.bot_replies(dm)] == ["disk alarm: the disk is full"]
        why = bot.one("alice", dm, "why")
        assert why.startswith("message #2 via ") and '"the cpu is hot"' in why
        lines = why.splitlines()
        assert "• `disk_full`: filtered out: message LIKE '*disk*' is false" in lines
        assert "• `errors`: filtered out: message LIKE '*error*' is false" in lines
        assert [r.message for r in bot.runner.commands()] == ["the disk is full",
                                                              "the cpu is hot"]
    finally:
        stop()
