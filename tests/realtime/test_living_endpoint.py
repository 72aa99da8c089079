"""The Rocket.Chat endpoint's living-message rows against a recording fake of the REST client:
buttons, edits rendered from the view, what is not sent twice, refused edits, messages that
are not there yet."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.rest import living as living_chat
from bot.rest.endpoint import RocketChatEndpoint
from bot.rest.errors import RestRejected, RestUnavailable
from bot.rest.living import LivingChat, button_actions
from rules.living import MessageView
from rules.notification import DeliveryError, Notification

ROOT = "atsdbot0000000001"


class FakeRest:
    username: str | None = None

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.refuse_edit: str | None = None

    def me(self) -> dict[str, Any]:
        self.calls.append(("me", None))
        return {"username": "atsd_bot"}

    def chat_send_message(self, message: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("send", message))
        if message.get("tmid") and message["tmid"] not in self.messages:
            raise RestRejected("Invalid message", status=400, error_type="error-invalid-message")
        if message["_id"] in self.messages:
            raise RestRejected("exists", status=400, error_type="error-message-already-exists")
        self.messages[message["_id"]] = dict(message)
        return dict(message)

    def chat_update(self, *, room_id: str, msg_id: str, text: str) -> dict[str, Any]:
        self.calls.append(("update", text))
        if self.refuse_edit:
            raise RestRejected("not allowed", status=400, error_type=self.refuse_edit)
        if msg_id not in self.messages:
            raise RestRejected(f'No message found with the id of "{msg_id}".', status=400)
        self.messages[msg_id]["msg"] = text
        return self.messages[msg_id]

    def chat_react(self, msg_id: str, emoji: str, should_react: bool) -> None:
        self.calls.append(("react", (emoji, should_react)))
        if msg_id not in self.messages:
            raise RestRejected("not found", status=400, error_type="error-message-not-found")

    def chat_get_message(self, message_id: str) -> dict[str, Any] | None:
        return self.messages.get(message_id)

    def chat_post_message(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("not used")


class Views:
    def __init__(self, view: MessageView) -> None:
        self.current = view

    def view(self, message_id: str) -> MessageView | None:
        return self.current if message_id == self.current.message_id else None


def alert_view(text: str = "disk full\n— resolved after 5s",
               reaction: str = ":white_check_mark:",
               stale: tuple[str, ...] = (":rotating_light:",)) -> MessageView:
    return MessageView(room_id="ops", message_id=ROOT, kind="alert", text=text,
                       reaction=reaction, stale=stale,
                       buttons={"alert_id": 7, "rule": "disk", "entity": "db 1"})


def endpoint(view: MessageView | None = None) -> tuple[RocketChatEndpoint, FakeRest, Views]:
    rest = FakeRest()
    views = Views(view or alert_view())
    chat = LivingChat(lambda: rest, views, public_url="https://atsd.example/")
    return RocketChatEndpoint(rest, living=chat), rest, views


def edit_row(row_id: int = 5, text: str = "resolved after 5s", note: bool = True) -> Notification:
    return Notification(rule="disk", endpoint="rocketchat", trigger="cancel", text=text,
                        alert_id=7, id=row_id, target={"room_id": "ops", "action": "edit",
                                                       "msg_id": ROOT, "react": True,
                                                       "note": note})


def test_buttons_address_the_bot_and_quote_no_blanks() -> None:
    actions = button_actions({"alert_id": 7, "rule": "disk", "entity": "db 1"}, "atsd_bot",
                             "https://atsd.example/")
    assert actions == [
        {"type": "button", "text": "Acknowledge", "msg": "@atsd_bot ack 7",
         "msg_in_chat_window": True, "msg_processing_type": "sendMessage"},
        {"type": "button", "text": "Silence 1h",
         "msg": "@atsd_bot silence rule=disk entity=db?1 1h", "msg_in_chat_window": True,
         "msg_processing_type": "sendMessage"},
        {"type": "button", "text": "Open", "url": "https://atsd.example/ui/alerts/7"}]
    assert [a["text"] for a in button_actions({"alert_id": 7, "rule": "r"}, None, None)] == [
        "Acknowledge", "Silence 1h"]


def test_the_post_carries_buttons_and_the_state_reaction() -> None:
    ep, rest, _ = endpoint(alert_view("disk full", ":rotating_light:", ()))
    post = Notification(rule="disk", endpoint="rocketchat", trigger="open", text="disk full",
                        alert_id=7, id=1, target={"room_id": "ops", "action": "post",
                                                  "react": True, "buttons": {
                                                      "alert_id": 7, "rule": "disk",
                                                      "entity": "db 1"}})
    assert ep.deliver(post).detail == ROOT
    sent = rest.messages[ROOT]
    assert sent["attachments"][0]["actions"][0]["msg"] == "@atsd_bot ack 7"  # name from me()
    assert rest.calls[-1] == ("react", (":rotating_light:", True))


def test_an_edit_renders_the_view_and_is_not_repeated() -> None:
    ep, rest, views = endpoint()
    rest.messages[ROOT] = {"_id": ROOT, "msg": "disk full"}
    ep.deliver(edit_row())
    assert rest.calls == [("update", "disk full\n— resolved after 5s"),
                          ("react", (":white_check_mark:", True)),
                          ("react", (":rotating_light:", False))]
    rest.calls.clear()
    ep.deliver(edit_row(6))  # the same state again: nothing to send
    assert rest.calls == []
    views.current = alert_view("disk full\n— reopened", ":rotating_light:",
                               (":white_check_mark:",))
    ep.deliver(edit_row(7))
    assert rest.calls == [("update", "disk full\n— reopened"),
                          ("react", (":rotating_light:", True)),
                          ("react", (":white_check_mark:", False))]


@pytest.mark.parametrize("error", ["error-action-not-allowed", "error-message-editing-blocked"])
def test_a_refused_edit_posts_the_change_into_the_thread_once(
        error: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(living_chat, "_refusal_logged", threading.Event())
    ep, rest, _ = endpoint()
    rest.messages[ROOT] = {"_id": ROOT, "msg": "disk full"}
    rest.refuse_edit = error
    assert ep.deliver(edit_row(5)).detail == "edit refused by Rocket.Chat; noted in the thread"
    assert ep.deliver(edit_row(5)).detail.endswith("noted in the thread")  # a retry: one note
    notes = [m for m in rest.messages.values() if m.get("tmid") == ROOT]
    assert [(m["_id"], m["msg"]) for m in notes] == [("atsdbot0000000005", "resolved after 5s")]
    assert ep.deliver(edit_row(6, note=False)).detail.endswith("nothing to note")
    assert len([r for r in caplog.records if "refused to edit" in r.getMessage()]) == 1


def test_a_thread_post_before_its_message_posts_the_message_first() -> None:
    ep, rest, _ = endpoint()
    reply = Notification(rule="disk", endpoint="rocketchat", trigger="repeat", text="again",
                         alert_id=8, id=9, target={"room_id": "ops", "tmid": ROOT})
    ep.deliver(reply)
    assert rest.messages[ROOT]["msg"] == "disk full\n— resolved after 5s"
    assert rest.messages[ROOT]["attachments"][0]["actions"][0]["msg"] == "@atsd_bot ack 7"
    assert rest.messages["atsdbot0000000009"]["tmid"] == ROOT
    # the message's own post, when it comes, is a no-op
    post = Notification(rule="disk", endpoint="rocketchat", trigger="open", text="disk full",
                        alert_id=7, id=1, target={"room_id": "ops", "action": "post"})
    assert ep.deliver(post).detail == ROOT


def test_an_edit_before_its_message_posts_it_as_it_reads_now() -> None:
    ep, rest, _ = endpoint()
    ep.deliver(edit_row())
    assert rest.messages[ROOT]["msg"] == "disk full\n— resolved after 5s"
    assert ("update", "disk full\n— resolved after 5s") in rest.calls


def test_an_unknown_message_is_a_plain_failure_and_an_outage_a_retry() -> None:
    ep, rest, _ = endpoint()
    stray = Notification(rule="disk", endpoint="rocketchat", trigger="cancel", text="x",
                         alert_id=7, id=3, target={"room_id": "ops", "action": "edit",
                                                   "msg_id": "atsdbot0000000099"})
    with pytest.raises(DeliveryError) as failed:
        ep.deliver(stray)
    assert not failed.value.retryable and "no stored state" in failed.value.reason

    def down(**kwargs: Any) -> Any:
        raise RestUnavailable("down", status=503)

    rest.chat_update = down  # type: ignore[method-assign]
    with pytest.raises(DeliveryError) as retry:
        ep.deliver(edit_row())
    assert retry.value.retryable
