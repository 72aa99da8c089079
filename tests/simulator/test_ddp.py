"""The realtime API behaves like Meteor/Rocket.Chat: handshake, heartbeat, methods.

Streams and faults: test_ddp_streams.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, sha256, uid

# -- handshake ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "support"),
    [
        ("1", ["1"]),
        ("pre2", ["pre2"]),
        ("1", ["1", "pre2", "pre1"]),
        ("pre1", ["pre1"]),
    ],  # fmt: skip
)
def test_connect_variants_clients_use(sim: Simulator, version: str, support: list[str]) -> None:
    with DDP(sim.ws_url, {"msg": "connect", "version": version, "support": support}) as ddp:
        frame = ddp.recv()
        assert frame["msg"] == "connected" and len(frame["session"]) == 17


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ({"msg": "connect", "version": "2", "support": ["2"]}, "1"),
        ({"msg": "connect", "version": "pre1", "support": ["pre2", "pre1"]}, "pre2"),
        ({"msg": "connect", "version": "1", "support": ["pre2"]}, "1"),
    ],
)
def test_failed_handshakes_close(sim: Simulator, frame: dict[str, object], answer: str) -> None:
    with DDP(sim.ws_url, frame) as ddp:
        assert ddp.recv() == {"msg": "failed", "version": answer}
        with pytest.raises(ConnectionClosed):
            ddp.recv()


def test_frames_before_connect_and_garbage(sim: Simulator) -> None:
    with DDP(sim.ws_url, False) as ddp:  # type: ignore[arg-type]
        ddp.send({"msg": "method", "method": "login", "id": "1", "params": []})
        assert ddp.recv()["reason"] == "Must connect first"
        ddp.ws.send("{not json")
        assert ddp.recv() == {"msg": "error", "reason": "Parse error"}
        ddp.send({"msg": "connect", "version": "1", "support": ["1"]})
        assert ddp.recv()["msg"] == "connected"
        ddp.send({"msg": "connect", "version": "1", "support": ["1"]})
        assert ddp.recv()["reason"] == "Already connected"
        ddp.send({"msg": "bogus"})
        assert ddp.recv() == {
            "msg": "error",
            "reason": "Bad request",
            "offendingMessage": {"msg": "bogus"},
        }


def test_server_id_greeting_only_when_asked(rc_server_factory: Callable[..., Simulator]) -> None:
    old = rc_server_factory(send_server_id=True)
    with DDP(old.ws_url) as ddp:
        assert ddp.ws.recv(timeout=5) == '{"server_id":"0"}'
        assert ddp.recv()["msg"] == "connected"


def test_pong_echoes_the_id_only_when_given(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.send({"msg": "ping", "id": "abc"})
        assert ddp.recv() == {"msg": "pong", "id": "abc"}
        ddp.send({"msg": "ping"})
        assert ddp.recv() == {"msg": "pong"}


def test_server_pings_after_silence_and_closes_without_pong(
    rc_server_factory: Callable[..., Simulator],
) -> None:
    fast = rc_server_factory(ping_interval=0.3, ping_timeout=0.3)
    with DDP(fast.ws_url) as answering, DDP(fast.ws_url) as silent:
        answering.recv()
        silent.recv()
        assert answering.recv(timeout=3) == {"msg": "ping"}
        answering.send({"msg": "pong"})
        assert silent.recv(timeout=3) == {"msg": "ping"}
        with pytest.raises(ConnectionClosed):
            silent.recv(timeout=3)
        assert answering.recv(timeout=3) == {"msg": "ping"}  # still alive, pinged again


# -- methods ------------------------------------------------------------------------------


def test_login_with_digest_sends_user_then_updated_then_result(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        result = ddp.login("bot", "bot-pw")
        kinds = [f["msg"] for f in ddp.frames[1:]]
        assert kinds == ["added", "updated", "result"]
        assert ddp.frames[1]["collection"] == "users" and ddp.frames[1]["id"] == uid(sim, "bot")
        assert set(result["result"]) == {"id", "token", "tokenExpires", "type"}
        assert result["result"]["type"] == "password"
        assert isinstance(result["result"]["tokenExpires"]["$date"], int)


def test_login_plaintext_resume_and_personal_access_token(sim: Simulator) -> None:
    pat = sim.login_token("bot")[1]
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        plain = ddp.call("login", {"user": {"username": "bot"}, "password": "bot-pw"})
        token = plain["result"]["token"]
        resumed = ddp.call("login", {"resume": token})
        assert resumed["result"]["type"] == "resume"
        assert ddp.call("login", {"resume": pat})["result"]["id"] == uid(sim, "bot")


def test_wrong_password_and_totp_errors(sim: Simulator) -> None:
    sim.create_user("secure", "pw", two_factor=True)
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        error = ddp.login("bot", "wrong")["error"]
        reason = "Incorrect login or password"
        assert error == {
            "isClientSafe": True, "error": 401, "reason": reason,
            "message": f"{reason} [401]", "errorType": "Meteor.Error",
        }  # fmt: skip
        totp = ddp.login("secure", "pw")["error"]
        assert totp["error"] == "totp-required" and totp["details"]["method"] == "totp"
        login = {
            "user": {"username": "secure"},
            "password": {"digest": sha256("pw"), "algorithm": "sha-256"},
        }
        ok = ddp.call("login", {"totp": {"login": login, "code": sim.totp_code("secure")}})
        assert ok["result"]["id"] == uid(sim, "secure")


def test_unknown_method_and_malformed_calls(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        error = ddp.call("nope")["error"]
        assert (error["error"], error["reason"]) == (404, "Method 'nope' not found")
        assert (
            ddp.call("sendMessage", {"rid": "x", "msg": "y"})["error"]["error"]
            == "error-invalid-user"
        )
        ddp.send({"msg": "method", "method": "x", "id": 1, "params": []})
        assert ddp.until(lambda f: f["msg"] == "error")["reason"] == "Malformed method invocation"


def test_send_message_result_and_idempotent_id(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        first = ddp.call("sendMessage", {"_id": "abcdef123456", "rid": rid, "msg": "hello"})
        assert first["result"]["_id"] == "abcdef123456" and "$date" in first["result"]["ts"]
        again = ddp.call("sendMessage", {"_id": "abcdef123456", "rid": rid, "msg": "hello"})
        assert again == {"msg": "result", "id": again["id"]} and "result" not in again
        bad = ddp.call("sendMessage", {"rid": rid, "msg": "x", "alias": "nope"})
        assert bad["error"]["reason"] == "Match failed"
    assert [m["msg"] for m in sim.messages(rid)] == ["hello"]


def test_send_errors_are_swallowed_into_an_ephemeral_message(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        ddp.sub("stream-notify-user", f"{uid(sim, 'alice')}/message", False)
        result = ddp.call("sendMessage", {"rid": "no-such-room", "msg": "x"})
        assert "result" not in result and "error" not in result
        ephemeral = ddp.changed("stream-notify-user")["fields"]["args"][0]
        assert ephemeral["u"]["username"] == "rocket.cat" and ephemeral["private"] is True
        secret = sim.create_channel("secret", [], private=True)
        denied = ddp.call("sendMessage", {"rid": secret["_id"], "msg": "x"})
        assert denied["error"]["error"] == "error-not-allowed"


def test_create_dm_room_lookup_history_and_reads(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        dm = ddp.call("createDirectMessage", "bot")["result"]
        ids = sorted([uid(sim, "alice"), uid(sim, "bot")])
        assert dm == {"t": "d", "rid": "".join(ids), "usernames": ["alice", "bot"]}
        assert ddp.call("getRoomIdByNameOrId", "general")["result"] == "GENERAL"
        assert ddp.call("getRoomIdByNameOrId", "nowhere")["error"]["error"] == "error-not-allowed"
        sim.post_message("bot", dm["rid"], "one")
        history = ddp.call("loadHistory", dm["rid"], None, 10, None)["result"]
        assert [m["msg"] for m in history["messages"]] == ["one"]
        subs = ddp.call("subscriptions/get")["result"]
        assert isinstance(subs, list) and {s["rid"] for s in subs} == {"GENERAL", dm["rid"]}
        since = ddp.call("rooms/get", {"$date": 0})["result"]
        assert set(since) == {"update", "remove"}


def test_rate_limited_sends_answer_too_many_requests(sim: Simulator) -> None:
    from tests.rocketchat_server.ratelimit import Rule

    assert sim.runtime.limiter.rules["sendMessage"] == Rule(5, 1.0)  # the real default
    # Same count over a longer window, so that a slow machine cannot cross the window.
    sim.set_rate_limit("sendMessage", 5, 60.0)
    rid = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        answers = [ddp.call("sendMessage", {"rid": rid, "msg": f"m{i}"}) for i in range(6)]
        assert all("result" in a for a in answers[:5])
        error = answers[5]["error"]
        assert error["error"] == "too-many-requests"
        assert 0 < error["details"]["timeToReset"] <= 60_000
        assert error["message"].endswith("[too-many-requests]")


def test_bots_bypass_limits_unless_forced(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        assert all(
            "result" in ddp.call("sendMessage", {"rid": rid, "msg": str(i)}) for i in range(8)
        )
        sim.force_rate_limit("sendMessage", 2)
        errors = [ddp.call("sendMessage", {"rid": rid, "msg": "x"}).get("error") for _ in range(3)]
        assert [e and e["error"] for e in errors] == [
            "too-many-requests",
            "too-many-requests",
            None,
        ]
