"""The living alert message survives the process: a SIGKILL between open and cancel, and a
lease take-over by a second instance on PostgreSQL, continue the same message (its thread,
its edits) because the alert's message id and room are stored with the alert in the
engine's transaction; rows in flight go out after the restart, each once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.reliability.driver import post_until_ok
from tests.reliability.harness import (
    BOT_USER,
    RULE,
    ServiceProcess,
    free_port,
    wait_until,
    write_config,
)  # fmt: skip
from tests.reliability.test_chat_faults import realtime_up
from tests.reliability.test_crash import chat_with_channels, db_url  # noqa: F401 - a fixture
from tests.reliability.test_instances import TAKEOVER_DEADLINE, leader, pg_url  # noqa: F401
from tests.rocketchat_server.control import Simulator

THREAD_RULE = RULE.replace("    severity: WARNING\n",
                           "    severity: WARNING\n    conversation: thread\n")
IN_FLIGHT_DEADLINE = 30.0  # the contract: in-flight rows go out within 30 s of a restart


class Channel:
    """One room, the webhook messages sent for it, and what the bot posted there."""

    def __init__(self, sim: Simulator, room: str) -> None:
        self.sim, self.room = sim, room
        self.session = requests.Session()
        self.sent = 0

    def say(self, services: list[ServiceProcess], text: str) -> None:
        self.sent += 1
        urls = [s.base_url + "/api/v1/messages/webhook/rocket.chat" for s in services]
        message = {"id": f"living{self.sent:04d}{text}", "channel": self.room, "text": text}
        result = post_until_ok(self.session, urls, message)
        assert "error" not in result, result

    def bot(self) -> list[dict[str, Any]]:
        return [m for m in self.sim.messages(self.room) if m["u"]["username"] == BOT_USER]

    def roots(self) -> list[dict[str, Any]]:
        return [m for m in self.bot() if not m.get("tmid")]

    def thread(self, root: str) -> list[str]:
        return [m["msg"] for m in self.bot() if m.get("tmid") == root]

    def wait(self, what: str, predicate: Callable[[], Any]) -> Any:
        return wait_until(predicate, IN_FLIGHT_DEADLINE, what)


def test_the_alert_message_survives_sigkill_between_open_and_cancel(
        tmp_path: Path, db_url: str, rc_server_factory: Callable[..., Simulator]) -> None:  # noqa: F811
    sim, rooms = chat_with_channels(rc_server_factory)
    port = free_port()
    service = ServiceProcess(write_config(tmp_path, db_url=db_url, sim_url=sim.url, port=port,
                                          rule=THREAD_RULE), port, tmp_path).start()
    channel = Channel(sim, rooms[0])
    try:
        channel.say([service], "m1")
        service.kill()  # the open may or may not have gone out: it goes out after the restart
        service.start()
        [root] = channel.wait("the alert message", lambda: channel.roots())
        assert root["msg"] == "open living0001m1"
        assert [a["text"] for a in root["attachments"][0]["actions"]] == [
            "Acknowledge", "Silence 1h"]
        channel.say([service], "m2")
        channel.wait("the repeat in the thread", lambda: channel.thread(root["_id"]))
        service.kill()
        service.start()
        channel.say([service], "resolved")
        channel.wait("the edit", lambda: "resolved after" in sim.message(root["_id"])["msg"])
        channel.wait("the reaction", lambda: sim.message(root["_id"]).get("reactions") == {
            ":white_check_mark:": {"usernames": [BOT_USER]}})
        assert len(channel.roots()) == 1
        assert channel.thread(root["_id"]) == ["repeat living0002m2", "cancel living0003resolved"]
    finally:
        service.terminate()


def test_the_alert_message_survives_sigkill_on_the_realtime_path(
        tmp_path: Path, db_url: str, rc_server_factory: Callable[..., Simulator]) -> None:  # noqa: F811
    """The same on the other inbound path: alice's messages reach the bot over the stream
    only (no outgoing integration); those posted while the bot is down are backfilled at the
    restart and continue the same message."""
    sim, _ = chat_with_channels(rc_server_factory)
    sim.create_user("alice", "alice-pw-1")
    room = str(sim.create_channel("living-rt", members=[BOT_USER, "alice"])["_id"])
    port = free_port()
    config = _realtime_config(tmp_path, db_url, sim.url, port)
    service = ServiceProcess(config, port, tmp_path).start()
    channel = Channel(sim, room)
    try:
        wait_until(lambda: realtime_up(service), 60, "the realtime subscription")
        first = sim.post_message("alice", room, "m1")
        [root] = channel.wait("the alert message", lambda: channel.roots())
        assert root["msg"] == f"open {first['_id']}"
        # at once, before the cursor's first flush: the very first start wrote each room's
        # cursor when it connected, so the restart back-fills what the downtime missed
        service.kill()
        second = sim.post_message("alice", room, "m2")  # while the bot is down
        service.start()
        channel.wait("the repeat in the thread", lambda: channel.thread(root["_id"]))
        service.kill()
        third = sim.post_message("alice", room, "resolved")  # down again
        service.start()
        channel.wait("the edit", lambda: "resolved after" in sim.message(root["_id"])["msg"])
        channel.wait("the reaction", lambda: sim.message(root["_id"]).get("reactions") == {
            ":white_check_mark:": {"usernames": [BOT_USER]}})
        assert len(channel.roots()) == 1
        assert channel.thread(root["_id"]) == [f"repeat {second['_id']}",
                                               f"cancel {third['_id']}"]
    finally:
        service.terminate()


def _realtime_config(directory: Path, store_url: str, sim_url: str, port: int) -> Path:
    """The thread rule's service, hearing the room over the stream (no outgoing webhook)."""
    config = write_config(directory, db_url=store_url, sim_url=sim_url, port=port,
                          rule=THREAD_RULE)
    config.write_text(config.read_text().replace(
        "realtime = false", 'realtime = true\nchannel_messages = "all"'))
    return config


