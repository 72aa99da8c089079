"""Clients we did not write work against the simulator unchanged.

* `rocketchat_API` 3.7.1 (REST, the project's own dependency).
* `rocketchat-async` 4.3.0 (realtime) in its own cached venv, driven as a subprocess.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketAuthenticationException,
)
from rocketchat_API.rocketchat import RocketChat

from tests.rocketchat_server import Simulator

CLIENT = Path(__file__).parent / "clients" / "rocketchat_async_client.py"


def test_rocketchat_api_provisioning_flow(rc_server: Simulator) -> None:
    admin = RocketChat("admin", "admin", server_url=rc_server.url)
    assert admin.me()["username"] == "admin"
    assert admin.info()["version"] == "8.8.1"
    created = admin.users_create(
        email="bot@example.com", name="ATSD bot", password="bot-pw", username="atsd_bot",
        roles=["bot"], verified=True, joinDefaultChannels=False, requirePasswordChange=False,
        sendWelcomeEmail=False,
    )  # fmt: skip
    assert created["user"]["roles"] == ["bot"]
    with pytest.raises(RocketApiException) as duplicate:
        admin.users_create(email="x@example.com", name="x", password="x", username="atsd_bot")
    assert duplicate.value.error_type == "error-field-unavailable"
    hook = admin.integrations_create(
        integrations_type="webhook-outgoing", name="atsd", enabled=True, username="atsd_bot",
        channel="@atsd_bot", script_enabled=False, event="sendMessage",
        urls=["http://127.0.0.1:9/hook"], triggerWords=["!atsd"], token="tok",
    )  # fmt: skip
    assert hook["integration"]["channel"] == ["@atsd_bot"]
    assert admin.integrations_get(hook["integration"]["_id"])["integration"]["token"] == "tok"
    dm = admin.dm_create("atsd_bot")
    assert dm["room"]["t"] == "d" and dm["room"]["usernames"] == ["admin", "atsd_bot"]
    posted = admin.chat_post_message("hello bot", room_id=dm["room"]["rid"])
    assert posted["message"]["msg"] == "hello bot" and posted["channel"] == dm["room"]["rid"]
    assert [m["msg"] for m in rc_server.messages(dm["room"]["rid"])] == ["hello bot"]
    bot = RocketChat("atsd_bot", "bot-pw", server_url=rc_server.url)
    assert bot.me()["roles"] == ["bot"]


def test_rocketchat_api_wrong_password(rc_server: Simulator) -> None:
    with pytest.raises(RocketAuthenticationException):
        RocketChat("admin", "wrong", server_url=rc_server.url)


def test_rocketchat_async_connect_login_subscribe_receive_send(
    rc_server: Simulator, rocketchat_async_python: Path
) -> None:
    rc_server.create_user("alice", "alice-pw")
    rc_server.create_user("echo", "echo-pw", roles=("bot",))
    rid = rc_server.dm_room("alice", "echo")
    process = subprocess.Popen(
        [str(rocketchat_async_python), str(CLIENT), rc_server.ws_url, "echo", "echo-pw", rid,
         "hello echo", "hello alice"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "SUBSCRIBED"
        assert rc_server.hub is not None
        hub = rc_server.hub
        rc_server.wait_for(
            lambda: any(s.event == rid for c in list(hub.connections) for s in c.subs.values())
        )
        sent = rc_server.post_message("alice", rid, "hello echo")
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["received"]["msg_id"] == sent["_id"]
    assert [rid, "d"] in summary["channels"]
    texts = [(m["u"]["username"], m["msg"]) for m in rc_server.messages(rid)]
    assert texts == [("alice", "hello echo"), ("echo", "hello alice")]
