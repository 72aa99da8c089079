"""REST: rooms and messages, and the integrations endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import api, rest_login

# -- rooms and messages ---------------------------------------------------------------------


def test_dm_ids_are_the_sorted_user_ids(sim: Simulator) -> None:
    alice = rest_login(sim, "alice", "alice-pw")
    room = api(sim, "POST", "dm.create", alice, json={"username": "bot"}).json()["room"]
    bot_id = rest_login(sim, "bot", "bot-pw")["X-User-Id"]
    assert room["rid"] == "".join(sorted([alice["X-User-Id"], bot_id]))
    assert room["t"] == "d" and "name" not in room
    again = api(sim, "POST", "im.create", alice, json={"username": "bot"}).json()["room"]
    assert again["rid"] == room["rid"]


def test_post_message_validation_and_permissions(sim: Simulator) -> None:
    alice = rest_login(sim, "alice", "alice-pw")
    both = api(sim, "POST", "chat.postMessage", alice,
               json={"roomId": "GENERAL", "channel": "#general", "text": "x"})  # fmt: skip
    assert both.json()["errorType"] == "invalid-params"
    extra = api(sim, "POST", "chat.postMessage", alice, json={"channel": "#general", "msg": "x"})
    assert extra.json()["error"] == "must NOT have additional properties [invalid-params]"
    alias = api(sim, "POST", "chat.postMessage", alice,
                json={"channel": "#general", "text": "x", "alias": "Boss"})  # fmt: skip
    assert alias.json()["errorType"] == "error-action-not-allowed"
    sim.create_channel("secret", [], private=True)
    private = api(sim, "POST", "chat.postMessage", alice, json={"channel": "#secret", "text": "x"})
    assert private.json()["errorType"] == "error-not-allowed"


def test_channels_history_sync_and_rooms_get(sim: Simulator) -> None:
    admin = rest_login(sim, "admin", "admin")
    created = api(sim, "POST", "channels.create", admin, json={"name": "ops", "members": ["alice"]})
    rid = created.json()["channel"]["_id"]
    duplicate = api(sim, "POST", "channels.create", admin, json={"name": "ops"})
    assert duplicate.json()["errorType"] == "error-duplicate-channel-name"
    alice = rest_login(sim, "alice", "alice-pw")
    first = api(sim, "POST", "chat.postMessage", alice, json={"roomId": rid, "text": "one"}).json()
    api(sim, "POST", "chat.postMessage", alice, json={"roomId": rid, "text": "two",
                                                      "tmid": first["message"]["_id"]})  # fmt: skip
    history = api(sim, "GET", f"channels.history?roomId={rid}", admin).json()["messages"]
    assert [m["msg"] for m in history] == ["two", "one"]
    assert history[1]["tcount"] == 1
    since = first["message"]["ts"]
    synced = api(sim, "GET", f"chat.syncMessages?roomId={rid}&lastUpdate={since}", admin).json()
    assert {m["msg"] for m in synced["result"]["updated"]} == {"one", "two"}
    info = api(sim, "GET", "channels.info?roomName=ops", admin).json()["channel"]
    assert info["_id"] == rid and info["t"] == "c"
    rooms = api(sim, "GET", "rooms.get", alice).json()
    assert {r["_id"] for r in rooms["update"]} == {"GENERAL", rid}
    bot = rest_login(sim, "bot", "bot-pw")
    joined = api(sim, "POST", "channels.join", bot, json={"roomId": rid})
    assert joined.status_code == 200
    assert sim.messages(rid)[-1]["t"] == "uj"


def test_send_message_with_client_id(sim: Simulator) -> None:
    bot = rest_login(sim, "bot", "bot-pw")
    rid = sim.dm_room("alice", "bot")
    body = {"message": {"_id": "fixed-id-1", "rid": rid, "msg": "hello", "alias": "Bot"}}
    first = api(sim, "POST", "chat.sendMessage", bot, json=body)
    assert first.json()["message"]["_id"] == "fixed-id-1"
    second = api(sim, "POST", "chat.sendMessage", bot, json=body)
    assert second.json()["errorType"] == "error-message-already-exists"
    history = api(sim, "GET", f"im.history?roomId={rid}", bot).json()["messages"]
    assert [m["msg"] for m in history] == ["hello"]


# -- integrations ---------------------------------------------------------------------------

BASE = {"type": "webhook-outgoing", "name": "hook", "enabled": True, "event": "sendMessage",
        "username": "bot", "channel": "@bot", "scriptEnabled": False,
        "urls": ["http://127.0.0.1:9/x"]}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"channel": ""}, "error-invalid-channel"),
        ({"channel": "bot"}, "error-invalid-channel-start-with-chars"),
        ({"channel": "#nowhere"}, "error-invalid-room"),
        ({"channel": "@nobody"}, "error-invalid-user"),
        ({"urls": [" "]}, "error-invalid-urls"),
        ({"event": "nope"}, "error-invalid-event-type"),
        ({"username": "ghost"}, "error-invalid-user"),
        ({"triggerWords": [""]}, "error-invalid-triggerWords"),
        ({"channel": ["@bot"]}, "invalid-params"),
        ({"extra": 1}, "invalid-params"),
    ],
)
def test_integration_validation(sim: Simulator, change: dict[str, Any], error: str) -> None:
    admin = rest_login(sim, "admin", "admin")
    answer = api(sim, "POST", "integrations.create", admin, json={**BASE, **change})
    assert answer.status_code == 400 and answer.json()["errorType"] == error


def test_integration_lifecycle(sim: Simulator) -> None:
    admin = rest_login(sim, "admin", "admin")
    created = api(sim, "POST", "integrations.create", admin,
                  json={**BASE, "channel": "@bot, #general"}).json()["integration"]  # fmt: skip
    assert created["channel"] == ["@bot", "#general"] and "token" not in created
    assert api(sim, "POST", "integrations.create", rest_login(sim, "alice", "alice-pw"),
               json=BASE).status_code == 403  # fmt: skip
    listed = api(sim, "GET", "integrations.list?name=HOO", admin).json()
    assert listed["total"] == 1 and listed["integrations"][0]["_id"] == created["_id"]
    update = {**BASE, "integrationId": created["_id"], "name": "renamed"}
    no_token = api(sim, "PUT", "integrations.update", admin, json=update)
    assert no_token.json()["errorType"] == "error-invalid-token"
    assert api(sim, "POST", "integrations.update", admin, json=update).status_code == 404
    updated = api(sim, "PUT", "integrations.update", admin, json={**update, "token": "t"}).json()
    assert (
        updated["integration"]["name"] == "renamed"
        and updated["integration"]["_id"] == created["_id"]
    )
    fetched = api(sim, "GET", f"integrations.get?integrationId={created['_id']}", admin).json()
    assert fetched["integration"]["token"] == "t"
    removed = api(sim, "POST", "integrations.remove", admin,
                  json={"type": "webhook-outgoing", "integrationId": created["_id"]})  # fmt: skip
    assert removed.json()["integration"]["_id"] == created["_id"]
    again = api(sim, "POST", "integrations.remove", admin,
                json={"type": "webhook-outgoing", "integrationId": created["_id"]})  # fmt: skip
    assert again.json() == {"success": False, "error": "No integration found."}


def test_malformed_parameters_are_400_not_500(sim: Simulator) -> None:
    admin = rest_login(sim, "admin", "admin")
    for route in ("users.list?count=abc", "channels.history?roomId=GENERAL&count=x",
                  "users.info?userId=x&fields=notjson"):  # fmt: skip
        answer = api(sim, "GET", route, admin)
        assert answer.status_code == 400, route
        assert answer.json()["success"] is False
    json_headers = {**admin, "Content-Type": "application/json"}
    garbage = api(sim, "POST", "chat.postMessage", json_headers, data="{nope")
    assert garbage.status_code == 400 and garbage.json()["success"] is False


def test_private_groups(sim: Simulator) -> None:
    alice = rest_login(sim, "alice", "alice-pw")
    group = api(sim, "POST", "groups.create", alice, json={"name": "team", "members": ["bot"]})
    rid = group.json()["group"]["_id"]
    assert group.json()["group"]["t"] == "p"
    assert api(sim, "GET", "groups.info?roomName=team", alice).json()["group"]["_id"] == rid
    admin = rest_login(sim, "admin", "admin")
    outsider = api(sim, "GET", f"groups.history?roomId={rid}", admin)
    assert outsider.json()["errorType"] == "error-not-allowed"
    api(sim, "POST", "chat.postMessage", alice, json={"roomId": rid, "text": "inside"})
    history = api(sim, "GET", f"groups.history?roomId={rid}", alice).json()["messages"]
    assert [m["msg"] for m in history] == ["inside"]
