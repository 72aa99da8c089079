"""The start-up probe of the Rocket.Chat server, against recorded-shape answers."""

from __future__ import annotations

import pytest
import responses

from bot.config import RocketChatSettings
from bot.errors import ChatRejected
from bot.rest.probe import probe

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
