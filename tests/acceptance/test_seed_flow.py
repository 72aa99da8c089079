"""The seed's Rocket.Chat flow end to end, with the seed's own integration script:
a user's DM -> outgoing webhook -> command -> alert -> the bot's reply in the same room."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.acceptance.conftest import HOOK, ROOT, Served, start_serve
from tests.rocketchat_server import Simulator
from tests.simulator.helpers import SEED_SCRIPT

SYNC_RULE = """
  - name: sync_answer
    source: rocket.chat
    filter: "message LIKE 'sync*'"
    window: length(1)
    notifications:
      - endpoint: rocketchat
        open: 'sync: ${message}'
        repeat: 'sync again: ${message}'
        sync_reply: true
"""


@pytest.fixture
def stack(rc_server: Simulator, tmp_path: Path) -> Iterator[tuple[Simulator, Served]]:
    rc_server.create_user("atsd_bot", "bot-pw-1", roles=("bot",))
    rc_server.create_user("alice", "alice-pw")
    extra = f"""
[rocketchat]
url = "{rc_server.url}"
user = "atsd_bot"
password = "bot-pw-1"
realtime = false
"""
    rules = (ROOT / "rules.d" / "seed.yml").read_text() + SYNC_RULE
    served = start_serve(tmp_path, extra, rules=rules, token=False)
    yield rc_server, served
    served.proc.terminate()
    try:
        served.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait()


def admin_headers(sim: Simulator) -> dict[str, str]:
    r = requests.post(f"{sim.url}/api/v1/login", json={"user": "admin", "password": "admin"},
                      timeout=5).json()["data"]
    return {"X-User-Id": r["userId"], "X-Auth-Token": r["authToken"]}


def test_seed_integration_reply_in_the_same_room(stack: tuple[Simulator, Served]) -> None:
    sim, served = stack
    integration = {
        "type": "webhook-outgoing", "name": "ATSD", "event": "sendMessage", "enabled": True,
        "channel": "@atsd_bot", "username": "atsd_bot", "scriptEnabled": True,
        "urls": [served.url("/api/v1/messages/webhook/rocket.chat")],
        "script": SEED_SCRIPT.replace("user:password", f"{HOOK[0]}:{HOOK[1]}"),
    }
    r = requests.post(f"{sim.url}/api/v1/integrations.create", json=integration,
                      headers=admin_headers(sim), timeout=5)
    assert r.status_code == 200, r.text
    sim.post_message("alice", "@atsd_bot", "hello @atsd_bot")
    rid = sim.dm_room("alice", "atsd_bot")
    want = 'User /@alice said "hello @atsd_bot"'
    reply = sim.wait_for(lambda: [m for m in sim.messages(rid)
                                  if m["u"]["username"] == "atsd_bot"], timeout=20)
    assert reply[0]["msg"] == want
    # the webhook was answered with a non-empty 200 (the simulator records the delivery
    # after reading the answer, which may be after the reply the answer's commit woke)
    delivery = sim.wait_for(lambda: sim.deliveries, timeout=5)[0]
    assert delivery["status"] == 200 and delivery["response_body"]
    # the operator's views: an open alert for the seed rule
    alerts = served.api("/api/v1/alerts/query",
                        [{"entity": "rocket.chat", "startDate": "2000-01-01T00:00:00Z",
                          "endDate": "2100-01-01T00:00:00Z"}]).json()
    assert [a["rule"] for a in alerts] == ["rocketchat_reply"]
    # a second message repeats the alert and gets a second reply; nothing doubled
    sim.post_message("alice", "@atsd_bot", "again")
    replies = sim.wait_for(lambda: len([m for m in sim.messages(rid)
                                        if m["u"]["username"] == "atsd_bot"]) >= 2 and
                           [m for m in sim.messages(rid) if m["u"]["username"] == "atsd_bot"],
                           timeout=20)
    assert [m["msg"] for m in replies] == [want, 'User /@alice said "again"']


def test_bot_author_loop_guard(stack: tuple[Simulator, Served]) -> None:
    _sim, served = stack
    body = {"token": None, "bot": False, "channel_id": "c1", "message_id": "self-1",
            "user_id": "u", "user_name": "atsd_bot", "text": "my own reply"}
    body.pop("token")
    r = served.hook("/api/v1/messages/webhook/rocket.chat?command.message=text", json=body)
    assert r.status_code == 200 and r.text.strip()
    assert "text" not in r.json()
    alerts = served.api("/api/v1/alerts/query",
                        [{"entity": "rocket.chat", "startDate": "2000-01-01T00:00:00Z",
                          "endDate": "2100-01-01T00:00:00Z"}]).json()
    assert alerts == []
    log = served.api_get("/api/v1/webhooks/requests?limit=5")
    assert log[0]["path"].startswith("/api/v1/messages/webhook/rocket.chat")
    assert "bot" in str(log[0]).lower()


def test_sync_reply_in_the_response(stack: tuple[Simulator, Served]) -> None:
    _sim, served = stack
    body = {"bot": False, "channel_id": "c1", "message_id": "sync-1", "user_id": "u",
            "user_name": "bob", "text": "sync please"}
    r = served.hook("/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text",
                    json=body)
    assert r.status_code == 200
    assert r.json()["text"] == "sync: sync please"