@pytest.mark.postgres
def test_a_lease_take_over_continues_the_alert_message(
        tmp_path: Path, pg_url: str, rc_server_factory: Callable[..., Simulator]) -> None:  # noqa: F811
    sim, rooms = chat_with_channels(rc_server_factory)
    services = []
    for name in ("a", "b"):
        port = free_port()
        directory = tmp_path / name
        directory.mkdir()
        config = write_config(directory, db_url=pg_url, sim_url=sim.url, port=port,
                              rule=THREAD_RULE)
        services.append(ServiceProcess(config, port, directory, name=name).start())
    channel = Channel(sim, rooms[1])
    try:
        first = wait_until(lambda: leader(services), 30, "one instance to lead")
        channel.say(services, "m1")
        [root] = channel.wait("the alert message", lambda: channel.roots())
        first.kill()
        killed_at = time.monotonic()
        survivor = wait_until(lambda: leader(services), TAKEOVER_DEADLINE, "a take-over")
        assert survivor is not first
        channel.say([survivor], "m2")
        channel.say([survivor], "resolved")
        channel.wait("the edit by the new holder",
                     lambda: "resolved after" in sim.message(root["_id"])["msg"])
        took = time.monotonic() - killed_at
        assert len(channel.roots()) == 1
        channel.wait("the thread", lambda: len(channel.thread(root["_id"])) == 2)
        assert channel.thread(root["_id"]) == ["repeat living0002m2", "cancel living0003resolved"]
        print(f"\nkilled the holder; the new holder edited the same message {took:.1f}s later")
    finally:
        for service in services:
            service.terminate()


@pytest.mark.postgres
def test_a_lease_take_over_continues_the_alert_message_on_the_realtime_path(
        tmp_path: Path, pg_url: str, rc_server_factory: Callable[..., Simulator]) -> None:  # noqa: F811
    """Only the lease holder runs the realtime client: the new holder subscribes, back-fills
    what was posted meanwhile and continues the same message."""
    sim, _ = chat_with_channels(rc_server_factory)
    sim.create_user("alice", "alice-pw-1")
    room = str(sim.create_channel("living-rt", members=[BOT_USER, "alice"])["_id"])
    services = []
    for name in ("a", "b"):
        port = free_port()
        directory = tmp_path / name
        directory.mkdir()
        config = _realtime_config(directory, pg_url, sim.url, port)
        services.append(ServiceProcess(config, port, directory, name=name).start())
    channel = Channel(sim, room)
    try:
        first = wait_until(lambda: leader(services), 30, "one instance to lead")
        wait_until(lambda: realtime_up(first), 60, "the holder's realtime subscription")
        opened = sim.post_message("alice", room, "m1")
        [root] = channel.wait("the alert message", lambda: channel.roots())
        assert root["msg"] == f"open {opened['_id']}"
        first.kill()
        second = sim.post_message("alice", room, "m2")  # while nobody holds the lease
        survivor = wait_until(lambda: leader(services), TAKEOVER_DEADLINE, "a take-over")
        assert survivor is not first
        wait_until(lambda: realtime_up(survivor), 60, "the new holder's realtime subscription")
        third = sim.post_message("alice", room, "resolved")
        channel.wait("the edit by the new holder",
                     lambda: "resolved after" in sim.message(root["_id"])["msg"])
        channel.wait("the thread", lambda: len(channel.thread(root["_id"])) == 2)
        assert len(channel.roots()) == 1
        assert channel.thread(root["_id"]) == [f"repeat {second['_id']}",
                                               f"cancel {third['_id']}"]
    finally:
        for service in services:
            service.terminate()
