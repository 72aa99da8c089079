"""The realtime API's streams (room messages, user notifications, typing) and its faults."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, bot_sees_a_new_dm, uid

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
