"""Reacting (`chat.react`, DDP `setReaction`): storage shape, shouldReact, every refusal and the
re-emission on the stream without any outgoing webhook (reference §4.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, Receiver, outgoing, rest_login
from tests.simulator.living import call, start


@pytest.fixture
def sim(rc_server_factory: Callable[..., Simulator]) -> Simulator:
    return start(rc_server_factory)


def react(sim: Simulator, username: str, message_id: str, emoji: str, **extra: Any) -> Any:
    answer = call(sim, username, "chat.react", messageId=message_id, emoji=emoji, **extra)
    return answer.status_code, answer.json()


def reactions(sim: Simulator, message_id: str) -> Any:
    return sim.message(message_id).get("reactions")


def test_a_reaction_is_stored_under_the_colon_name(sim: Simulator) -> None:
    sent = sim.post_message("alice", "#general", "disk full")
    assert react(sim, "bot", sent["_id"], "eyes") == (200, {"success": True})
    assert reactions(sim, sent["_id"]) == {":eyes:": {"usernames": ["bot"]}}
    assert react(sim, "alice", sent["_id"], ":eyes:")[0] == 200
    assert react(sim, "bot", sent["_id"], "white_check_mark", shouldReact=True)[0] == 200
    assert reactions(sim, sent["_id"]) == {
        ":eyes:": {"usernames": ["bot", "alice"]},
        ":white_check_mark:": {"usernames": ["bot"]},
    }
    old_name = call(sim, "bob", "chat.react", messageId=sent["_id"], reaction="eyes")
    assert old_name.json() == {"success": True}
    assert reactions(sim, sent["_id"])[":eyes:"]["usernames"] == ["bot", "alice", "bob"]


def test_should_react_true_false_and_toggle(sim: Simulator) -> None:
    sent = sim.post_message("alice", "#general", "x")
    react(sim, "bot", sent["_id"], "eyes", shouldReact=True)
    react(sim, "bot", sent["_id"], "eyes", shouldReact=True)  # already there: no change
    assert reactions(sim, sent["_id"]) == {":eyes:": {"usernames": ["bot"]}}
    react(sim, "alice", sent["_id"], "eyes")  # toggles on
    react(sim, "bot", sent["_id"], "eyes", shouldReact=False)
    assert reactions(sim, sent["_id"]) == {":eyes:": {"usernames": ["alice"]}}
    react(sim, "alice", sent["_id"], "eyes")  # toggles off: the empty entry and key go away
    assert "reactions" not in sim.message(sent["_id"])
    react(sim, "bot", sent["_id"], "eyes", shouldReact=None)  # null toggles too
    assert reactions(sim, sent["_id"]) == {":eyes:": {"usernames": ["bot"]}}


def test_unreacting_a_message_without_reactions_adds_it(sim: Simulator) -> None:
    # executeSetReaction: userAlreadyReacted is undefined, not false, when `reactions` is
    # absent, so shouldReact=false does not stop early and setReaction adds the reaction.
    sent = sim.post_message("alice", "#general", "quiet")
    assert react(sim, "bot", sent["_id"], "eyes", shouldReact=False)[0] == 200
    assert reactions(sim, sent["_id"]) == {":eyes:": {"usernames": ["bot"]}}
    react(sim, "alice", sent["_id"], "fire", shouldReact=True)
    react(sim, "bot", sent["_id"], "fire", shouldReact=False)  # `reactions` exists: a no-op
    react(sim, "bot", sent["_id"], "eyes", shouldReact=False)
    assert reactions(sim, sent["_id"]) == {":fire:": {"usernames": ["alice"]}}


def test_refusals(sim: Simulator) -> None:
    sent = sim.post_message("alice", "#general", "x")
    assert react(sim, "bot", "nope", "eyes") == (400, {
        "success": False,
        "error": 'The provided "messageId" does not match any existing message. '
                 "[error-message-not-found]",
        "errorType": "error-message-not-found",
    })  # fmt: skip
    empty = react(sim, "bot", sent["_id"], "")[1]
    assert empty["errorType"] == "error-emoji-param-not-provided"
    assert empty["error"].startswith('The required "emoji" param is missing. [')
    invalid = react(sim, "bot", sent["_id"], "no such emoji")[1]
    assert invalid == {
        "success": False,
        "error": "Invalid emoji provided. [error-not-allowed]",
        "errorType": "error-not-allowed",
        "details": {"method": "setReaction"},
    }
    secret = sim.create_channel("secret", ["alice"], private=True)
    hidden = sim.post_message("alice", secret["_id"], "members only")
    outsider = react(sim, "bob", hidden["_id"], "eyes")[1]
    assert outsider["errorType"] == "not-authorized" and outsider["error"].startswith("Not Auth")
    both = call(sim, "bot", "chat.react", messageId=sent["_id"], emoji="a", reaction="b")
    assert both.json()["error"] == "must match exactly one schema in oneOf [invalid-params]"
    assert "reactions" not in sim.message(sent["_id"])


def test_a_read_only_room_refuses_reactions_from_members(sim: Simulator) -> None:
    created = call(sim, "admin", "channels.create", name="news", members=["bob"], readOnly=True)
    rid = created.json()["channel"]["_id"]
    sent = call(sim, "admin", "chat.postMessage", roomId=rid, text="release").json()["message"]
    refused = react(sim, "bob", sent["_id"], "tada")
    readonly = "You can't send messages because the room is readonly."
    assert refused == (400, {"success": False, "error": readonly})
    assert react(sim, "admin", sent["_id"], "tada")[0] == 200  # post-readonly


def test_a_reaction_is_re_emitted_and_never_fires_a_webhook(
    sim: Simulator, receiver: Receiver
) -> None:
    outgoing(sim, rest_login(sim, "admin", "admin"), urls=[receiver.url],
             channel="all_public_channels", runOnEdits=True)  # fmt: skip
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        ddp.sub("stream-room-messages", "GENERAL", False)
        sent = sim.post_message("alice", "#general", "alert")
        assert ddp.changed("stream-room-messages", "GENERAL")["fields"]["args"][0]["msg"] == "alert"
        sim.wait_for(lambda: len(receiver.hits) == 1)  # so that calls below come after it
        react(sim, "bot", sent["_id"], "eyes")
        again = ddp.changed("stream-room-messages", "GENERAL")["fields"]["args"][0]
        assert again["_id"] == sent["_id"] and "editedAt" not in again
        assert again["reactions"] == {":eyes:": {"usernames": ["bot"]}}
    sim.post_message("alice", "#general", "marker")
    sim.wait_for(lambda: len(receiver.hits) >= 2)
    assert [h.json()["text"] for h in receiver.hits] == ["alert", "marker"]


def test_ddp_set_reaction_takes_should_react(sim: Simulator) -> None:
    sent = sim.post_message("alice", "#general", "x")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        added = ddp.call("setReaction", "eyes", sent["_id"], True)
        assert "error" not in added and "result" not in added
        ddp.call("setReaction", ":eyes:", sent["_id"], True)
        assert reactions(sim, sent["_id"]) == {":eyes:": {"usernames": ["bot"]}}
        ddp.call("setReaction", ":eyes:", sent["_id"])  # toggles off
        assert "reactions" not in sim.message(sent["_id"])
        wrong = ddp.call("setReaction", "bad emoji", "nope")  # the emoji is checked first
        assert wrong["error"]["reason"] == "Invalid emoji provided."
        unknown = ddp.call("setReaction", "eyes", "nope")
        assert unknown["error"]["reason"] == "Not allowed"
