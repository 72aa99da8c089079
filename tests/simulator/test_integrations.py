"""Outgoing integrations fire, target, retry and reply the way Rocket.Chat's triggerHandler does."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import SEED_SCRIPT, Hit, Receiver, outgoing, rest_login

FAST = {"retry_scale": 0.001}


@pytest.fixture
def sim(rc_server_factory: Callable[..., Simulator]) -> Simulator:
    simulator = rc_server_factory(**FAST)
    simulator.create_user("alice", "alice-pw")
    simulator.create_user("bot", "bot-pw", roles=("bot",))
    return simulator


@pytest.fixture
def admin(sim: Simulator) -> dict[str, str]:
    return rest_login(sim, "admin", "admin")


def wait_hits(sim: Simulator, receiver: Receiver, count: int) -> list[Hit]:
    sim.wait_for(lambda: len(receiver.hits) >= count, timeout=20)
    return receiver.hits


def test_dm_to_the_bot_posts_the_exact_body(sim: Simulator, admin: dict[str, str],
                                            receiver: Receiver) -> None:  # fmt: skip
    hook = outgoing(sim, admin, urls=[receiver.url], token="s3cret")
    sent = sim.post_message("alice", "@bot", "hello bot")
    hit = wait_hits(sim, receiver, 1)[0]
    body = hit.json()
    alice = sim.world.user_by_username("alice")
    assert alice is not None
    assert list(body) == ["token", "bot", "channel_id", "message_id", "timestamp", "user_id",
                          "user_name", "text", "siteUrl"]  # fmt: skip
    assert body["token"] == "s3cret" and body["bot"] is False
    assert body["channel_id"] == sent["rid"] and "channel_name" not in body
    assert body["message_id"] == sent["_id"]
    assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 24
    assert (body["user_id"], body["user_name"], body["text"]) == (alice.id, "alice", "hello bot")
    assert body["siteUrl"] == f"{sim.url}/"
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.headers["User-Agent"].startswith("Mozilla/5.0 (X11; Linux x86_64)")
    assert "Authorization" not in hit.headers
    assert sim.wait_for(lambda: sim.deliveries)[0]["integration_id"] == hook["_id"]


def test_token_is_omitted_when_the_integration_has_none(sim: Simulator, admin: dict[str, str],
                                                        receiver: Receiver) -> None:  # fmt: skip
    outgoing(sim, admin, urls=[receiver.url])
    sim.post_message("alice", "@bot", "hi")
    assert "token" not in wait_hits(sim, receiver, 1)[0].json()


def test_username_target_excludes_the_bots_own_messages(sim: Simulator, admin: dict[str, str],
                                                       receiver: Receiver) -> None:  # fmt: skip
    outgoing(sim, admin, urls=[receiver.url])
    sim.post_message("bot", "@alice", "from the bot")
    sim.post_message("alice", "@bot", "from alice")
    hits = wait_hits(sim, receiver, 1)
    sim.wait_for(lambda: len(sim.messages(sim.dm_room("alice", "bot"))) == 2)
    assert [h.json()["text"] for h in hits] == ["from alice"]


def test_user_id_target_has_no_author_exclusion(sim: Simulator, admin: dict[str, str],
                                                receiver: Receiver) -> None:  # fmt: skip
    bot = sim.world.user_by_username("bot")
    assert bot is not None
    outgoing(sim, admin, urls=[receiver.url], channel=f"@{bot.id}")
    sim.post_message("bot", "@alice", "from the bot")
    assert wait_hits(sim, receiver, 1)[0].json()["user_name"] == "bot"


@pytest.mark.parametrize(
    ("channel", "room", "fires"),
    [
        ("#general", "#general", True),
        ("all_public_channels", "#general", True),
        ("all_direct_messages", "#general", False),
        ("all_direct_messages", "@bot", True),
        ("all_private_groups", "#secret", True),
        ("#secret", "#secret", True),
        ("all_public_channels", "#secret", False),
    ],
)
def test_channel_targeting(sim: Simulator, admin: dict[str, str], receiver: Receiver,
                           channel: str, room: str, fires: bool) -> None:  # fmt: skip
    sim.create_channel("secret", ["alice"], private=True)
    sim.create_channel("markers", ["alice"])
    outgoing(sim, admin, urls=[receiver.url], channel=channel)
    # A second integration hears only the marker. Triggers are chosen in message order, so
    # once the marker's call arrives the ping's integrations were chosen too; their POSTs run
    # concurrently, though, so an expected ping is waited for as well, not assumed to be first.
    outgoing(sim, admin, urls=[receiver.url + "?marker=1"], channel="#markers",
             name="marker")
    sim.post_message("alice", room, "ping")
    sim.post_message("alice", "#markers", "marker")

    def pings() -> list[dict[str, object]]:
        return [hit.json() for hit in receiver.hits
                if hit.query != "marker=1" and hit.json()["text"] == "ping"]  # fmt: skip

    sim.wait_for(lambda: any(hit.query == "marker=1" for hit in receiver.hits)
                 and (not fires or pings()), timeout=20)  # fmt: skip
    if fires:
        assert len(pings()) == 1
        if room.startswith("#"):
            assert pings()[0]["channel_name"] == room[1:]
    else:
        assert pings() == []


def test_trigger_words_are_case_sensitive_raw_prefixes(sim: Simulator, admin: dict[str, str],
                                                       receiver: Receiver) -> None:  # fmt: skip
    outgoing(sim, admin, urls=[receiver.url], triggerWords=["!bot", "atsd"])
    for text in ("hello !bot", "!Bot hi", "!botx hi", "atsd status"):
        sim.post_message("alice", "@bot", text)
    hits = wait_hits(sim, receiver, 2)
    sim.post_message("alice", "@admin", "flush")
    # deliveries run concurrently, as on a real server: their order is not part of the contract
    assert sorted((h.json()["text"], h.json()["trigger_word"]) for h in hits) == [
        ("!botx hi", "!bot"),
        ("atsd status", "atsd"),
    ]


def test_trigger_word_anywhere_is_a_substring_test(sim: Simulator, admin: dict[str, str],
                                                   receiver: Receiver) -> None:  # fmt: skip
    outgoing(sim, admin, urls=[receiver.url], triggerWords=["!bot"], triggerWordAnywhere=True)
    sim.post_message("alice", "@bot", "hello !bot")
    assert wait_hits(sim, receiver, 1)[0].json()["trigger_word"] == "!bot"


def test_thread_reply_carries_tmid(sim: Simulator, admin: dict[str, str],
                                   receiver: Receiver) -> None:  # fmt: skip
    outgoing(sim, admin, urls=[receiver.url])
    parent = sim.post_message("alice", "@bot", "parent")
    sim.post_message("alice", parent["rid"], "reply", tmid=parent["_id"])
    hits = wait_hits(sim, receiver, 2)
    by_text = {h.json()["text"]: h.json().get("tmid") for h in hits}
    assert by_text == {"parent": None, "reply": parent["_id"]}


def test_basic_credentials_in_the_url_become_an_authorization_header(
    sim: Simulator, admin: dict[str, str], receiver: Receiver
) -> None:
    url = receiver.url.replace("http://", "http://hook:p%40ss@")
    outgoing(sim, admin, urls=[url])
    sim.post_message("alice", "@bot", "hi")
    hit = wait_hits(sim, receiver, 1)[0]
    assert hit.headers["Authorization"] == "Basic " + base64.b64encode(b"hook:p@ss").decode()
    delivery = sim.wait_for(lambda: sim.deliveries)[0]
    assert delivery["auth"] == "hook:p@ss" and "@" not in delivery["url"]


def test_the_seed_script_rewrites_url_and_adds_basic_auth(sim: Simulator, admin: dict[str, str],
                                                          receiver: Receiver) -> None:  # fmt: skip
    hook = outgoing(sim, admin, urls=[receiver.url], scriptEnabled=True, script=SEED_SCRIPT)
    assert "scriptError" not in hook and hook["scriptCompiled"]
    sim.post_message("alice", "@bot", "disk full")
    hit = wait_hits(sim, receiver, 1)[0]
    assert hit.query == "message=disk%20full&exclude=text"
    assert hit.headers["Authorization"] == "Basic " + base64.b64encode(b"user:password").decode()
    assert hit.json()["text"] == "disk full"


def test_a_script_can_cancel_and_an_unsupported_script_fails_loudly(
    sim: Simulator, admin: dict[str, str], receiver: Receiver
) -> None:
    cancel = "class Script { prepare_outgoing_request({ request }) { return null; } }"
    outgoing(sim, admin, urls=[receiver.url], scriptEnabled=True, script=cancel)
    weird = "class Script { prepare_outgoing_request({ request }) { while (1) {} } }"
    hook = outgoing(sim, admin, name="weird", urls=[receiver.url], scriptEnabled=True, script=weird)
    assert "while" in hook["scriptError"]["message"]
    sim.post_message("alice", "@bot", "hi")
    sim.wait_for(lambda: sim.deliveries)
    assert receiver.hits == []
    assert sim.deliveries[0]["error"].startswith("script:")


def test_json_reply_is_posted_as_the_integration_user_and_retriggers(
    sim: Simulator, admin: dict[str, str], receiver: Receiver
) -> None:
    def respond(hit: Hit) -> tuple[int, str, str]:
        # Like a well-behaved receiver: answer people, ignore bots (else it would loop forever).
        if hit.json()["bot"]:
            return 200, "{}", "application/json"
        return 200, json.dumps({"text": "pong", "username": "Shown As"}), "application/json"

    receiver.responder = respond
    hook = outgoing(sim, admin, urls=[receiver.url])
    rid = sim.dm_room("alice", "bot")
    sim.post_message("alice", rid, "ping")
    sim.wait_for(lambda: len(sim.messages(rid)) == 2)
    reply = sim.messages(rid)[1]
    assert reply["u"]["username"] == "bot" and reply["msg"] == "pong"
    assert reply["bot"] == {"i": hook["_id"]} and reply["alias"] == "Shown As"
    # The reply is a DM message whose author is the bot: `@bot` excludes it ...
    assert len(wait_hits(sim, receiver, 1)) == 1


def test_reply_retriggers_an_all_direct_messages_integration(
    sim: Simulator, admin: dict[str, str], receiver: Receiver
) -> None:
    receiver.responder = lambda hit: (
        (200, "{}", "application/json") if hit.json()["bot"]
        else (200, '{"text": "pong"}', "application/json")
    )  # fmt: skip
    outgoing(sim, admin, urls=[receiver.url], channel="all_direct_messages")
    sim.post_message("alice", "@bot", "ping")
    hits = wait_hits(sim, receiver, 2)
    assert [(h.json()["text"], h.json()["bot"]) for h in hits] == [("ping", False), ("pong", True)]


def test_bot_field_can_be_the_raw_object_like_old_servers(
    rc_server_factory: Callable[..., Simulator], receiver: Receiver
) -> None:
    sim = rc_server_factory(webhook_bot_as_object=True)
    sim.create_user("bot", "pw", roles=("bot",))
    sim.create_user("alice", "pw")
    admin = rest_login(sim, "admin", "admin")
    outgoing(sim, admin, urls=[receiver.url], channel="all_direct_messages")
    sim.post_message("bot", "@alice", "hi", bot={"i": "js.SDK"})
    assert wait_hits(sim, receiver, 1)[0].json()["bot"] == {"i": "js.SDK"}


def test_non_json_reply_is_not_posted(sim: Simulator, admin: dict[str, str],
                                      receiver: Receiver) -> None:  # fmt: skip
    receiver.default = (200, '{"text": "pong"}', "text/plain")
    outgoing(sim, admin, urls=[receiver.url])
    rid = sim.dm_room("alice", "bot")
    sim.post_message("alice", rid, "ping")
    sim.wait_for(lambda: sim.deliveries)
    assert [m["msg"] for m in sim.messages(rid)] == ["ping"]


def _retry_hook(
    sim: Simulator, admin: dict[str, str], receiver: Receiver, **extra: Any
) -> dict[str, Any]:
    fields = {"urls": [receiver.url], "retryFailedCalls": True, **extra}
    return outgoing(sim, admin, **fields)


@pytest.mark.parametrize(
    "response",
    [
        (200, "", "application/json"),
        (204, "", "text/plain"),
        (404, "nope", "text/plain"),
        (502, "bad gateway", "text/plain"),
    ],  # fmt: skip
)
def test_failures_are_retried_retry_count_times(
    sim: Simulator, admin: dict[str, str], receiver: Receiver, response: tuple[int, str, str]
) -> None:
    receiver.default = response
    hook = _retry_hook(sim, admin, receiver, retryCount=3)
    assert hook["retryDelay"] == "powers-of-ten"
    sim.post_message("alice", "@bot", "hi")
    sim.wait_for(lambda: len(sim.deliveries) == 4)
    assert [d["attempt"] for d in sim.deliveries] == [1, 2, 3, 4]
    assert all(d["status"] == response[0] for d in sim.deliveries)


def test_retry_defaults_to_four_when_no_count_is_given(sim: Simulator, admin: dict[str, str],
                                                       receiver: Receiver) -> None:  # fmt: skip
    hook = _retry_hook(sim, admin, receiver, retryDelay="  Powers-Of-Two ")
    assert (hook["retryCount"], hook["retryDelay"]) == (4, "powers-of-two")


def test_success_needs_a_body_and_is_not_retried(sim: Simulator, admin: dict[str, str],
                                                 receiver: Receiver) -> None:  # fmt: skip
    receiver.responses = [(200, "", "application/json"), (201, "ok", "text/plain")]
    _retry_hook(sim, admin, receiver, retryCount=5)
    sim.post_message("alice", "@bot", "hi")
    sim.wait_for(lambda: len(sim.deliveries) == 2)
    sim.post_message("alice", "@admin", "flush")
    assert [d["status"] for d in sim.deliveries] == [200, 201]


def test_410_disables_and_500_is_not_retried(sim: Simulator, admin: dict[str, str],
                                             receiver: Receiver) -> None:  # fmt: skip
    receiver.responses = [(500, "boom", "text/plain"), (410, "gone", "text/plain")]
    hook = _retry_hook(sim, admin, receiver, retryCount=5)
    sim.post_message("alice", "@bot", "first")
    sim.wait_for(lambda: len(sim.deliveries) == 1)
    sim.post_message("alice", "@bot", "second")
    sim.wait_for(lambda: not sim.integration(hook["_id"])["enabled"])
    sim.post_message("alice", "@bot", "third")
    assert [d["status"] for d in sim.deliveries] == [500, 410]


def test_connection_errors_are_not_retried(sim: Simulator, admin: dict[str, str],
                                           receiver: Receiver) -> None:  # fmt: skip
    url = receiver.url
    receiver.stop()
    _retry_hook(sim, admin, receiver, retryCount=5, urls=[url])
    sim.post_message("alice", "@bot", "hi")
    sim.wait_for(lambda: sim.deliveries)
    assert sim.deliveries[0]["status"] is None and sim.deliveries[0]["error"]
    sim.post_message("alice", "@admin", "flush")
    assert len(sim.deliveries) == 1


def test_retry_delay_schedules() -> None:
    from tests.rocketchat_server.triggers import retry_delay_ms

    assert [retry_delay_ms("powers-of-ten", n) for n in range(4)] == [100, 1000, 10000, 100000]
    assert [retry_delay_ms("powers-of-two", n) for n in range(3)] == [2000, 4000, 8000]
    assert [retry_delay_ms("increments-of-two", n) for n in range(3)] == [2000, 4000, 6000]
    assert retry_delay_ms("whenever", 0) is None


@pytest.mark.parametrize("run_on_edits", [False, True])
def test_edits_fire_only_with_run_on_edits(
    sim: Simulator, admin: dict[str, str], receiver: Receiver, run_on_edits: bool
) -> None:
    outgoing(sim, admin, urls=[receiver.url], runOnEdits=run_on_edits)
    sent = sim.post_message("alice", "@bot", "first")
    wait_hits(sim, receiver, 1)
    alice = rest_login(sim, "alice", "alice-pw")
    edit = {"roomId": sent["rid"], "msgId": sent["_id"], "text": "second"}
    answer = requests.post(f"{sim.url}/api/v1/chat.update", json=edit, headers=alice, timeout=5)
    assert answer.json()["message"]["editedBy"]["username"] == "alice"
    sim.post_message("alice", "@bot", "third")
    hits = wait_hits(sim, receiver, 3 if run_on_edits else 2)
    texts = [(h.json()["text"], h.json().get("isEdited")) for h in hits]
    if run_on_edits:
        assert sorted(texts, key=str) == sorted(
            [("first", None), ("second", True), ("third", None)], key=str
        )
    else:
        assert texts == [("first", None), ("third", None)]


def test_process_outgoing_response_can_post_or_stop(sim: Simulator, admin: dict[str, str],
                                                    receiver: Receiver) -> None:  # fmt: skip
    script = """class Script {
      process_outgoing_response({ request, response }) {
        if (response.content.indexOf('would') >= 0) { return false; }
        return { content: { text: 'status ' + response.status_code + ': ' + response.content } };
      }
    }"""
    # Without `return false` the second (JSON, with text) answer would be posted.
    receiver.responses = [
        (200, "loud", "text/plain"),
        (200, '{"text": "would post"}', "application/json"),
    ]
    outgoing(sim, admin, urls=[receiver.url], scriptEnabled=True, script=script)
    rid = sim.dm_room("alice", "bot")
    sim.post_message("alice", rid, "one")
    sim.wait_for(lambda: len(sim.messages(rid)) == 2)
    assert sim.messages(rid)[1]["msg"] == "status 200: loud"
    sim.post_message("alice", rid, "two")
    sim.wait_for(lambda: len(sim.deliveries) == 2)
    sim.post_message("alice", "@admin", "flush")
    assert [m["msg"] for m in sim.messages(rid)] == ["one", "status 200: loud", "two"]
