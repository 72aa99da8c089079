"""Chat-side faults against the simulator, through a real ``atsd-bot serve`` process.

tests/realtime/ already proves the realtime client alone (in-process) through twenty drops,
a stall it detects itself, a restart back-fill and a 429 storm. This adds what only the whole
service shows: the same faults and the REST API down for a while, all in one run, with the
engine, the outbox and the Rocket.Chat sender of the served process; and the outgoing-webhook
path: every answer is a 200 with a body (Rocket.Chat retries a 2xx with an empty body), and
deliveries repeated after our 200 (a retry whose answer was lost, a duplicate) change nothing.

Assertions everywhere: each chat message stored once (by its message id), each reply the rule
makes in the room exactly once (replies carry a stable ``_id``), nothing left pending.
REST is down 5 s in ``make test``; the ``chaos`` variant keeps it down a full minute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.reliability import expect
from tests.reliability.harness import (
    BOT_PASSWORD,
    BOT_USER,
    HOOK_PASSWORD,
    HOOK_TOKEN,
    HOOK_USER,
    RULE,
    WEBHOOK_PATH,
    ServiceProcess,
    free_port,
    wait_until,
    write_config,
)
from tests.rocketchat_server.control import Simulator

ALICE = "alice"


def realtime_up(service: ServiceProcess) -> bool:
    try:
        health = requests.get(f"{service.base_url}/healthz", timeout=5).json()
    except requests.RequestException:
        return False
    return bool(health.get("paths", {}).get("realtime", {}).get("subscribed"))


def start_world(tmp_path: Path, factory: Callable[..., Simulator], *, realtime: bool,
                rule: str = RULE) -> tuple[Simulator, str, ServiceProcess, str]:
    # heartbeats shortened so that a pause of a couple of seconds outlasts the ping timeout
    sim = factory(ping_interval=0.5, ping_timeout=0.5, retry_scale=0.001)
    sim.create_user(BOT_USER, BOT_PASSWORD, roles=("user", "bot"), join_default_channels=False)
    sim.create_user(ALICE, "alice-pw-1")
    dm = sim.dm_room(ALICE, BOT_USER)
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'atsd.db'}"
    config = write_config(tmp_path, db_url=db_url, sim_url=sim.url, port=port, rule=rule)
    if realtime:
        config.write_text(config.read_text().replace("realtime = false",
                                                     'realtime = true\nchannel_messages = "all"'))
    service = ServiceProcess(config, port, tmp_path).start()
    if realtime:
        wait_until(lambda: realtime_up(service), 60, "the realtime subscription")
    return sim, dm, service, db_url


def check_exactly_once(sim: Simulator, dm: str, db_url: str,
                       plan: list[dict[str, Any]]) -> None:
    wait_until(lambda: set(expect.stored_ids(db_url)) >= {m["id"] for m in plan}, 120,
               "every message stored")
    stored = expect.stored_ids(db_url)
    assert {mid: n for mid, n in stored.items() if n != 1} == {}
    assert set(stored) == {m["id"] for m in plan}
    # Rocket.Chat fires outgoing webhooks concurrently, so they may arrive out of order:
    # the sequence the engine saw is the order of storage
    position = {mid: index for index, mid in enumerate(expect.stored_order(db_url))}
    replies, open_channels = expect.expected(sorted(plan, key=lambda m: position[m["id"]]))
    wait_until(lambda: sum(expect.room_replies(sim, [dm]).values()) >= sum(replies.values()),
               180, "every reply")
    assert expect.room_replies(sim, [dm]) == replies
    assert expect.outbox_texts(db_url) == replies
    assert expect.open_alert_channels(db_url) == sorted(open_channels)


def post(sim: Simulator, dm: str, plan: list[dict[str, Any]], text: str) -> None:
    saved = sim.post_message(ALICE, dm, text)
    plan.append({"id": saved["_id"], "channel": dm, "text": text})


def run_realtime_faults(tmp_path: Path, factory: Callable[..., Simulator],
                        rest_down_seconds: float) -> None:
    sim, dm, service, db_url = start_world(tmp_path, factory, realtime=True)
    plan: list[dict[str, Any]] = []
    try:
        for i in range(10):
            post(sim, dm, plan, f"steady {i}")
        for i in range(30):  # connections dropped mid-stream, every third message
            post(sim, dm, plan, "resolved" if i % 7 == 6 else f"drop {i}")
            if i % 3 == 0:
                sim.drop_connections()
        sim.pause_stream(2.0)  # four times the ping timeout
        for i in range(5):
            post(sim, dm, plan, f"paused {i}")
        wait_until(lambda: realtime_up(service), 60, "the subscription after the pause")
        # a 429 storm on the replies: 2 sends per half second from now on (the realtime tests
        # do the same in-process); the sender follows the server's reset time
        sim.set_rate_limit("chat.sendMessage", 2, 0.5, force=True)
        for i in range(10):
            post(sim, dm, plan, f"storm {i}")
        sim.rest_down(rest_down_seconds)
        for i in range(10):
            post(sim, dm, plan, "resolved" if i == 4 else f"rest down {i}")
        check_exactly_once(sim, dm, db_url, plan)
    finally:
        service.terminate()
    print(f"\nrealtime faults: {len(plan)} messages, REST down {rest_down_seconds:g}s, "
          "nothing lost or doubled")


def test_realtime_faults_through_the_service(
        tmp_path: Path, rc_server_factory: Callable[..., Simulator]) -> None:
    run_realtime_faults(tmp_path, rc_server_factory, rest_down_seconds=5.0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_realtime_faults_chaos_rest_down_a_minute(
        tmp_path: Path, rc_server_factory: Callable[..., Simulator]) -> None:
    run_realtime_faults(tmp_path, rc_server_factory, rest_down_seconds=60.0)


def admin_headers(sim: Simulator) -> dict[str, str]:
    data = requests.post(f"{sim.url}/api/v1/login", json={"user": "admin", "password": "admin"},
                         timeout=10).json()["data"]
    return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


def test_outgoing_webhook_retries_and_duplicates_change_nothing(
        tmp_path: Path, rc_server_factory: Callable[..., Simulator]) -> None:
    # a plain integration (no script) posts the text as a field, which becomes tags.text
    rule = RULE.replace("message != 'resolved'", "tags.text != 'resolved'")
    sim, dm, service, db_url = start_world(tmp_path, rc_server_factory, realtime=False,
                                           rule=rule)
    url = service.base_url.replace("http://", f"http://{HOOK_USER}:{HOOK_PASSWORD}@")
    hook = {"type": "webhook-outgoing", "name": "atsd", "enabled": True, "event": "sendMessage",
            "username": BOT_USER, "channel": f"@{BOT_USER}", "scriptEnabled": False,
            "urls": [url + WEBHOOK_PATH], "token": HOOK_TOKEN, "retryFailedCalls": True,
            "retryCount": 5, "retryDelay": "powers-of-ten"}
    created = requests.post(f"{sim.url}/api/v1/integrations.create", json=hook,
                            headers=admin_headers(sim), timeout=10)
    assert created.status_code == 200, created.text
    plan: list[dict[str, Any]] = []
    try:
        for i in range(40):
            post(sim, dm, plan, "resolved" if i % 6 == 5 else f"hook {i}")
        check_exactly_once(sim, dm, db_url, plan)
        bodies = [(d, d["body"] if isinstance(d.get("body"), dict)
                   else json.loads(d.get("body") or "{}")) for d in sim.deliveries]
        ours = [(d, body) for d, body in bodies if body.get("user_name") == ALICE]
        assert len(ours) == len(plan)  # one delivery each: no retry was needed
        assert all(d["status"] == 200 for d, _ in ours)
        # Rocket.Chat retries a 2xx with an empty body; ours always has one. A retry whose
        # answer was lost, and plain duplicates, are answered 200 and change nothing.
        for _, body in ours:
            for _ in range(2):
                again = requests.post(service.base_url + WEBHOOK_PATH, json=body,
                                      auth=(HOOK_USER, HOOK_PASSWORD), timeout=10)
                assert again.status_code == 200 and again.json() == {"status": "duplicate"}
        check_exactly_once(sim, dm, db_url, plan)
    finally:
        service.terminate()


def test_a_rate_limited_login_at_start_is_not_a_refusal(
        rc_server_factory: Callable[..., Simulator]) -> None:
    """Found by the crash test: after a few quick restarts Rocket.Chat rate-limits the login;
    the start-up probe took that 429 for refused credentials and serve exited with code 3."""
    from bot.config import RocketChatSettings
    from bot.errors import ChatUnavailable
    from bot.rest.probe import probe

    sim = rc_server_factory()
    sim.create_user(BOT_USER, BOT_PASSWORD, roles=("user", "bot"))
    settings = RocketChatSettings(url=sim.url, user=BOT_USER, password=BOT_PASSWORD)
    sim.force_rate_limit("login", 1)
    with pytest.raises(ChatUnavailable, match="429"):
        probe(settings)
    assert probe(settings).username == BOT_USER  # and the next start checks them
