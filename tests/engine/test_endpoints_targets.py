"""Targets of notifications (room, thread, sync reply) and the log/HTTP endpoints."""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from bot.config import EndpointSettings
from rules.notification import DeliveryError, Notification
from rules.outbox.endpoints import HttpEndpoint, LogEndpoint, build_endpoints, endpoint_targets
from rules.store import Database
from tests.engine.helpers import make_rig, note, outbox_rows, rule

URL = "https://hooks.example.test/notify?token=s3cret-token"
CHAT = {"channel_id": "ROOM1", "tmid": "T1"}


def test_named_room_overrides_the_message_room(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note("rocketchat", room="OPS"),))])
    [reply] = rig.send("bad", tags=CHAT).notifications
    assert reply.target == {"room_id": "OPS", "tmid": None}


def test_endpoint_default_room_is_used(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note("hook"),))],
                   targets={"hook": {"room_id": "ALERTS"}})
    [reply] = rig.send("bad", tags=CHAT).notifications
    assert reply.target == {"room_id": "ALERTS"}


def test_sync_reply_is_stored_as_response(db: Database) -> None:
    spec = note("rocketchat", sync_reply=True, delay_open_seconds=30)
    rig = make_rig(db, [rule(notifications=(spec,))])
    [reply] = rig.send("bad", tags=CHAT).notifications
    assert reply.target == {"room_id": "ROOM1", "tmid": "T1", "sync_reply": True}
    assert reply.due_at is None  # the HTTP answer cannot wait for a delay
    [row] = outbox_rows(db)
    assert row.status == "response" and row.delivered_at is not None


def test_non_chat_endpoints_get_no_room(db: Database) -> None:
    rig = make_rig(db, [rule()])
    assert rig.send("bad", tags=CHAT).notifications[0].target == {}


def notification() -> Notification:
    return Notification(rule="r1", endpoint="hook", trigger="open", text="disk full",
                        alert_id=3, id=41)


@responses.activate
def test_http_endpoint_posts_json_with_an_idempotency_key() -> None:
    responses.post(URL, status=204)
    result = HttpEndpoint("hook", URL, headers={"X-Secret": "h"}).deliver(notification())
    assert result.status == 204
    sent = responses.calls[0].request
    assert sent.headers["Idempotency-Key"] == "atsd-bot-41" and sent.headers["X-Secret"] == "h"
    assert sent.body is not None and b'"text": "disk full"' in sent.body


@responses.activate
@pytest.mark.parametrize(("status", "retryable", "after"), [
    (503, True, 7.0), (429, True, 7.0), (500, True, 7.0), (400, False, 7.0), (404, False, 7.0),
])
def test_http_endpoint_classifies_errors(status: int, retryable: bool, after: float) -> None:
    responses.post(URL, status=status, headers={"Retry-After": "7"})
    with pytest.raises(DeliveryError) as caught:
        HttpEndpoint("hook", URL).deliver(notification())
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after) == (
        status, retryable, after)


@responses.activate
def test_http_connection_errors_are_retryable_and_never_show_the_url() -> None:
    responses.post(URL, body=requests.ConnectionError(f"cannot reach {URL}"))
    with pytest.raises(DeliveryError) as caught:
        HttpEndpoint("hook", URL).deliver(notification())
    assert caught.value.retryable and "s3cret" not in caught.value.reason


def test_log_endpoint_logs_the_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="rules.outbox.endpoints"):
        LogEndpoint().deliver(notification())
    assert "disk full" in caplog.text and "r1" in caplog.text


def test_endpoints_and_targets_from_settings() -> None:
    configured = {
        "log": EndpointSettings(name="log", kind="log"),
        "rocketchat": EndpointSettings(name="rocketchat", kind="rocketchat"),
        "ops": EndpointSettings(name="ops", kind="rocketchat", room="OPS"),
        "hook": EndpointSettings(name="hook", kind="http", url=URL),
    }
    assert sorted(build_endpoints(configured)) == ["hook", "log"]
    assert endpoint_targets(configured) == {"rocketchat": {"room_id": None},
                                            "ops": {"room_id": "OPS"}}
