"""For every recorded fixture the simulator can produce: same keys and same JSON types.

`exact` fixtures must match key for key. For the others every fixture key must be present with
the same type (the simulator may send more, as newer servers do); the keys it deliberately
does not produce are listed per fixture with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, Receiver, bot_sees_a_new_dm, outgoing, rest_login

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rocketchat"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(
    expected: Any, actual: Any, *, exact: bool = False,
    ignore: frozenset[str] = frozenset(), path: str = "$",
) -> None:  # fmt: skip
    assert kind(actual) == kind(expected), f"{path}: {kind(actual)} != {kind(expected)}"
    if isinstance(expected, dict):
        wanted = set(expected) - ignore
        missing = wanted - set(actual)
        assert not missing, f"{path}: missing {sorted(missing)}"
        if exact:
            assert set(actual) == wanted, f"{path}: extra {sorted(set(actual) - wanted)}"
        for key in wanted:
            assert_shape(
                expected[key], actual[key], exact=exact, ignore=ignore, path=f"{path}.{key}"
            )
    elif isinstance(expected, list) and expected and actual:
        assert_shape(expected[0], actual[0], exact=exact, ignore=ignore, path=f"{path}[0]")


def test_ddp_login_results(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        password = ddp.login("bot", "bot-pw")
        assert_shape(fixture("ddp-result-login-password.json"), password, exact=True)
        resumed = ddp.call("login", {"resume": password["result"]["token"]})
        assert_shape(fixture("ddp-result-login-resume.json"), resumed, exact=True)
        error = ddp.login("bot", "wrong")
        # Current servers answer 401 "Incorrect login or password" and mark the error client-safe.
        assert_shape(fixture("ddp-result-login-error-incorrect-password.json"), error)


def test_ddp_send_message_dm_and_subscriptions(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        dm = ddp.call("createDirectMessage", "bot")
        assert_shape(fixture("ddp-result-createDirectMessage.json"), dm, exact=True)
        sent = ddp.call("sendMessage", {"_id": "8gMsLe9A7pZjo2D2iB", "rid": dm["result"]["rid"],
                                        "msg": "Hello World!"})  # fmt: skip
        expected = fixture("ddp-result-sendMessage.json")
        assert_shape(expected, sent)
        assert sent["result"]["md"] == expected["result"]["md"]
        subs = ddp.call("subscriptions/get")
        # The fixture's first entry is a private group owned by the user: it has `roles`.
        dm_entry = fixture("ddp-result-subscriptions-get.json")["result"][3]
        assert_shape(dm_entry, next(s for s in subs["result"] if s["t"] == "d"))
        since = ddp.call("subscriptions/get", {"$date": 0})
        assert_shape({"update": [dm_entry], "remove": []}, since["result"])


def test_ddp_streams(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        me, rid = bot_sees_a_new_dm(sim, ddp)
        inserted = ddp.changed("stream-notify-user", f"{me}/rooms-changed")
        assert_shape(fixture("ddp-changed-notify-user-rooms-changed-dm-inserted.json"), inserted)
        sub = ddp.changed("stream-notify-user", f"{me}/subscriptions-changed")
        expected = fixture("ddp-changed-notify-user-subscriptions-changed-inserted.json")
        assert_shape(expected, sub)
        ddp.sub("stream-room-messages", rid, False)
        sim.post_message("alice", rid, "rbot text here")
        message = ddp.changed("stream-room-messages", rid)
        assert_shape(fixture("ddp-changed-stream-room-messages.json"), message)
        ready = ddp.sub("stream-room-messages", "__my_messages__", False)
        ddp.send({"msg": "unsub", "id": ready["subs"][0]})
        nosub = ddp.until(lambda f: f.get("msg") == "nosub")
        assert_shape(fixture("ddp-nosub-after-unsub.json"), nosub, exact=True)
        ddp.send({"msg": "ping"})
        assert_shape(fixture("ddp-pong.json"), ddp.until(lambda f: f["msg"] == "pong"), exact=True)


def test_ddp_errors(sim: Simulator) -> None:
    sim.create_user("secure", "pw", two_factor=True)
    rid = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        totp = ddp.login("secure", "pw")
        # The fixture is the e-mail method (codeCount/codeExpires); TOTP has no such details.
        assert_shape(fixture("ddp-result-error-totp-required.json"), totp,
                     ignore=frozenset({"codeCount", "codeExpires"}))  # fmt: skip
        ddp.login("alice", "alice-pw")
        sim.force_rate_limit("sendMessage", 1)
        limited = ddp.call("sendMessage", {"rid": rid, "msg": "x"})
        assert_shape(fixture("ddp-result-error-too-many-requests.json"), limited, exact=True)


def test_outgoing_webhook_bodies(sim: Simulator, receiver: Receiver) -> None:
    admin = rest_login(sim, "admin", "admin")
    sim.create_channel("THANG-TEST-2", ["alice", "bot"], private=True)
    outgoing(sim, admin, urls=[receiver.url], channel="all_private_groups", token="ir7hozblv4")
    sim.post_message("alice", "#THANG-TEST-2", "hi")
    sim.post_message("bot", "#THANG-TEST-2", "", attachments=[{"title": "mozilla.pdf"}])
    sim.wait_for(lambda: len(receiver.hits) == 2)
    texts = sorted(receiver.hits, key=lambda h: h.json()["text"], reverse=True)
    names = ("outgoing-webhook-sendmessage.json", "outgoing-webhook-sendmessage-media-message.json")
    for name, hit in zip(names, texts, strict=True):
        expected = fixture(name)
        assert_shape(expected, hit.json(), exact=True)
        assert list(hit.json()) == list(expected), "same key order as Rocket.Chat sends"
    assert texts[1].json()["text"] == ""


def test_rest_login_and_users(sim: Simulator) -> None:
    login = requests.post(f"{sim.url}/api/v1/login", json={"user": "admin", "password": "admin"},
                          timeout=5).json()  # fmt: skip
    assert_shape(fixture("rest-login-response.json"), login)
    bad = requests.post(
        f"{sim.url}/api/v1/login", json={"user": "admin", "password": "no"}, timeout=5
    )
    assert bad.status_code == 401
    assert_shape(fixture("rest-login-error-unauthorized-7.6.json"), bad.json(), exact=True)
    admin = {"X-User-Id": login["data"]["userId"], "X-Auth-Token": login["data"]["authToken"]}
    body = {
        "email": "email@user.tld",
        "name": "name",
        "password": "pw",
        "username": "uniqueusername",
    }
    created = requests.post(f"{sim.url}/api/v1/users.create", json=body, headers=admin, timeout=5)
    # Current servers strip `services` from user documents (API.v1.defaultFieldsToExclude).
    no_services = frozenset({"services"})
    assert_shape(fixture("rest-users-create-response.json"), created.json(), ignore=no_services)
    user_id = created.json()["user"]["_id"]
    update = {"userId": user_id, "data": {"name": "new name", "customFields": {"twitter": "x"}}}
    fallback = requests.post(
        f"{sim.url}/api/v1/users.update", json=update, headers=admin, timeout=5
    )
    assert fallback.status_code == 400
    assert_shape(
        fixture("rest-error-totp-required-password-fallback.json"), fallback.json(), exact=True
    )
    headers = {**admin, "x-2fa-code": __import__("hashlib").sha256(b"admin").hexdigest(),
               "x-2fa-method": "password"}  # fmt: skip
    updated = requests.post(
        f"{sim.url}/api/v1/users.update", json=update, headers=headers, timeout=5
    )
    assert_shape(fixture("rest-users-update-response.json"), updated.json(), ignore=no_services)
    info = requests.get(f"{sim.url}/api/v1/users.info?userId={user_id}", headers=admin, timeout=5)
    # Not produced: login history, presence and avatar bookkeeping of a user who never logged in.
    not_produced = frozenset({
        "services", "lastLogin", "statusConnection", "utcOffset", "statusText",
        "avatarETag", "canViewAllInfo", "requirePasswordChange",
    })  # fmt: skip
    assert_shape(fixture("rest-users-info-response.json"), info.json(),
                 ignore=not_produced | {"nickname"})  # fmt: skip


def test_rest_messages_dm_and_integrations(sim: Simulator) -> None:
    admin = rest_login(sim, "admin", "admin")
    posted = requests.post(f"{sim.url}/api/v1/chat.postMessage",
                           json={"channel": "#general", "text": "This is a test!"},
                           headers=admin, timeout=5).json()  # fmt: skip
    assert_shape(fixture("rest-chat-postMessage-response.json"), posted)
    assert posted["channel"] == "general"
    sent = requests.post(f"{sim.url}/api/v1/chat.sendMessage",
                         json={"message": {"rid": "GENERAL", "msg": "123456789"}},
                         headers=admin, timeout=5).json()  # fmt: skip
    # `unread` only appears with read receipts (an Enterprise setting, off by default).
    assert_shape(fixture("rest-chat-sendMessage-response.json"), sent, ignore=frozenset({"unread"}))
    dm = requests.post(f"{sim.url}/api/v1/im.create", json={"username": "bot"}, headers=admin,
                       timeout=5).json()  # fmt: skip
    assert_shape(fixture("rest-im-create-response.json"), dm)
    request = fixture("rest-integrations-create-outgoing-request.json")
    request.update({"username": "bot", "urls": ["http://127.0.0.1:9/guggify"]})
    created = requests.post(f"{sim.url}/api/v1/integrations.create", json=request, headers=admin,
                            timeout=5).json()  # fmt: skip
    assert_shape(fixture("rest-integrations-create-outgoing-response.json"), created)
    assert created["integration"]["channel"] == ["#general"]
