"""RestClient: the exact requests it makes and how every failure is translated."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses

from bot.errors import ChatRejected, ChatUnavailable
from bot.rest.client import RestClient, RestRejected, RestUnavailable, iso_ms, retry_after

URL = "http://rc.test"
LOGIN_OK = {"status": "success", "data": {"userId": "uid1", "authToken": "tok1",
                                          "me": {"username": "admin"}}}


def _body(request: Any) -> Any:
    return json.loads(request.body)


def _client() -> RestClient:
    return RestClient.with_token(URL, "uid1", "tok1")


@responses.activate
def test_password_login_sends_json_and_uses_the_token_afterwards() -> None:
    responses.post(f"{URL}/api/v1/login", json=LOGIN_OK)
    responses.get(f"{URL}/api/v1/me", json={"_id": "uid1", "username": "admin", "success": True})
    client = RestClient.with_password(URL + "/", "admin", "s3cret")
    assert client.me()["username"] == "admin"
    login, me = responses.calls
    assert _body(login.request) == {"username": "admin", "password": "s3cret"}
    assert me.request.headers["X-User-Id"] == "uid1"
    assert me.request.headers["X-Auth-Token"] == "tok1"
    assert client.user_id == "uid1" and client.username == "admin"


@responses.activate
def test_login_with_an_email_uses_the_user_key() -> None:
    responses.post(f"{URL}/api/v1/login", json=LOGIN_OK)
    RestClient.with_password(URL, "ops@example.org", "pw", totp_code="123456")
    assert _body(responses.calls[0].request) == {
        "user": "ops@example.org", "password": "pw", "code": "123456"}


@pytest.mark.parametrize("body", [
    {"status": "error", "error": "Unauthorized", "message": "Unauthorized"},
    {"success": False, "error": "Unauthorized", "status": "error", "message": "Unauthorized"},
])
@responses.activate
def test_wrong_password_is_rejected_without_echoing_it(body: dict[str, object]) -> None:
    responses.post(f"{URL}/api/v1/login", json=body, status=401)
    with pytest.raises(RestRejected) as caught:
        RestClient.with_password(URL, "admin", "wrong-pw-XYZ")
    assert caught.value.status == 401
    assert "credentials" in str(caught.value)
    assert "wrong-pw-XYZ" not in str(caught.value)


@responses.activate
def test_login_asking_for_two_factor_says_so() -> None:
    responses.post(f"{URL}/api/v1/login", status=401, json={
        "status": "error", "error": "totp-required", "message": "TOTP Required",
        "details": {"method": "totp"}})
    with pytest.raises(RestRejected) as caught:
        RestClient.with_password(URL, "admin", "pw")
    assert caught.value.error_type == "totp-required"
    assert "two-factor" in str(caught.value) and "--admin-token" in str(caught.value)


@responses.activate
def test_two_factor_password_fallback_is_answered_with_the_digest() -> None:
    responses.post(f"{URL}/api/v1/login", json=LOGIN_OK)
    responses.post(f"{URL}/api/v1/users.update", status=400, json={
        "success": False, "error": "TOTP Required [totp-required]", "errorType": "totp-required",
        "details": {"method": "password", "codeGenerated": False, "availableMethods": []}})
    responses.post(f"{URL}/api/v1/users.update", json={"user": {"_id": "b"}, "success": True})
    client = RestClient.with_password(URL, "admin", "pw")
    assert client.users_update("b", active=True) == {"_id": "b"}
    first, second = responses.calls[1], responses.calls[2]
    assert "x-2fa-code" not in first.request.headers
    assert second.request.headers["x-2fa-code"] == hashlib.sha256(b"pw").hexdigest()
    assert second.request.headers["x-2fa-method"] == "password"
    assert _body(second.request) == {"userId": "b", "data": {"active": True}}


@responses.activate
def test_two_factor_code_from_login_answers_a_totp_challenge() -> None:
    responses.post(f"{URL}/api/v1/login", json=LOGIN_OK)
    responses.post(f"{URL}/api/v1/users.update", status=400, json={
        "success": False, "error": "TOTP Required [totp-required]", "errorType": "totp-required",
        "details": {"method": "totp", "availableMethods": ["totp"]}})
    responses.post(f"{URL}/api/v1/users.update", json={"user": {"_id": "b"}, "success": True})
    client = RestClient.with_password(URL, "admin", "pw", totp_code="654321")
    client.users_update("b", active=True)
    retry = responses.calls[2].request
    assert (retry.headers["x-2fa-code"], retry.headers["x-2fa-method"]) == ("654321", "totp")


@responses.activate
def test_two_factor_by_email_is_not_retried() -> None:
    responses.post(f"{URL}/api/v1/users.update", status=400, json={
        "success": False, "error": "TOTP Required [totp-required]", "errorType": "totp-required",
        "details": {"method": "email", "availableMethods": ["email"]}})
    with pytest.raises(RestRejected) as caught:
        _client().users_update("b", active=True)
    assert caught.value.error_type == "totp-required"
    assert len(responses.calls) == 1


@responses.activate
def test_rate_limit_reads_the_reset_header() -> None:
    reset_ms = int((datetime.now(UTC).timestamp() + 3600) * 1000)
    responses.get(f"{URL}/api/v1/me", status=429, headers={"X-RateLimit-Reset": str(reset_ms)},
                  json={"success": False, "error": "Error, too many requests. "
                        "[error-too-many-requests]"})
    with pytest.raises(RestUnavailable) as caught:
        _client().me()
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and 3000 < caught.value.retry_after <= 3600


def test_retry_after_sources() -> None:
    assert retry_after({"X-RateLimit-Reset": "10500"}, "", now=10.0) == 0.5
    assert retry_after({"X-RateLimit-Reset": "1000"}, "", now=10.0) == 0.0  # already past
    text = "You must wait 7 seconds before trying this endpoint again."
    assert retry_after({}, text) == 7.0
    assert retry_after({}, "slow down") is None


@responses.activate
def test_rate_limit_from_the_error_text() -> None:
    responses.get(f"{URL}/api/v1/me", status=429, json={
        "success": False, "error": "Error, too many requests. Please slow down. You must wait "
        "12 seconds before trying this endpoint again. [error-too-many-requests]"})
    with pytest.raises(ChatUnavailable) as caught:
        _client().me()
    assert getattr(caught.value, "retry_after", None) == 12.0


@pytest.mark.parametrize("status,body,expected", [
    (500, '{"success": false, "error": "boom"}', RestUnavailable),
    (502, "<html>Bad gateway</html>", RestUnavailable),
    (403, '{"success": false, "error": "User does not have the permissions required for this '
          'action [error-unauthorized]"}', RestRejected),
    (400, '{"success": false, "error": "bob is already in use :( [error-field-unavailable]", '
          '"errorType": "error-field-unavailable"}', RestRejected),
    (404, "<html>Not Found</html>", RestUnavailable),
])
@responses.activate
def test_status_translation(status: int, body: str, expected: type[Exception]) -> None:
    responses.get(f"{URL}/api/v1/me", status=status, body=body)
    with pytest.raises(expected) as caught:
        _client().me()
    assert "\n" not in str(caught.value)
    if expected is RestRejected:
        assert isinstance(caught.value, ChatRejected)
        assert caught.value.status == status  # type: ignore[attr-defined]


@responses.activate
def test_permission_denied_names_what_to_do() -> None:
    responses.post(f"{URL}/api/v1/users.create", status=403, json={
        "success": False, "error": "User does not have the permissions required for this "
        "action [error-unauthorized]"})
    with pytest.raises(RestRejected) as caught:
        _client().users_create(email="e@x", name="n", password="p", username="u")
    assert "permission denied" in str(caught.value) and "admin role" in str(caught.value)


@pytest.mark.parametrize("failure,words", [
    (requests.ConnectionError("refused"), "cannot connect"),
    (requests.Timeout("slow"), "did not answer within 10 s"),
])
@responses.activate
def test_network_failures_are_unavailable(failure: Exception, words: str) -> None:
    responses.get(f"{URL}/api/info", body=failure)
    with pytest.raises(RestUnavailable, match=words):
        RestClient(URL).info()


def test_a_closed_port_is_unavailable() -> None:
    import socket

    with socket.socket() as sock:  # bind then close: nothing listens on that port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RestUnavailable, match="cannot connect"):
        RestClient(f"http://127.0.0.1:{port}", timeout=2).info()


@pytest.mark.parametrize("body,content_type", [
    ("<html>hello</html>", "text/html"), ('{"version": "1"}', "application/json"),
])
@responses.activate
def test_info_from_something_that_is_not_rocket_chat(body: str, content_type: str) -> None:
    responses.get(f"{URL}/api/info", body=body, content_type=content_type)
    with pytest.raises(RestUnavailable, match="Rocket.Chat server"):
        RestClient(URL).info()


@responses.activate
def test_users_info_encodes_the_name_and_maps_not_found_to_none() -> None:
    responses.get(f"{URL}/api/v1/users.info", status=400,
                  json={"success": False, "error": "User not found."})
    assert _client().users_info(username="a&b c") is None
    assert responses.calls[0].request.url == f"{URL}/api/v1/users.info?username=a%26b%20c"


@responses.activate
def test_integrations_list_keeps_exact_names_and_follows_pages() -> None:
    first = [{"_id": str(i), "name": "atsd-bot" if i == 3 else f"atsd-bot-{i}"}
             for i in range(50)]
    responses.get(f"{URL}/api/v1/integrations.list", json={"integrations": first, "success": True})
    responses.get(f"{URL}/api/v1/integrations.list", json={
        "integrations": [{"_id": "x", "name": "ATSD-BOT"}], "success": True})
    found = _client().integrations_list(name="atsd-bot")
    assert found == [{"_id": "3", "name": "atsd-bot"}]
    assert [str(c.request.url).split("?")[1] for c in responses.calls] == [
        "offset=0&count=50&name=atsd-bot", "offset=50&count=50&name=atsd-bot"]


@responses.activate
def test_integrations_update_is_a_put_of_the_full_object() -> None:
    responses.put(f"{URL}/api/v1/integrations.update",
                  json={"integration": {"_id": "i1"}, "success": True})
    fields = {"integrationId": "i1", "type": "webhook-outgoing", "name": "n", "token": "t"}
    assert _client().integrations_update(**fields) == {"_id": "i1"}
    assert _body(responses.calls[0].request) == fields


@responses.activate
def test_messages_and_history_requests() -> None:
    responses.post(f"{URL}/api/v1/chat.postMessage",
                   json={"message": {"_id": "m1"}, "success": True})
    responses.post(f"{URL}/api/v1/chat.sendMessage",
                   json={"message": {"_id": "m2"}, "success": True})
    responses.get(f"{URL}/api/v1/chat.syncMessages",
                  json={"result": {"updated": [{"_id": "m"}], "deleted": []}, "success": True})
    responses.get(f"{URL}/api/v1/dm.history", json={"messages": [{"_id": "h"}], "success": True})
    client = _client()
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert client.chat_post_message(room_id="r1", text="hi", tmid="p1")["_id"] == "m1"
    assert client.chat_send_message({"rid": "r1", "msg": "x", "_id": "mine"})["_id"] == "m2"
    assert client.sync_messages("r1", moment)["updated"] == [{"_id": "m"}]
    assert client.im_history("r1", moment, count=5) == [{"_id": "h"}]
    post, send, sync, history = (c.request for c in responses.calls)
    assert _body(post) == {"roomId": "r1", "text": "hi", "tmid": "p1"}
    assert _body(send) == {"message": {"rid": "r1", "msg": "x", "_id": "mine"}}
    assert str(sync.url).endswith("roomId=r1&lastUpdate=2026-01-02T03%3A04%3A05.678Z")
    assert str(history.url).endswith(
        "roomId=r1&offset=0&count=5&oldest=2026-01-02T03%3A04%3A05.678Z")


def test_iso_ms_treats_naive_as_utc() -> None:
    assert iso_ms(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"


def test_the_environment_is_read_once_for_proxy_and_ca_bundle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.corp")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    proxied = RestClient.with_token("https://chat.example.com", "uid1", "tok1").session
    assert proxied.proxies["https"] == "http://proxy.corp:3128"
    assert proxied.verify == "/etc/ssl/corp.pem"
    # not looked up again per request (requests would walk os.environ on every call)
    assert proxied.trust_env is False
    bypassed = RestClient.with_token("https://chat.internal.corp", "uid1", "tok1").session
    assert "https" not in bypassed.proxies
