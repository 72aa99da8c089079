"""Buttons (attachment actions) and clicks, threads with `Threads_enabled`, and the settings
and message-inspection controls (reference §4, §4.1)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, Receiver, outgoing, rest_login, uid
from tests.simulator.living import ACK, ALERT_ATTACHMENTS, RUNBOOK, call, control, start


@pytest.fixture
def sim(rc_server_factory: Callable[..., Simulator]) -> Simulator:
    return start(rc_server_factory)


def post_alert(sim: Simulator, route: str = "chat.postMessage") -> dict[str, object]:
    if route == "chat.postMessage":
        body = {"roomId": "GENERAL", "text": "ALERT disk", "attachments": ALERT_ATTACHMENTS}
        answer = call(sim, "bot", route, **body)
    else:
        message = {"rid": "GENERAL", "msg": "ALERT disk", "attachments": ALERT_ATTACHMENTS}
        answer = call(sim, "bot", route, message=message)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["message"])


@pytest.mark.parametrize("route", ["chat.postMessage", "chat.sendMessage"])
def test_buttons_are_stored_and_answered_as_sent(sim: Simulator, route: str) -> None:
    message = post_alert(sim, route)
    assert message["attachments"] == ALERT_ATTACHMENTS
    assert sim.message(str(message["_id"]))["attachments"] == ALERT_ATTACHMENTS


def test_attachment_msg_becomes_text_on_post_message(sim: Simulator) -> None:
    body = {"roomId": "GENERAL", "text": "x", "attachments": [{"msg": "  details  "}]}
    message = call(sim, "bot", "chat.postMessage", **body).json()["message"]
    assert message["attachments"] == [{"text": "details"}]


def test_bad_buttons_are_refused(sim: Simulator) -> None:
    for url in ("/relative/path", "javascript:alert(1)"):
        action = {**RUNBOOK, "url": url}
        body = {"roomId": "GENERAL", "text": "x", "attachments": [{"actions": [action]}]}
        answer = call(sim, "bot", "chat.postMessage", **body)
        assert answer.status_code == 400
        assert answer.json() == {"success": False, "error": "Invalid href value provided"}
    typed = {**ACK, "msg_in_chat_window": "yes"}
    body = {"roomId": "GENERAL", "text": "x", "attachments": [{"actions": [typed]}]}
    answer = call(sim, "bot", "chat.postMessage", **body).json()
    assert answer["error"].startswith("Match error: Expected boolean, got string")
    assert [m["msg"] for m in sim.messages("GENERAL") if m.get("u", {}).get("username") == "bot"
            and not m.get("t")] == []  # fmt: skip


def test_a_chat_window_button_click_posts_as_the_clicking_user(
    sim: Simulator, receiver: Receiver
) -> None:
    outgoing(sim, rest_login(sim, "admin", "admin"), urls=[receiver.url],
             channel="all_public_channels")  # fmt: skip
    alert = post_alert(sim)
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        ddp.sub("stream-room-messages", "GENERAL", False)
        clicked = sim.click("alice", str(alert["_id"]), "Acknowledge")
        assert clicked is not None and clicked["msg"] == "ack 42" and clicked["rid"] == "GENERAL"
        assert clicked["u"]["username"] == "alice" and "attachments" not in clicked
        heard = ddp.changed("stream-room-messages", "GENERAL")["fields"]["args"][0]
        assert heard["_id"] == clicked["_id"] and heard["msg"] == "ack 42"
        assert heard["u"]["_id"] == uid(sim, "alice")
    sim.wait_for(lambda: any(h.json()["text"] == "ack 42" for h in receiver.hits))
    hook = next(h.json() for h in receiver.hits if h.json()["text"] == "ack 42")
    assert (hook["user_name"], hook["bot"], hook["message_id"]) == ("alice", False, clicked["_id"])


def test_other_buttons_change_nothing_on_the_server(sim: Simulator) -> None:
    quoted = {**ACK, "text": "Quote", "msg_processing_type": "respondWithQuotedMessage"}
    off = {**ACK, "text": "Off", "msg_in_chat_window": False}
    attachments = copy.deepcopy(ALERT_ATTACHMENTS)
    attachments[0]["actions"] = [ACK, RUNBOOK, quoted, off]
    body = {"roomId": "GENERAL", "text": "x", "attachments": attachments}
    alert = call(sim, "bot", "chat.postMessage", **body).json()["message"]
    before = len(sim.messages("GENERAL"))
    assert sim.click("alice", alert["_id"], "Runbook") is None
    assert sim.click("alice", alert["_id"], 2) is None
    assert sim.click("bob", alert["_id"], "Off") is None
    assert len(sim.messages("GENERAL")) == before
    assert sim.click("bob", alert["_id"], 0)["msg"] == "ack 42"  # index 0 = Acknowledge


def test_click_refusals(sim: Simulator) -> None:
    alert = post_alert(sim)
    with pytest.raises(ValueError, match="has no button 'Snooze'; buttons: \\['Acknowledge'"):
        sim.click("alice", str(alert["_id"]), "Snooze")
    with pytest.raises(ValueError, match="no message with id"):
        sim.click("alice", "nope", "Acknowledge")
    secret = sim.create_channel("secret", ["alice"], private=True)
    hidden = call(sim, "alice", "chat.postMessage", roomId=secret["_id"], text="x",
                  attachments=ALERT_ATTACHMENTS).json()["message"]  # fmt: skip
    with pytest.raises(ValueError, match="bob cannot see room"):
        sim.click("bob", hidden["_id"], "Acknowledge")


def test_click_over_http(sim: Simulator) -> None:
    alert = post_alert(sim)
    body = {"username": "alice", "messageId": alert["_id"], "button": "Acknowledge"}
    answer = control(sim, "POST", "click", json=body)
    assert answer.status_code == 200 and answer.json()["message"]["msg"] == "ack 42"
    assert answer.json()["message"]["ts"].endswith("Z")
    link = control(sim, "POST", "click", json={**body, "button": 1}).json()
    assert link == {"message": None, "success": True}
    bad = control(sim, "POST", "click", json={**body, "button": True})
    assert bad.status_code == 400 and "label (string) or an index" in bad.json()["error"]
    unknown = control(sim, "POST", "click", json={**body, "username": "nobody"})
    assert unknown.json() == {"success": False, "error": "no such user: nobody"}


def test_thread_replies_count_on_the_parent(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    parent = sim.post_message("bot", rid, "ALERT")
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("bot", "bot-pw")
        ddp.sub("stream-room-messages", rid, False)
        reply = call(sim, "alice", "chat.postMessage", roomId=rid, text="on it",
                     tmid=parent["_id"]).json()["message"]  # fmt: skip
        assert reply["tmid"] == parent["_id"]
        frames = [ddp.changed("stream-room-messages", rid)["fields"]["args"][0] for _ in range(2)]
    assert [f["_id"] for f in frames] == [reply["_id"], parent["_id"]]
    assert frames[1]["tcount"] == 1 and frames[1]["tlm"]["$date"] > 0
    stored = sim.message(parent["_id"])
    assert stored["tcount"] == 1 and stored["tlm"] == sim.message(reply["_id"])["ts"]
    # the parent's author, the DM's members (first reply in a DM), then the replier
    assert stored["replies"] == [uid(sim, "bot"), uid(sim, "alice")]
    second = sim.post_message("bot", rid, "ALERT resolved", tmid=parent["_id"])
    assert sim.message(parent["_id"])["tcount"] == 2 and second["tmid"] == parent["_id"]


def test_threads_disabled(sim: Simulator) -> None:
    parent = sim.post_message("bot", "#general", "ALERT")
    sim.set_settings(Threads_enabled=False)
    refused = call(sim, "alice", "chat.sendMessage",
                   message={"rid": "GENERAL", "msg": "x", "tmid": parent["_id"]})  # fmt: skip
    assert refused.status_code == 400 and refused.json() == {
        "success": False, "error": "not-allowed [error-not-allowed]",
        "errorType": "error-not-allowed", "details": {"method": "sendMessage"},
    }  # fmt: skip
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        ddp.login("alice", "alice-pw")
        answer = ddp.call("sendMessage", {"rid": "GENERAL", "msg": "x", "tmid": parent["_id"]})
        assert answer["error"]["error"] == "error-not-allowed"
    # chat.postMessage (processWebhookMessage) does not check: saved, but no thread counters
    posted = call(sim, "alice", "chat.postMessage", roomId="GENERAL", text="y",
                  tmid=parent["_id"]).json()["message"]  # fmt: skip
    assert posted["tmid"] == parent["_id"] and "tcount" not in sim.message(parent["_id"])


def test_settings_python_and_http(sim: Simulator) -> None:
    assert sim.settings == {
        "Message_AllowEditing": True,
        "Message_AllowEditing_BlockEditInMinutes": 0,
        "Threads_enabled": True,
    }
    with pytest.raises(ValueError, match="unknown setting 'Nope'"):
        sim.set_settings(Nope=1)
    with pytest.raises(ValueError, match="must be bool, got 1"):
        sim.set_settings(Threads_enabled=1)
    with pytest.raises(ValueError, match="must be int, got True"):
        sim.set_settings(Message_AllowEditing_BlockEditInMinutes=True)
    changed = control(sim, "POST", "settings", json={"Message_AllowEditing_BlockEditInMinutes": 3})
    assert changed.json()["settings"]["Message_AllowEditing_BlockEditInMinutes"] == 3
    assert sim.settings["Message_AllowEditing_BlockEditInMinutes"] == 3
    assert control(sim, "GET", "settings").json()["settings"] == sim.settings
    bad = control(sim, "POST", "settings", json={"Threads_enabled": "no"})
    assert bad.status_code == 400 and "must be bool" in bad.json()["error"]
    assert control(sim, "POST", "settings", json=[1]).status_code == 400


def test_read_and_age_a_message_over_http(sim: Simulator) -> None:
    sent = sim.post_message("bot", "#general", "alert")
    call(sim, "alice", "chat.react", messageId=sent["_id"], emoji="eyes")
    one = control(sim, "GET", f"messages/{sent['_id']}").json()["message"]
    assert one["reactions"] == {":eyes:": {"usernames": ["alice"]}} and one["ts"].endswith("Z")
    aged = control(sim, "POST", f"messages/{sent['_id']}/age", json={"minutes": 10}).json()
    assert aged["message"]["ts"] < one["ts"]
    missing = control(sim, "GET", "messages/nope")
    assert missing.json() == {"success": False, "error": "no message with id 'nope'"}
    with pytest.raises(KeyError):
        sim.message("nope")


def test_settings_survive_a_restart(rc_server_factory: Callable[..., Simulator],
                                    tmp_path: Path) -> None:  # fmt: skip
    state = str(tmp_path / "rc.json")
    first = rc_server_factory(state_file=state)
    first.set_settings(Threads_enabled=False, Message_AllowEditing_BlockEditInMinutes=7)
    first.stop()
    second = rc_server_factory(state_file=state)
    assert second.settings["Threads_enabled"] is False
    assert second.settings["Message_AllowEditing_BlockEditInMinutes"] == 7
