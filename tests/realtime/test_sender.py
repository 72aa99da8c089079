"""The Rocket.Chat endpoint: ids, threads, and how each REST failure is classified."""

from __future__ import annotations

import json
import time

import pytest
import requests
import responses

from bot.rest.client import RestClient
from bot.rest.endpoint import RocketChatEndpoint, outbox_message_id
from rules.notification import DeliveryError, Notification

URL = "http://rc.test"
SEND = URL + "/api/v1/chat.sendMessage"
GET = URL + "/api/v1/chat.getMessage"


def note(**target: str) -> Notification:
    return Notification(rule="r", endpoint="rocketchat", trigger="open", text="hi there",
                        target=dict(target), id=42)


@pytest.fixture
def endpoint() -> RocketChatEndpoint:
    return RocketChatEndpoint(RestClient.with_token(URL, "botid", "tok"))


def test_message_id_is_17_chars_and_stable() -> None:
    assert outbox_message_id(42) == "atsdbot0000000042"
    assert len(outbox_message_id(10**9)) == 17
    assert outbox_message_id(7) == outbox_message_id(7)


@responses.activate
def test_sends_with_outbox_id_into_room_and_thread(endpoint: RocketChatEndpoint) -> None:
    responses.post(SEND, json={"message": {"_id": "atsdbot0000000042", "rid": "room1"},
                               "success": True})
    result = endpoint.deliver(note(room_id="room1", tmid="parent"))
    assert result.detail == "atsdbot0000000042"
    body = json.loads(responses.calls[0].request.body or "")
    assert body == {"message": {"rid": "room1", "msg": "hi there", "tmid": "parent",
                                "_id": "atsdbot0000000042"}}
    assert responses.calls[0].request.headers["X-Auth-Token"] == "tok"


@responses.activate
def test_429_is_retryable_with_retry_after(endpoint: RocketChatEndpoint) -> None:
    reset_ms = int((time.time() + 30) * 1000)
    responses.post(SEND, status=429, headers={"X-RateLimit-Reset": str(reset_ms)},
                   json={"success": False, "error": "Error, too many requests. Please slow "
                         "down. You must wait 30 seconds before trying again. "
                         "[error-too-many-requests]", "errorType": "error-too-many-requests"})
    with pytest.raises(DeliveryError) as caught:
        endpoint.deliver(note(room_id="room1"))
    assert caught.value.retryable and caught.value.status == 429
    assert caught.value.retry_after is not None and 25 < caught.value.retry_after <= 30


@responses.activate
def test_5xx_and_connection_errors_are_retryable(endpoint: RocketChatEndpoint) -> None:
    responses.post(SEND, status=503, json={"success": False, "error": "down"})
    with pytest.raises(DeliveryError) as caught:
        endpoint.deliver(note(room_id="room1"))
    assert caught.value.retryable and caught.value.retry_after is None
    responses.replace(responses.POST, SEND, body=requests.ConnectionError("refused"))
    with pytest.raises(DeliveryError) as caught:
        endpoint.deliver(note(room_id="room1"))
    assert caught.value.retryable


@responses.activate
def test_validation_error_is_final(endpoint: RocketChatEndpoint) -> None:
    responses.post(SEND, status=400, json={"success": False, "error": "invalid room",
                                           "errorType": "error-invalid-room"})
    responses.get(GET, status=400, json={"success": False, "error": "Not found"})
    with pytest.raises(DeliveryError) as caught:
        endpoint.deliver(note(room_id="nope"))
    assert not caught.value.retryable and caught.value.status == 400
    assert "tok" not in str(caught.value)


@responses.activate
def test_resend_of_an_already_stored_message_counts_as_sent(
    endpoint: RocketChatEndpoint
) -> None:
    responses.post(SEND, status=400, json={"success": False, "error": "duplicate key"})
    responses.get(GET, json={"message": {"_id": "atsdbot0000000042", "rid": "room1"},
                             "success": True})
    assert endpoint.deliver(note(room_id="room1")).detail == "atsdbot0000000042"


def test_no_room_is_final() -> None:
    endpoint = RocketChatEndpoint(RestClient.with_token(URL, "b", "t"))
    with pytest.raises(DeliveryError) as caught:
        endpoint.deliver(note())
    assert not caught.value.retryable


@responses.activate
def test_already_exists_error_counts_as_sent(endpoint: RocketChatEndpoint) -> None:
    responses.post(SEND, status=400, json={
        "success": False, "error": "The message is a duplicate [error-message-already-exists]",
        "errorType": "error-message-already-exists"})
    assert endpoint.deliver(note(room_id="room1")).detail == "atsdbot0000000042"
    assert len(responses.calls) == 1
