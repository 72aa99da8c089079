"""A stage for the living-alert-message tests: the simulator, the bot (store, engine, outbox,
Rocket.Chat endpoint) and the webhook app, with a ``thread`` rule heard on one inbound path.

``path="realtime"``: the realtime client runs, no outgoing integration. ``path="webhook"``: an
outgoing integration on ``#ops`` (``runOnEdits`` on, so the bot's own edits come back) posts
to the webhook app, and the realtime client is not started. ``path="both"``: both at once.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from bot.config import build_settings
from rules.definitions.loader import load_rules
from rules.living import RoomBudget
from rules.store import Database, reports
from tests.realtime.conftest import World
from tests.realtime.harness import BotRunner, wait_until
from webhook.api import rules as api_rules
from webhook.app import create_app
from webhook.context import AppContext
from webhook.ui import UiServices, install

BOT = "atsd_bot"
HOOK_USER, HOOK_PASSWORD = "rc", "rc-hook-pw-1"
OPS_USER, OPS_PASSWORD = "ops", "ops-admin-pw-1"  # the API and the web UI
RULES = """
rules:
  - name: chat_disk
    source: rocket.chat
    filter: "message LIKE '*disk*'"
    window: length(1)
    group_by_tags: [channel_id, user_name]
    condition: "message NOT LIKE '*fixed*'"
    conversation: thread
    reopen_within: 10m
    notifications:
      - endpoint: rocketchat
        open: 'disk alert from @${tags.user_name}: ${message}'
        repeat: 'again: ${message}'
        cancel: 'fixed: ${message}'
        repeat_every: all
"""


@dataclass
class Stage:
    world: World
    runner: BotRunner
    room: str
    path: str
    hook_port: int
    app: Any  # the webhook app, with the API and the web UI (user OPS_USER)

    @property
    def sim(self) -> Any:
        return self.world.sim

    def say(self, user: str, text: str) -> dict[str, Any]:
        """``user`` posts ``text`` in #ops, addressed to the bot."""
        message: dict[str, Any] = self.sim.post_message(user, self.room, f"@{BOT} {text}")
        return message

    def roots(self) -> list[dict[str, Any]]:
        """The bot's room messages (not thread replies) in #ops, oldest first."""
        return [m for m in self.sim.messages(self.room)
                if m["u"]["username"] == BOT and not m.get("tmid") and not m.get("t")]

    def thread(self, root_id: str) -> list[str]:
        return [m["msg"] for m in self.sim.messages(self.room) if m.get("tmid") == root_id]

    def wait_roots(self, count: int) -> list[dict[str, Any]]:
        return list(wait_until(lambda: len(self.roots()) >= count and self.roots(),
                               what=f"{count} alert message(s)"))

    def wait_thread(self, root_id: str, count: int) -> list[str]:
        wait_until(lambda: len(self.thread(root_id)) >= count,
                   what=f"{count} message(s) in the thread")
        return self.thread(root_id)

    def wait_text(self, root_id: str, words: str) -> dict[str, Any]:
        """The alert message once its text contains ``words``."""
        message: dict[str, Any] = wait_until(
            lambda: words in self.sim.message(root_id)["msg"] and self.sim.message(root_id),
            what=f"the alert message to say {words!r}")
        return message

    def wait_reactions(self, root_id: str, *emoji: str) -> dict[str, Any]:
        wanted = {e: {"usernames": [BOT]} for e in emoji}
        wait_until(lambda: (self.sim.message(root_id).get("reactions") or {}) == wanted,
                   what=f"the reactions {emoji}")
        return wanted

    def settle(self) -> None:
        """Everything heard so far was handled, and every outbox row is finished."""
        if self.path != "webhook":
            self.runner.idle()

        def drained() -> bool:
            with self.runner.db.connect() as conn:
                return reports.outbox_backlog(conn)["depth"] == 0
        wait_until(drained, what="the outbox to drain")


@contextmanager
def staged(world: World, db: Database, tmp_path: Path, path: str, *,
           budget: RoomBudget | None = None, members: tuple[str, ...] = (),
           **settings: object) -> Iterator[Stage]:
    sim = world.sim
    room = str(sim.create_channel("ops", ["alice", BOT, "boss", *members])["_id"])
    rules = tmp_path / "rules.d"
    rules.mkdir(exist_ok=True)
    (rules / "living.yml").write_text(RULES)
    runner = BotRunner(db, world.token_settings(**settings), rules=False)
    loaded, issues = load_rules([rules], endpoints=("rocketchat",))
    assert not issues, issues
    runner.engine.load(loaded)
    runner.engine.stories.budget = budget or RoomBudget()
    runner.bot.endpoint.living.public_url = "https://atsd.example"
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["app"](e, s), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = build_settings(tomllib.loads(
        f'[[users]]\nname = "{HOOK_USER}"\npassword = "{HOOK_PASSWORD}"\nroles = ["webhook"]\n'
        f'[[users]]\nname = "{OPS_USER}"\npassword = "{OPS_PASSWORD}"\nroles = ["admin"]\n'))
    ctx = AppContext(settings=settings, db=db, ingestor=runner.ingestor,
                     bot_identity=lambda: runner.bot.listener.bot, engine=runner.engine,
                     chat_commands=runner.bot.commands)
    holder["app"] = create_app(ctx, [api_rules.bp])
    install(holder["app"], UiServices(db=db, settings=settings,
                                      acknowledge=runner.engine.acknowledge,
                                      resolve=runner.engine.resolve),
            secret_key="living-stage-only")
    if path in ("webhook", "both"):
        _integration(sim, server.server_port)
    if path == "webhook":
        runner.sender_loop.start()
    else:
        runner.start()
    try:
        yield Stage(world, runner, room, path, server.server_port, holder["app"])
    finally:
        runner.stop()
        server.shutdown()
        thread.join(10)


def _integration(sim: Any, port: int) -> None:
    user_id, token = sim.login_token("admin")
    url = (f"http://{HOOK_USER}:{HOOK_PASSWORD}@127.0.0.1:{port}/api/v1/messages/webhook/"
           "rocket.chat?command.message=text&exclude=text")
    body = {"type": "webhook-outgoing", "name": "atsd-bot", "enabled": True,
            "event": "sendMessage", "username": BOT, "channel": "#ops", "urls": [url],
            "scriptEnabled": False, "runOnEdits": True}
    answer = requests.post(f"{sim.url}/api/v1/integrations.create", json=body,
                           headers={"X-User-Id": user_id, "X-Auth-Token": token}, timeout=5)
    assert answer.status_code == 200, answer.text
