"""The start-up probe of the Rocket.Chat server, against recorded-shape answers."""

from __future__ import annotations

import pytest
import responses

from bot.config import RocketChatSettings
from bot.errors import ChatRejected, StartError
from bot.exit_codes import EXIT_UNAVAILABLE
from bot.rest.probe import probe, probe_at_start

URL = "http://chat.test"
TOKEN = RocketChatSettings(url=URL, user_id="uid1", token="tok-123")


def _info() -> None:
    responses.get(f"{URL}/api/info", json={"version": "7.6.1", "success": True})


@responses.activate
def test_everything_in_place() -> None:
    _info()
    responses.get(f"{URL}/api/v1/me", json={"_id": "uid1", "username": "atsd_bot",
                                            "roles": ["bot"], "success": True})
    responses.get(f"{URL}/api/v1/permissions.listAll", json={"update": [
        {"_id": "view-d-room", "roles": ["bot", "user"]},
        {"_id": "create-d", "roles": ["bot"]},
        {"_id": "view-c-room", "roles": ["bot"]},
        {"_id": "api-bypass-rate-limit", "roles": ["bot", "admin"]}], "success": True})
    report = probe(TOKEN)
    assert report.lines() == [
        f"Rocket.Chat 7.6.1 at {URL}: logged in as atsd_bot (roles: bot)"]
    assert responses.calls[1].request.headers["X-Auth-Token"] == "tok-123"


@responses.activate
def test_missing_role_and_permission_are_named() -> None:
    _info()
    responses.get(f"{URL}/api/v1/me", json={"_id": "uid1", "username": "atsd_bot",
                                            "roles": ["user"]})
    responses.get(f"{URL}/api/v1/permissions.listAll", json={"update": [
        {"_id": "view-d-room", "roles": ["user"]}, {"_id": "create-d", "roles": ["admin"]}]})
    lines = probe(TOKEN).lines()
    assert any("neither the 'bot' role nor the 'send-many-messages' permission" in line
               for line in lines)
    assert any("missing permission 'create-d'" in line and "Administration > Permissions"
               in line for line in lines)
    assert not any("view-d-room" in line for line in lines)


@responses.activate
def test_send_many_messages_instead_of_the_bot_role_is_enough() -> None:
    _info()
    responses.get(f"{URL}/api/v1/me", json={"_id": "uid1", "username": "atsd_bot",
                                            "roles": ["user"]})
    responses.get(f"{URL}/api/v1/permissions.listAll", json={"update": [
        {"_id": "send-many-messages", "roles": ["user"]}]})
    report = probe(TOKEN)
    assert report.warnings == [] and report.unchecked == []


@responses.activate
def test_unreadable_permissions_are_noted_as_not_checked() -> None:
    _info()
    responses.get(f"{URL}/api/v1/me", json={"_id": "uid1", "username": "atsd_bot",
                                            "roles": ["bot"]})
    responses.get(f"{URL}/api/v1/permissions.listAll", status=404, json={})
    report = probe(TOKEN)
    assert report.warnings == []
    assert report.unchecked == ["could not read the server's permissions (permissions.listAll "
                                "answered HTTP 404); not checked"]


@responses.activate
def test_refused_token_stops_the_start() -> None:
    _info()
    responses.get(f"{URL}/api/v1/me", status=401,
                  json={"status": "error", "message": "You must be logged in to do this."})
    with pytest.raises(ChatRejected, match="rocketchat.user_id and rocketchat.token"):
        probe(TOKEN)


@responses.activate
def test_refused_password_stops_the_start() -> None:
    _info()
    responses.post(f"{URL}/api/v1/login", status=401,
                   json={"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
    settings = RocketChatSettings(url=URL, user="atsd_bot", password="pw-123456")
    with pytest.raises(ChatRejected, match="refused the login of atsd_bot"):
        probe(settings)


@responses.activate
def test_unreachable_or_not_rocketchat_is_a_warning() -> None:
    assert "does not answer" in probe(TOKEN).lines()[0]
    responses.get(f"{URL}/api/info", body="<html>nginx</html>")
    assert "does not look like Rocket.Chat" in probe(TOKEN).lines()[0]


@responses.activate
def test_at_start_a_server_that_is_not_rocketchat_is_given_up_with_exit_4() -> None:
    responses.get(f"{URL}/api/info", body="<html>502 Bad Gateway</html>", status=502)
    naps: list[float] = []
    with pytest.raises(StartError) as raised:
        probe_at_start(TOKEN, deadline=0.0, sleep=naps.append)
    assert raised.value.exit_code == EXIT_UNAVAILABLE and not naps
    assert str(raised.value) == (
        f"{URL} does not look like Rocket.Chat (/api/info did not answer success); gave up "
        "after 1 attempts; start Rocket.Chat or fix rocketchat.url (or remove [rocketchat] to "
        "run without the chat side)")


@responses.activate
def test_at_start_a_server_error_is_tried_again_and_a_refusal_is_not() -> None:
    import time

    responses.get(f"{URL}/api/info", json={"version": "7.6.1", "success": True})
    responses.get(f"{URL}/api/v1/me", status=503, json={"success": False})
    responses.get(f"{URL}/api/v1/me", status=401, json={"success": False})
    naps: list[float] = []
    with pytest.raises(ChatRejected, match="refused the bot's token"):
        probe_at_start(TOKEN, deadline=time.monotonic() + 60, sleep=naps.append)
    assert len(naps) == 1  # the 503 was waited out once; the 401 ends it at once


@responses.activate
def test_at_start_a_login_rate_limited_to_the_end_starts_with_a_warning() -> None:
    # a few restarts in a row meet Rocket.Chat's login rate limit: the server is there and
    # has refused nothing, so the start goes on (its webhook path must not stay down)
    _info()
    responses.get(f"{URL}/api/v1/me", status=429, json={"success": False})
    naps: list[float] = []
    report = probe_at_start(TOKEN, deadline=0.0, sleep=naps.append)
    assert report.reachable and not naps
    assert report.lines() == [
        f"Rocket.Chat at {URL} answers",
        f"Rocket.Chat at {URL} answered 429 to me; credentials not checked now; tried 1 times; "
        "starting anyway: the realtime client and the outbox log in when Rocket.Chat lets "
        "them"]
