"""A fresh simulator per test, with heartbeats and retries shortened so faults show quickly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.config import RocketChatSettings
from tests.rocketchat_server.control import Simulator

BOT_PASSWORD = "bot-secret-pw-1"
ALICE_PASSWORD = "alice-pw-1"


@dataclass
class World:
    sim: Simulator
    bot_id: str
    bot_token: str
    dm: str  # the DM room between alice and the bot

    def token_settings(self, **overrides: object) -> RocketChatSettings:
        values = {"user_id": self.bot_id, "token": self.bot_token} | overrides
        return RocketChatSettings(url=self.sim.url, **values)  # type: ignore[arg-type]

    def password_settings(self, **overrides: object) -> RocketChatSettings:
        values = {"user": "atsd_bot", "password": BOT_PASSWORD} | overrides
        return RocketChatSettings(url=self.sim.url, **values)  # type: ignore[arg-type]

    def bot_replies(self, room: str | None = None) -> list[dict]:
        return [m for m in self.sim.messages(room or self.dm)
                if m["u"]["username"] == "atsd_bot"]


@pytest.fixture
def world() -> Iterator[World]:
    sim = Simulator(ping_interval=2.0, ping_timeout=2.0, retry_scale=0.01).start()
    try:
        sim.create_user("atsd_bot", BOT_PASSWORD, roles=("bot",), join_default_channels=False)
        sim.create_user("alice", ALICE_PASSWORD)
        sim.create_user("boss", "boss-pw-1", roles=("user", "admin"))
        bot_id, token = sim.login_token("atsd_bot")
        yield World(sim, bot_id, token, sim.dm_room("alice", "atsd_bot"))
    finally:
        sim.stop()
