"""Editing a message (`chat.update`, DDP `updateMessage`): success body, every refusal, the
re-emission on the stream and the outgoing webhook for edits (reference §4.1, §1.1, §3.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, Receiver, outgoing, rest_login, uid
from tests.simulator.living import call, start

NOT_ALLOWED = {
    "success": False,
    "error": "Message editing not allowed [error-action-not-allowed]",
    "errorType": "error-action-not-allowed",
    "details": {"method": "updateMessage", "action": "Message_editing"},
}


@pytest.fixture
def sim(rc_server_factory: Callable[..., Simulator]) -> Simulator:
    return start(rc_server_factory)


def edit(sim: Simulator, username: str, message: dict[str, Any], text: str,
         **extra: Any) -> Any:  # fmt: skip
    answer = call(sim, username, "chat.update", roomId=message["rid"], msgId=message["_id"],
                  text=text, **extra)  # fmt: skip
    return answer.status_code, answer.json()


def test_an_edit_answers_the_edited_message(sim: Simulator) -> None:
    sent = sim.post_message("bot", "#general", "disk 91%")
    status, body = edit(sim, "bot", sent, "disk 95%", customFields={"alert": "42"})
    assert status == 200 and list(body) == ["message", "success"] and body["success"] is True
    message = body["message"]
    assert (message["_id"], message["rid"], message["msg"]) == (sent["_id"], "GENERAL", "disk 95%")
    assert message["editedBy"] == {"_id": uid(sim, "bot"), "username": "bot"}
    assert message["editedAt"].endswith("Z") and message["_updatedAt"] == message["editedAt"]
    assert message["customFields"] == {"alert": "42"}
    stored = sim.message(sent["_id"])
    assert stored["msg"] == "disk 95%" and stored["editedAt"] > stored["ts"]


def test_the_same_text_changes_nothing(sim: Simulator) -> None:
    sent = sim.post_message("alice", "#general", "same")
    status, body = edit(sim, "bob", sent, "same")  # before any permission check, as on RC
    assert status == 200 and body["message"]["msg"] == "same"
    assert "editedAt" not in body["message"] and "editedAt" not in sim.message(sent["_id"])


def test_unknown_message_and_wrong_room_are_plain_failures(sim: Simulator) -> None:
    sent = sim.post_message("bot", "#general", "x")
    missing = call(sim, "bot", "chat.update", roomId="GENERAL", msgId="nope", text="y")
    assert missing.status_code == 400
    assert missing.json() == {"success": False, "error": 'No message found with the id of "nope".'}
    elsewhere = call(sim, "bot", "chat.update", roomId="other", msgId=sent["_id"], text="y")
    assert elsewhere.json() == {
        "success": False,
        "error": "The room id provided does not match where the message is from.",
    }


def test_bad_bodies_are_invalid_params(sim: Simulator) -> None:
    no_text = call(sim, "bot", "chat.update", roomId="GENERAL", msgId="x")
    assert no_text.status_code == 400
    assert no_text.json()["error"] == "must have required property 'text' [invalid-params]"
    extra = call(sim, "bot", "chat.update", roomId="GENERAL", msgId="x", text="y", attachments=[])
    assert extra.json()["errorType"] == "invalid-params"


def test_someone_elses_message_needs_edit_message(sim: Simulator) -> None:
    sent = sim.post_message("alice", "#general", "mine")
    assert edit(sim, "bob", sent, "yours?") == (400, NOT_ALLOWED)
    assert edit(sim, "bot", sent, "bot's?") == (400, NOT_ALLOWED)  # the bot role cannot either
    status, body = edit(sim, "admin", sent, "moderated")  # admin holds edit-message
    assert status == 200 and body["message"]["editedBy"]["username"] == "admin"


def test_a_room_owner_may_edit_in_that_room_only(sim: Simulator) -> None:
    room = sim.create_channel("ops", ["bob"], owner="alice")
    in_ops = sim.post_message("bob", room["_id"], "bob in ops")
    assert edit(sim, "alice", in_ops, "owner fix")[0] == 200
    in_general = sim.post_message("bob", "#general", "bob in general")
    assert edit(sim, "alice", in_general, "not here") == (400, NOT_ALLOWED)


def test_message_allow_editing_off_blocks_own_edits(sim: Simulator) -> None:
    sent = sim.post_message("bot", "#general", "alert")
    sim.set_settings(Message_AllowEditing=False)
    assert edit(sim, "bot", sent, "resolved") == (400, NOT_ALLOWED)
    assert sim.message(sent["_id"])["msg"] == "alert"
    admins = sim.post_message("admin", "#general", "admin's")
    assert edit(sim, "admin", admins, "still editable")[0] == 200  # edit-message wins


def test_the_edit_window_counts_whole_minutes(sim: Simulator) -> None:
    sim.set_settings(Message_AllowEditing_BlockEditInMinutes=5)
    sent = sim.post_message("alice", "#general", "typo")
    sim.age_message(sent["_id"], 4.9)
    assert edit(sim, "alice", sent, "fix 1")[0] == 200
    sim.age_message(sent["_id"], 0.2)  # 5.1 minutes old
    assert edit(sim, "alice", sent, "fix 2") == (400, NOT_ALLOWED)
    bots = sim.post_message("bot", "#general", "alert")
    sim.age_message(bots["_id"], 60)
    # bypass-time-limit-edit-and-delete: roles bot and app
    assert edit(sim, "bot", bots, "alert, resolved")[0] == 200


def test_the_edit_window_error_as_the_source_throws_it(
    rc_server_factory: Callable[..., Simulator],
) -> None:
    sim = start(rc_server_factory, exact_edit_block_error=True)
    sim.set_settings(Message_AllowEditing_BlockEditInMinutes=1)
    sent = sim.post_message("alice", "#general", "old")
    sim.age_message(sent["_id"], 2)
    status, body = edit(sim, "alice", sent, "new")
    assert status == 400 and body["errorType"] == "error-message-editing-blocked"
    assert body["error"] == "Message editing is blocked [error-message-editing-blocked]"


def test_the_bot_hears_its_own_rest_edit_on_the_stream(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        ddp.sub("stream-room-messages", "GENERAL", False)
        ddp.sub("stream-room-messages", "__my_messages__", False)
        sent = call(sim, "bot", "chat.postMessage", roomId="GENERAL", text="CPU 97%").json()
        first = ddp.changed("stream-room-messages", "GENERAL")["fields"]["args"][0]
        assert first["_id"] == sent["message"]["_id"] and "editedAt" not in first
        edit(sim, "bot", sent["message"], "CPU 97% (acknowledged by alice)")
        again = ddp.changed("stream-room-messages", "GENERAL")["fields"]["args"]
        assert len(again) == 1 and again[0]["_id"] == first["_id"]
        assert again[0]["msg"] == "CPU 97% (acknowledged by alice)"
        assert isinstance(again[0]["editedAt"]["$date"], int)
        assert again[0]["editedBy"] == {"_id": uid(sim, "bot"), "username": "bot"}
        mine = ddp.until(lambda f: f.get("msg") == "changed"
                         and f["fields"]["eventName"] == "__my_messages__"
                         and "editedAt" in f["fields"]["args"][0])["fields"]["args"]  # fmt: skip
        assert mine[0]["_id"] == first["_id"]
        assert mine[1] == {"roomParticipant": True, "roomType": "c", "roomName": "general"}


@pytest.mark.parametrize("run_on_edits", [True, False])
def test_the_webhook_fires_for_edits_only_with_run_on_edits(
    sim: Simulator, receiver: Receiver, run_on_edits: bool
) -> None:
    outgoing(sim, rest_login(sim, "admin", "admin"), urls=[receiver.url],
             channel="all_public_channels", token="t", runOnEdits=run_on_edits)  # fmt: skip
    sent = sim.post_message("alice", "#general", "first")
    sim.wait_for(lambda: len(receiver.hits) == 1)
    edit(sim, "alice", sent, "second")
    sim.post_message("alice", "#general", "marker")  # fires in any case, after the edit

    def edits() -> list[dict[str, object]]:
        return [h.json() for h in receiver.hits if h.json().get("isEdited")]

    # The edit's call and the marker's run concurrently: an expected edit is waited for too.
    sim.wait_for(lambda: any(h.json()["text"] == "marker" for h in receiver.hits)
                 and (not run_on_edits or edits()))  # fmt: skip
    if not run_on_edits:
        assert edits() == []
        return
    assert len(edits()) == 1
    body = edits()[0]
    keys = ["token", "bot", "channel_id", "channel_name", "message_id", "timestamp", "user_id",
            "user_name", "text", "siteUrl", "isEdited"]  # fmt: skip
    assert list(body) == keys
    assert (body["message_id"], body["text"], body["isEdited"]) == (sent["_id"], "second", True)
    # `timestamp` stays the message's `ts`, not the edit time
    assert body["timestamp"] == receiver.hits[0].json()["timestamp"]


def test_ddp_update_message_follows_the_same_rules(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    sent = sim.post_message("alice", rid, "hello")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        unknown = ddp.call("updateMessage", {"_id": "nope", "rid": rid, "msg": "x"})
        assert "error" not in unknown and "result" not in unknown  # RC returns nothing
        moved = ddp.call("updateMessage", {"_id": sent["_id"], "rid": "GENERAL", "msg": "x"})
        assert moved["error"]["error"] == "error-invalid-update-key"
        assert moved["error"]["reason"] == "Cannot update the message rid"
        sim.set_settings(Message_AllowEditing=False)
        refused = ddp.call("updateMessage", {"_id": sent["_id"], "rid": rid, "msg": "x"})
        assert refused["error"]["details"] == NOT_ALLOWED["details"]
        sim.set_settings(Message_AllowEditing=True)
        done = ddp.call("updateMessage", {"_id": sent["_id"], "rid": rid, "msg": "hello!"})
        assert "error" not in done and sim.message(sent["_id"])["msg"] == "hello!"
