"""The realtime API behaves like Meteor/Rocket.Chat: handshake, heartbeat, methods, streams."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from websockets.exceptions import ConnectionClosed

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, bot_sees_a_new_dm, sha256, uid

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


# -- streams ------------------------------------------------------------------------------


def test_subscriptions_ready_added_and_nosub(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        early = ddp.sub("stream-room-messages", "__my_messages__", False)
        assert early["msg"] == "nosub" and early["error"]["error"] == "not-allowed"
        ddp.login("bot", "bot-pw")
        ready = ddp.sub("stream-room-messages", "__my_messages__", True)
        added = ddp.frames[-2]
        assert added == {"msg": "added", "collection": "stream-room-messages", "id": "id",
                         "fields": {"eventName": "__my_messages__"}}  # fmt: skip
        assert ready["msg"] == "ready"
        other = ddp.sub("stream-notify-user", "someone-else/rooms-changed", False)
        assert other["msg"] == "nosub"
        unknown = ddp.sub("stream-nope", "x", False)
        assert unknown["error"]["reason"] == "Subscription 'stream-nope' not found"
        ddp.send({"msg": "unsub", "id": ready["subs"][0]})
        assert ddp.until(lambda f: f["msg"] == "nosub" and "error" not in f) == {
            "msg": "nosub",
            "id": ready["subs"][0],
        }


def test_my_messages_events_with_meta_and_no_self_echo(sim: Simulator) -> None:
    sim.create_channel("ops", ["alice"])
    dm = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        ddp.sub("stream-room-messages", "__my_messages__", {"useCollection": False, "args": []})
        sim.post_message("alice", "#ops", "in a channel the bot has not joined")
        event = ddp.changed("stream-room-messages")
        message, meta = event["fields"]["args"]
        assert event["id"] == "id" and event["fields"]["eventName"] == "__my_messages__"
        assert meta == {"roomParticipant": False, "roomType": "c", "roomName": "ops"}
        assert isinstance(message["ts"]["$date"], int)
        ddp.call("sendMessage", {"rid": dm, "msg": "my own"})
        sim.post_message("alice", dm, "to the bot")
        event = ddp.changed("stream-room-messages")
        assert event["fields"]["args"][0]["msg"] == "to the bot"
        assert event["fields"]["args"][1] == {"roomParticipant": True, "roomType": "d"}
        echoed = [f for f in ddp.frames if f.get("msg") == "changed"
                  and f["fields"]["args"][0].get("msg") == "my own"]  # fmt: skip
        assert echoed == []


def test_room_stream_and_notify_user_on_new_dm(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        me, rid = bot_sees_a_new_dm(sim, ddp)
        room_event = ddp.changed("stream-notify-user", f"{me}/rooms-changed")
        assert room_event["fields"]["args"][0] == "inserted"
        assert room_event["fields"]["args"][1]["_id"] == rid
        sub_event = ddp.changed("stream-notify-user", f"{me}/subscriptions-changed")
        assert sub_event["fields"]["args"][0] == "inserted"
        assert sub_event["fields"]["args"][1]["rid"] == rid
        ddp.sub("stream-room-messages", rid, False)
        sim.post_message("alice", rid, "hi")
        assert ddp.changed("stream-room-messages", rid)["fields"]["args"][0]["msg"] == "hi"


def test_typing_is_bridged_between_legacy_and_current_events(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as bot, DDP(sim.ws_url) as alice:
        bot.recv()
        alice.recv()
        bot.login("bot", "bot-pw")
        alice.login("alice", "alice-pw")
        alice.sub("stream-notify-room", f"{rid}/typing", False)
        alice.sub("stream-notify-room", f"{rid}/user-activity", False)
        answer = bot.call("stream-notify-room", f"{rid}/user-activity", "bot", ["user-typing"], {})
        assert "result" not in answer and "error" not in answer
        assert alice.changed("stream-notify-room", f"{rid}/typing")["fields"]["args"] == [
            "bot",
            True,
        ]
        activity = alice.changed("stream-notify-room", f"{rid}/user-activity")["fields"]["args"]
        assert activity == ["bot", ["user-typing"], {}]


# -- faults -------------------------------------------------------------------------------


def test_drop_connections_closes_every_socket(sim: Simulator) -> None:
    with DDP(sim.ws_url) as one, DDP(sim.ws_url) as two:
        one.recv()
        two.recv()
        assert sim.drop_connections() == 2
        for ddp in (one, two):
            with pytest.raises(ConnectionClosed):
                ddp.recv(timeout=3)


def test_pause_stream_holds_frames_and_answers(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        sim.pause_stream(2.0)
        ddp.send({"msg": "ping", "id": "1"})
        with pytest.raises(TimeoutError):
            ddp.recv(timeout=0.5)  # a stalled server answers nothing ...
        assert ddp.recv(timeout=10) == {"msg": "pong", "id": "1"}  # ... until it recovers


def test_frames_are_compact_json_text(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        assert json.loads(ddp.raw[0])["msg"] == "connected" and " " not in ddp.raw[0]


def test_edits_are_streamed_again_with_edited_at(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    with DDP(sim.ws_url) as alice, DDP(sim.ws_url) as bot:
        alice.recv()
        bot.recv()
        alice.login("alice", "alice-pw")
        bot.login("bot", "bot-pw")
        bot.sub("stream-room-messages", rid, False)
        sent = alice.call("sendMessage", {"rid": rid, "msg": "typo"})["result"]
        assert bot.changed("stream-room-messages", rid)["fields"]["args"][0]["msg"] == "typo"
        edited = alice.call("updateMessage", {"_id": sent["_id"], "rid": rid, "msg": "fixed"})
        assert "result" not in edited and "error" not in edited
        again = bot.changed("stream-room-messages", rid)["fields"]["args"][0]
        assert (again["_id"], again["msg"]) == (sent["_id"], "fixed")
        assert isinstance(again["editedAt"]["$date"], int)
        refused = bot.call("updateMessage", {"_id": sent["_id"], "rid": rid, "msg": "mine now"})
        assert refused["error"]["error"] == "error-action-not-allowed"


def test_odd_parameters_never_break_the_session(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        odd: list[tuple[str, list[object]]] = [
            ("loadHistory", ["GENERAL", None, "x"]), ("rooms/get", ["x"]),
            ("sendMessage", [None]), ("createDirectMessage", [1]),
            ("stream-notify-room", [1, 2]), ("setReaction", [":x:", "nope"]),
        ]  # fmt: skip
        for method, params in odd:
            answer = ddp.call(method, *params)
            assert "result" in answer or answer.get("error", {}).get("error") != 500, method
        assert ddp.call("getRoomIdByNameOrId", "general")["result"] == "GENERAL"


def test_the_hubot_sdk_sequence(sim: Simulator) -> None:
    """What @rocket.chat/sdk 0.2.9 + hubot-rocketchat 2.0.0 send (reference §3.8)."""
    with DDP(sim.ws_url, {"msg": "connect", "version": "pre2", "support": ["pre2"]}) as ddp:
        assert ddp.recv()["msg"] == "connected"
        assert ddp.sub("meteor.loginServiceConfiguration")["msg"] == "ready"
        login = ddp.call("login", {"password": "bot-pw", "user": {"username": "bot"}})
        assert login["result"]["id"] == uid(sim, "bot")
        rid = ddp.call("getRoomIdByNameOrId", "GENERAL")["result"]
        assert ddp.call("joinRoom", rid)["result"] is True
        ready = ddp.sub("stream-room-messages", "__my_messages__", True)
        assert ready["msg"] == "ready" and ddp.frames[-2]["msg"] == "added"
        sim.post_message("alice", "#general", "hello hubot")
        event = ddp.changed("stream-room-messages", "__my_messages__")
        message, meta = event["fields"]["args"]
        assert message["msg"] == "hello hubot"
        assert meta == {"roomParticipant": True, "roomType": "c", "roomName": "general"}
        sent = ddp.call("sendMessage", {"msg": "hi", "bot": {"i": "js.SDK"}, "rid": rid})
        assert sent["result"]["bot"] == {"i": "js.SDK"}
        dm = ddp.call("createDirectMessage", "alice")["result"]
        assert dm["t"] == "d" and sorted(dm["usernames"]) == ["alice", "bot"]
