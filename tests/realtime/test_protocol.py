"""The DDP state machine against recorded frames (tests/fixtures/rocketchat/ddp-*.json)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import ProtocolError
from bot.realtime import protocol as ddp
from bot.rest import ejson

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rocketchat"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def sent(proto: ddp.DdpProtocol) -> list[dict]:
    return [json.loads(frame) for frame in proto.outgoing()]


def test_connect_frame_offers_version_1_first() -> None:
    proto = ddp.DdpProtocol()
    proto.connect()
    assert sent(proto) == [{"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}]


def test_server_id_greeting_and_unknown_frames_are_ignored() -> None:
    proto = ddp.DdpProtocol()
    assert proto.receive('{"server_id":"0"}') == []
    assert proto.receive('{"msg":"whatever"}') == []
    assert proto.receive('"o"') == []
    assert not proto.connected


def test_connected_records_session() -> None:
    proto = ddp.DdpProtocol()
    events = proto.receive('{"msg":"connected","session":"abc"}')
    assert events == [ddp.Connected("abc")]
    assert proto.connected and proto.session == "abc"


def test_failed_with_a_supported_version_reconnects_with_it() -> None:
    proto = ddp.DdpProtocol()
    events = proto.receive('{"msg":"failed","version":"pre2"}')
    assert events == [ddp.Failed("pre2")]
    assert sent(proto) == [{"msg": "connect", "version": "pre2",
                            "support": ["1", "pre2", "pre1"]}]


def test_failed_with_an_unsupported_version_sends_nothing() -> None:
    proto = ddp.DdpProtocol()
    assert proto.receive('{"msg":"failed","version":"7"}') == [ddp.Failed("7")]
    assert sent(proto) == []


def test_server_ping_without_id_gets_bare_pong() -> None:
    proto = ddp.DdpProtocol()
    assert proto.receive('{"msg":"ping"}') == []
    assert sent(proto) == [json.loads(fixture_text("ddp-pong.json"))]


def test_server_ping_with_id_is_echoed() -> None:
    proto = ddp.DdpProtocol()
    proto.receive('{"msg":"ping","id":"x7"}')
    assert sent(proto) == [{"msg": "pong", "id": "x7"}]


def test_own_ping_and_its_pong() -> None:
    proto = ddp.DdpProtocol()
    ping_id = proto.ping()
    assert sent(proto) == [{"msg": "ping", "id": ping_id}]
    assert proto.receive(json.dumps({"msg": "pong", "id": ping_id})) == [ddp.Pong(ping_id)]


def test_method_ids_are_unique_strings_and_results_name_their_method() -> None:
    proto = ddp.DdpProtocol()
    first = proto.call("login", ddp.resume_params("tok"))
    second = proto.call("rooms/get", [])
    assert first != second and isinstance(first, str)
    frames = sent(proto)
    assert frames[0] == {"msg": "method", "method": "login", "params": [{"resume": "tok"}],
                         "id": first}
    reply = json.loads(fixture_text("ddp-result-login-resume.json"))
    reply["id"] = first
    [event] = proto.receive(json.dumps(reply))
    assert isinstance(event, ddp.Result)
    assert event.method == "login" and event.has_result and event.error is None
    assert event.result["id"] == "LFdhbcNHx5zsMA7T4"
    assert proto.pending_calls == {second: "rooms/get"}


def test_result_without_result_key_is_not_an_error() -> None:
    proto = ddp.DdpProtocol()
    call_id = proto.call("sendMessage", [{"_id": "a", "rid": "r", "msg": "x"}])
    [event] = proto.receive(json.dumps({"msg": "result", "id": call_id}))
    assert isinstance(event, ddp.Result)
    assert not event.has_result and event.result is None and event.error is None


def test_updated_may_come_before_result() -> None:
    proto = ddp.DdpProtocol()
    call_id = proto.call("sendMessage", [])
    assert proto.receive(json.dumps({"msg": "updated", "methods": [call_id]})) == [
        ddp.Updated((call_id,))]
    [event] = proto.receive(fixture_text("ddp-result-sendMessage.json").replace('"423"',
                                                                                 f'"{call_id}"'))
    assert isinstance(event, ddp.Result) and event.result["msg"] == "Hello World!"


@pytest.mark.parametrize(("name", "code", "retry_after"), [
    ("ddp-result-error-too-many-requests.json", "too-many-requests", 45.999),
    ("ddp-result-error-totp-required.json", "totp-required", None),
    ("ddp-result-login-error-incorrect-password.json", "403", None),
])
def test_method_errors_in_the_real_shape(name: str, code: str, retry_after: float | None) -> None:
    proto = ddp.DdpProtocol()
    [event] = proto.receive(fixture_text(name))
    assert isinstance(event, ddp.Result) and event.error is not None
    assert event.error.error == code and event.error.reason
    assert event.error.retry_after == retry_after


def test_subscribe_ready_and_nosub() -> None:
    proto = ddp.DdpProtocol()
    sub_id = proto.subscribe("stream-room-messages", ["__my_messages__", False])
    assert sent(proto) == [{"msg": "sub", "id": sub_id, "name": "stream-room-messages",
                            "params": ["__my_messages__", False]}]
    assert proto.receive(json.dumps({"msg": "ready", "subs": [sub_id]})) == [
        ddp.Ready((sub_id,))]
    assert sub_id in proto.ready
    proto.unsubscribe(sub_id)
    assert sent(proto) == [json.loads(fixture_text("ddp-unsub-request.json")) | {"id": sub_id}]
    nosub = json.loads(fixture_text("ddp-nosub-after-unsub.json")) | {"id": sub_id}
    assert proto.receive(json.dumps(nosub)) == [
        ddp.NoSub(sub_id, "stream-room-messages", None)]
    assert sub_id not in proto.ready


def test_nosub_with_error() -> None:
    proto = ddp.DdpProtocol()
    sub_id = proto.subscribe("stream-notify-user", ["other/rooms-changed", False])
    [event] = proto.receive(json.dumps({"msg": "nosub", "id": sub_id, "error": {
        "error": "not-allowed", "reason": "Not allowed", "isClientSafe": True}}))
    assert isinstance(event, ddp.NoSub) and event.error is not None
    assert event.error.error == "not-allowed"


@pytest.mark.parametrize(("name", "collection", "event_name"), [
    ("ddp-changed-stream-room-messages.json", "stream-room-messages", "WNqBb5jkkFNeYswcp"),
    ("ddp-changed-stream-room-messages-file-upload.json", "stream-room-messages", "GENERAL"),
    ("ddp-changed-notify-user-rooms-changed-dm-inserted.json", "stream-notify-user",
     "hZKg86uJavE6jYLya/rooms-changed"),
    ("ddp-changed-notify-user-subscriptions-changed-removed.json", "stream-notify-user",
     "YzdhBRGZvssu2Lm6x/subscriptions-changed"),
    ("ddp-changed-notify-logged-users-name-changed.json", "stream-notify-logged",
     "Users:NameChanged"),
])
def test_stream_events_route_by_collection_and_event_name(
    name: str, collection: str, event_name: str
) -> None:
    [event] = ddp.DdpProtocol().receive(fixture_text(name))
    assert isinstance(event, ddp.StreamEvent)
    assert (event.collection, event.event_name) == (collection, event_name)
    assert event.args == tuple(json.loads(fixture_text(name))["fields"]["args"])


def test_added_document_for_use_collection_and_users_collection() -> None:
    proto = ddp.DdpProtocol()
    [event] = proto.receive(json.dumps({"msg": "added", "collection": "stream-room-messages",
                                        "id": "id", "fields": {"eventName": "__my_messages__"}}))
    assert event == ddp.Document("added", "stream-room-messages", "id",
                                 {"eventName": "__my_messages__"})
    [user] = proto.receive(json.dumps({"msg": "added", "collection": "users", "id": "u1",
                                       "fields": {"username": "bot"}}))
    assert isinstance(user, ddp.Document) and user.fields["username"] == "bot"


def test_top_level_error_frame() -> None:
    [event] = ddp.DdpProtocol().receive('{"msg":"error","reason":"Must connect first"}')
    assert event == ddp.ServerError("Must connect first")


def test_garbage_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        ddp.DdpProtocol().receive("{nope")


def test_password_params_use_the_sha256_digest() -> None:
    params = ddp.password_params("him", "secret")
    request = json.loads(fixture_text("ddp-method-login-password-request.json"))["params"]
    assert params[0].keys() == request[0].keys()
    assert params[0]["password"] == {
        "digest": hashlib.sha256(b"secret").hexdigest(), "algorithm": "sha-256"}
    assert "secret" not in json.dumps(params)
    assert ddp.password_params("a@b.c", "x")[0]["user"] == {"email": "a@b.c"}


def test_ejson_dates() -> None:
    moment = datetime(2018, 10, 28, 19, 58, 39, 398000, tzinfo=UTC)
    assert ejson.ejson_date({"$date": 1540756719398}) == moment
    assert ejson.ejson_date("2018-10-28T19:58:39.398Z") == moment
    assert ejson.ejson_date(1540756719398) == moment
    assert ejson.to_ejson_date(moment) == {"$date": 1540756719398}
    assert ejson.ejson_date(None) is None and ejson.ejson_date("not a date") is None
    assert ejson.ejson_date(True) is None


def test_a_version_learned_from_failed_is_used_first() -> None:
    proto = ddp.DdpProtocol(version="pre2")
    proto.connect()
    assert sent(proto)[0]["version"] == "pre2"
    assert ddp.DdpProtocol(version="nope").version == "1"


@pytest.mark.parametrize(("name", "fatal"), [
    ("ddp-result-login-error-incorrect-password.json", "check rocketchat.user and"),
    ("ddp-result-error-totp-required.json", "personal access token"),
    ("ddp-result-error-too-many-requests.json", None),
])
def test_login_failures(name: str, fatal: str | None) -> None:
    from bot.realtime.status import login_failure

    [event] = ddp.DdpProtocol().receive(fixture_text(name))
    assert isinstance(event, ddp.Result) and event.error is not None
    error = login_failure(event.error, "password")
    assert (error is None) if fatal is None else (error is not None and fatal in str(error))
    current = ddp.MethodError("401", "Incorrect login or password")
    assert "user_id" in str(login_failure(current, "token"))
