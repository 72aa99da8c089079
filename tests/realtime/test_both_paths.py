"""The outgoing webhook and the realtime stream see the same message: one command, same shape.

The simulator fires a real outgoing integration (made by the provisioning script) at atsd-bot's
real webhook app, while the realtime bot listens on the same store.
"""

from __future__ import annotations

import io
import json
import threading
import tomllib
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.serving import make_server

from bot.chat.messages import RoomInfo, to_command
from bot.config import build_settings
from rules.store import Database
from scripts import create_outgoing_integration
from tests.realtime.conftest import World
from tests.realtime.harness import BotRunner, wait_until
from webhook.app import create_app
from webhook.context import AppContext
from webhook.parse import RawRequest, parse_query, parse_request

QUERY = "command.message=text&exclude=text"


def provision(world: World, url: str) -> dict[str, str]:
    argv = ["--server", world.sim.url, "--admin-user", "admin", "--admin-password", "admin",
            "--bot-username", "atsd_bot", "--webhook-url", url, "--webhook-user", "rocketchat",
            "--webhook-password", "hook-pw-1", "--retry", "0"]
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert create_outgoing_integration.main(argv) == 0
    config: dict[str, str] = json.loads(out.getvalue())["atsd_bot_config"]
    return config


@pytest.fixture
def both(world: World, sqlite_db: Database) -> Iterator[tuple[BotRunner, list[Any]]]:
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["app"](e, s), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = provision(world, f"http://127.0.0.1:{server.server_port}")
    settings = build_settings(tomllib.loads(config["users"] + config["webhook.tokens"]))
    runner = BotRunner(sqlite_db, world.token_settings())
    ctx = AppContext(settings=settings, db=sqlite_db, ingestor=runner.ingestor,
                     bot_identity=lambda: runner.bot.listener.bot, engine=runner.engine)
    holder["app"] = create_app(ctx)
    runner.start()
    try:
        yield runner, world.sim.deliveries
    finally:
        runner.stop()
        server.shutdown()
        thread.join(10)


def test_one_command_for_a_message_seen_by_both_paths(world: World,
                                                      both: tuple[BotRunner, Any]) -> None:
    runner, _ = both
    for text in ("first via both", "second via both", "third via both"):
        world.sim.post_message("alice", world.dm, text)
    wait_until(lambda: len([d for d in world.sim.deliveries if d.get("status") == 200]) >= 3,
               what="three webhook deliveries")
    wait_until(lambda: len(world.bot_replies()) == 3, what="three replies")
    runner.idle()
    rows = runner.commands()
    assert sorted(r.message for r in rows) == ["first via both", "second via both",
                                               "third via both"]
    assert len({r.tags["message_id"] for r in rows}) == 3
    # the bot's replies fire the integration too (bot flag set) and are not run again
    assert len(world.bot_replies()) == 3


def test_the_webhook_and_the_stream_make_the_same_command(
    world: World, both: tuple[BotRunner, Any]
) -> None:
    room = world.sim.create_channel("ops", ["alice", "atsd_bot"])
    # an alias needs the message-impersonate permission (roles bot and app)
    world.sim.create_user("relay", "relay-pw-1", roles=("user", "app"))
    dm = world.sim.dm_room("relay", "atsd_bot")
    parent = world.sim.post_message("relay", dm, "  needs a thread  ")
    world.sim.post_message("relay", dm, "threaded & 50% #ops", tmid=parent["_id"],
                           alias="Relay R.")
    wait_until(lambda: len([d for d in world.sim.deliveries if d.get("body")]) >= 2,
               what="two webhook bodies")
    now = datetime.now(UTC)
    for stored in world.sim.messages(dm)[:2]:
        body = next(d["body"] for d in world.sim.deliveries
                    if d["body"]["message_id"] == stored["_id"])
        raw = RawRequest(method="POST", path="rocket.chat", query=parse_query(QUERY),
                         content_type="application/json", body=json.dumps(body).encode())
        webhook = parse_request(raw, now=now).command
        realtime = to_command(stored, RoomInfo(dm, "d"), now)
        webhook.tags.pop("request_ip")
        webhook.tags.pop("siteurl")
        assert realtime.to_json() == webhook.to_json()
    assert room  # a channel exists, so the DM's lack of channel_name is not an accident
