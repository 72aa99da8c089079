"""create_bot_user against the `responses` double: exact requests for create/update/unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import responses

from scripts.create_bot_user import main
from tests.provisioning.conftest import Outcome, admin_args, calls
from tests.provisioning.fakerc import ADMIN, FakeRocketChat

RC = tuple[FakeRocketChat, responses.RequestsMock]
BOT = ["--bot-username", "atsd_bot"]


def _paths(mock: responses.RequestsMock) -> list[str]:
    return [f"{c.method} {c.path}" for c in calls(mock)]


def test_creates_the_bot_with_exact_fields(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    result = run_script(main, admin_args(*BOT, "--bot-password", "bot-pw"))
    assert result.code == 0, result.err
    assert _paths(mock) == ["GET /api/info", "POST /api/v1/login",
                            "GET /api/v1/users.info?username=atsd_bot",
                            "POST /api/v1/users.create", "POST /api/v1/logout"]
    login, create = calls(mock)[1], calls(mock)[3]
    assert login.body == {"username": "admin", "password": ADMIN["password"]}
    assert create.body == {
        "email": "atsd_bot@atsd-bot.invalid", "name": "ATSD Bot", "username": "atsd_bot",
        "password": "bot-pw", "roles": ["bot"], "active": True, "verified": True,
        "requirePasswordChange": False, "sendWelcomeEmail": False, "joinDefaultChannels": False}
    assert create.headers["X-User-Id"] == ADMIN["id"]
    assert create.headers["X-Auth-Token"].startswith("login-token-")
    doc = result.doc
    assert doc["status"] == "created" and doc["dry_run"] is False
    assert doc["user"] == {"_id": fake.users["atsd_bot"]["_id"], "username": "atsd_bot"}
    assert "bot-pw" not in result.out + result.err
    assert "creating user atsd_bot" in result.err


def test_second_run_is_unchanged_and_checks_the_password_by_login(
        rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    argv = admin_args(*BOT, "--bot-password", "bot-pw")
    assert run_script(main, argv).code == 0
    mock.calls.reset()
    second = run_script(main, argv)
    assert second.code == 0, second.err
    assert second.doc["status"] == "unchanged" and second.doc["changes"] == []
    assert _paths(mock) == ["GET /api/info", "POST /api/v1/login",
                            "GET /api/v1/users.info?username=atsd_bot",
                            "POST /api/v1/login", "POST /api/v1/logout",
                            "POST /api/v1/logout"]  # the bot's check session, then the admin's
    assert calls(mock)[3].body == {"username": "atsd_bot", "password": "bot-pw"}
    assert not any(c.path.startswith("/api/v1/users.update") for c in calls(mock))


def test_random_password_is_never_printed(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    result = run_script(main, admin_args(*BOT))
    assert result.code == 0
    password = calls(mock)[3].body["password"]
    assert len(password) >= 24 and password not in result.out + result.err
    assert "random" in result.err


def test_existing_bot_is_brought_to_the_wanted_state(
        rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    bot = fake.add_user("atsd_bot", "old-pw", roles=["bot"], active=False,
                        requirePasswordChange=True)
    bot["emails"][0]["verified"] = False
    result = run_script(main, admin_args(*BOT, "--bot-password", "new-pw",
                                         "--bot-name", "Alerts"))
    assert result.code == 0, result.err
    assert result.doc["status"] == "updated"
    assert result.doc["changes"] == ["set active", "set name", "set requirePasswordChange",
                                     "set verified", "set password"]
    updates = [c.body for c in calls(mock) if c.path == "/api/v1/users.update"]
    assert updates == [
        {"userId": bot["_id"], "data": {"active": True, "verified": True,
                                        "requirePasswordChange": False, "name": "Alerts"}},
        {"userId": bot["_id"], "data": {"password": "new-pw"}},
    ]
    # the password was tried by logging in before it was set
    logins = [c.body for c in calls(mock) if c.path == "/api/v1/login"]
    assert logins[-1] == {"username": "atsd_bot", "password": "new-pw"}
    assert run_script(main, admin_args(*BOT, "--bot-password", "new-pw",
                                       "--bot-name", "Alerts")).doc["status"] == "unchanged"


def test_dry_run_changes_nothing(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    result = run_script(main, admin_args(*BOT, "--dry-run", "--token-name", "atsd"))
    assert result.code == 0
    assert result.doc["status"] == "created" and result.doc["dry_run"] is True
    assert result.doc["token"] == {"name": "atsd", "user_id": None, "created": True}
    assert "atsd_bot" not in fake.users
    assert [c.path for c in calls(mock) if c.method == "POST"] == [
        "/api/v1/login", "/api/v1/logout"]


def test_dry_run_on_an_outdated_bot_only_reads(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    fake.add_user("atsd_bot", "pw", roles=["bot"], requirePasswordChange=True)
    result = run_script(main, admin_args(*BOT, "--dry-run"))
    assert result.doc["status"] == "updated"
    assert result.doc["changes"] == ["set requirePasswordChange"]
    assert fake.users["atsd_bot"]["requirePasswordChange"] is True
    assert not any(c.path == "/api/v1/users.update" for c in calls(mock))


def test_token_is_created_as_the_bot_and_printed_once(
        rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    argv = admin_args(*BOT, "--bot-password", "bot-pw", "--token-name", "atsd-bot")
    first = run_script(main, argv)
    assert first.code == 0, first.err
    bot_id = fake.users["atsd_bot"]["_id"]
    assert first.doc["token"] == {"name": "atsd-bot", "user_id": bot_id, "created": True,
                                  "token": "pat-atsd-bot-secret"}
    generate = next(c for c in calls(mock)
                    if c.path == "/api/v1/users.generatePersonalAccessToken")
    assert generate.body == {"tokenName": "atsd-bot", "bypassTwoFactor": True}
    assert generate.headers["X-User-Id"] == bot_id  # as the bot, not as the admin
    second = run_script(main, argv)
    assert second.doc["status"] == "unchanged"
    assert second.doc["token"] == {"name": "atsd-bot", "user_id": bot_id, "created": False}
    assert "pat-atsd-bot-secret" not in second.out
    assert "cannot be shown again" in second.err


def test_token_for_an_existing_bot_needs_its_password(
        rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, _ = rc
    fake.add_user("atsd_bot", "pw", roles=["bot"])
    result = run_script(main, admin_args(*BOT, "--token-name", "t"))
    _fails(result, 3, "--bot-password")


def test_admin_two_factor_password_fallback(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    fake.two_factor_fallback = True
    fake.add_user("atsd_bot", "pw", roles=["bot"], active=False)
    result = run_script(main, admin_args(*BOT))
    assert result.code == 0, result.err
    update = [c for c in calls(mock) if c.path == "/api/v1/users.update"]
    assert len(update) == 2
    assert update[1].headers["x-2fa-code"] == hashlib.sha256(
        ADMIN["password"].encode()).hexdigest()


def _fails(result: Outcome, code: int, *words: str) -> None:
    assert result.code == code, result.err
    assert result.out == ""
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.err.splitlines()[-1] == errors[0]  # one line, the last
    assert "Traceback" not in result.err
    for word in words:
        assert word in errors[0]


def test_username_taken_by_a_person(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    fake.add_user("atsd_bot", "pw", roles=["user"])
    _fails(run_script(main, admin_args(*BOT)), 5, "without the bot role", "--force-bot-role")
    assert not any(c.path == "/api/v1/users.update" for c in calls(mock))
    assert calls(mock)[-1].path == "/api/v1/logout"  # the admin session ends on failure too
    assert fake.sessions.keys() == {ADMIN["token"]}  # no login token left behind


def test_force_bot_role_adds_the_role(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    user = fake.add_user("atsd_bot", "pw", roles=["user"])
    result = run_script(main, admin_args(*BOT, "--force-bot-role"))
    assert result.doc["changes"] == ["set roles"]
    assert calls(mock)[-2].body == {"userId": user["_id"], "data": {"roles": ["user", "bot"]}}
    assert calls(mock)[-1].path == "/api/v1/logout"


@pytest.mark.parametrize("endpoint,answer,code,words", [
    ("login", (401, {}, '{"status": "error", "error": "Unauthorized", "message": "Unauthorized"}'),
     3, ["refused the credentials"]),
    ("login", (401, {}, '{"status": "error", "error": "totp-required", "message": "TOTP"}'),
     3, ["two-factor", "--admin-token"]),
    ("users.create", (403, {}, '{"success": false, "error": "User does not have the '
                               'permissions required for this action [error-unauthorized]"}'),
     3, ["permission denied"]),
    ("info", (200, {"Content-Type": "text/html"}, "<html>welcome</html>"),
     4, ["not JSON"]),
    ("info", (404, {"Content-Type": "text/html"}, "<html>nope</html>"),
     4, ["Rocket.Chat server"]),
    ("users.create", (429, {}, '{"success": false, "error": "Error, too many requests. Please '
                               'slow down. You must wait 42 seconds before trying this '
                               'endpoint again. [error-too-many-requests]"}'),
     4, ["rate-limited", "retry in 42 s"]),
    ("users.info", (503, {"Content-Type": "text/html"}, "<html>maintenance</html>"),
     4, ["server error HTTP 503", "try again later"]),
])
def test_bad_input_gives_one_line(rc: RC, run_script: Callable[..., Outcome], endpoint: str,
                                  answer: tuple[int, dict[str, str], str], code: int,
                                  words: list[str]) -> None:
    fake, _ = rc
    fake.fail[endpoint] = answer
    _fails(run_script(main, admin_args(*BOT, "--bot-password", "bot-pw")), code, *words)


def test_unreachable_server(run_script: Callable[..., Outcome]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_script(main, ["--server", f"http://127.0.0.1:{port}", "--admin-user", "a",
                               "--admin-password", "b", *BOT])
    _fails(result, 4, "cannot connect")


@pytest.mark.parametrize("argv,words", [
    (["--server", "http://x", *BOT], "--admin-user"),
    (["--server", "http://x", "--admin-user", "a", "--admin-id", "i", *BOT], "not both"),
    (["--server", "ftp://x", "--admin-user", "a", "--admin-password", "p", *BOT], "http(s)"),
    (["--admin-user", "a", "--admin-password", "p", *BOT], "--server"),
    (["--server", "https://adm:pw-in-url@chat", "--admin-user", "a", "--admin-password", "p",
      *BOT], "must not carry user:password@"),
])
def test_usage_errors(run_script: Callable[..., Outcome], argv: list[str], words: str,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATSD_BOT_PROVISION_SERVER", raising=False)
    result = run_script(main, argv)
    _fails(result, 2, words)
    assert "pw-in-url" not in result.err


def test_environment_supplies_flags(rc: RC, run_script: Callable[..., Outcome],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fake, mock = rc
    env: dict[str, Any] = {"SERVER": "http://rc.test", "ADMIN_USER": "admin",
                           "ADMIN_PASSWORD": ADMIN["password"], "BOT_USERNAME": "envbot",
                           "DRY_RUN": "true"}
    for key, value in env.items():
        monkeypatch.setenv(f"ATSD_BOT_PROVISION_{key}", value)
    result = run_script(main, [])
    assert result.code == 0, result.err
    assert result.doc["dry_run"] is True and result.doc["user"]["username"] == "envbot"
    monkeypatch.setenv("ATSD_BOT_PROVISION_DRY_RUN", "maybe")
    _fails(run_script(main, []), 2, "ATSD_BOT_PROVISION_DRY_RUN")


def test_admin_by_id_and_token(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    argv = ["--server", "http://rc.test", "--admin-id", ADMIN["id"],
            "--admin-token", ADMIN["token"], *BOT]
    result = run_script(main, argv)
    assert result.code == 0, result.err
    assert _paths(mock)[:2] == ["GET /api/info", "GET /api/v1/me"]  # the token checked first
    create = calls(mock)[-1]  # no login and no logout: the token is the admin's to keep
    assert create.path == "/api/v1/users.create"
    assert (create.headers["X-User-Id"], create.headers["X-Auth-Token"]) == (
        ADMIN["id"], ADMIN["token"])


def test_admin_token_without_2fa_bypass(rc: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    fake.two_factor_fallback = True  # a token has no password to answer the challenge with
    fake.add_user("atsd_bot", "pw", roles=["bot"], active=False)
    result = run_script(main, ["--server", "http://rc.test", "--admin-id", ADMIN["id"],
                               "--admin-token", ADMIN["token"], *BOT])
    _fails(result, 3, "two-factor", "Ignore Two Factor")


def test_wrong_admin_token(rc: RC, run_script: Callable[..., Outcome]) -> None:
    result = run_script(main, ["--server", "http://rc.test", "--admin-id", ADMIN["id"],
                               "--admin-token", "stale", *BOT])
    _fails(result, 3, "refused the credentials")
