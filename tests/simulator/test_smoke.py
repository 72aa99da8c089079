"""Smoke tests: the fixture starts a simulator, REST answers, messages are stored."""

from __future__ import annotations

import requests

from tests.rocketchat_server import Simulator


def test_fixture_serves_info_and_admin_login(rc_server: Simulator) -> None:
    info = requests.get(f"{rc_server.url}/api/info", timeout=5)
    assert info.json() == {"version": "8.8.1", "success": True}
    login = requests.post(
        f"{rc_server.url}/api/v1/login", json={"user": "admin", "password": "admin"}, timeout=5
    )
    assert login.status_code == 200
    assert login.json()["data"]["me"]["username"] == "admin"


def test_post_message_into_a_dm_is_stored(rc_server: Simulator) -> None:
    rc_server.create_user("alice", "pw")
    rc_server.create_user("atsd_bot", "pw", roles=("bot",))
    rid = rc_server.dm_room("alice", "atsd_bot")
    sent = rc_server.post_message("alice", "@atsd_bot", "hello")
    assert sent["rid"] == rid
    assert [m["msg"] for m in rc_server.messages(rid)] == ["hello"]
