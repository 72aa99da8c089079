"""create_outgoing_integration against the `responses` double: exact requests, idempotency."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable

import pytest
import responses
from werkzeug.security import check_password_hash

from scripts.create_outgoing_integration import main, script_for
from tests.provisioning.conftest import Outcome, admin_args, calls
from tests.provisioning.fakerc import FakeRocketChat

RC = tuple[FakeRocketChat, responses.RequestsMock]
ARGS = ["--bot-username", "atsd_bot", "--webhook-url", "https://atsd.example:8088/",
        "--webhook-user", "rocketchat", "--webhook-password", "we'b\"pw"]
URL = ("https://atsd.example:8088/api/v1/messages/webhook/rocket.chat"
       "?command.message=text&exclude=text")


@pytest.fixture
def bot(rc: RC) -> RC:
    rc[0].add_user("atsd_bot", "pw", roles=["bot"])
    return rc


def _sent(mock: responses.RequestsMock, path: str) -> list[dict[str, object]]:
    return [c.body for c in calls(mock) if c.path == path]


def test_creates_the_integration_with_exact_fields(
        bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    result = run_script(main, admin_args(*ARGS))
    assert result.code == 0, result.err
    assert [f"{c.method} {c.path}" for c in calls(mock)] == [
        "GET /api/info", "POST /api/v1/login", "GET /api/v1/users.info?username=atsd_bot",
        "GET /api/v1/integrations.list?offset=0&count=50&name=atsd-bot",
        "POST /api/v1/integrations.create", "POST /api/v1/logout"]
    (body,) = _sent(mock, "/api/v1/integrations.create")
    token = body.pop("token")
    assert isinstance(token, str) and len(token) >= 40
    assert body == {
        "type": "webhook-outgoing", "name": "atsd-bot", "enabled": True, "event": "sendMessage",
        "channel": "@atsd_bot", "urls": [URL], "username": "atsd_bot", "scriptEnabled": True,
        "script": script_for("rocketchat", "we'b\"pw"), "triggerWords": [], "runOnEdits": False,
        "retryFailedCalls": True, "retryCount": 6, "retryDelay": "powers-of-ten"}
    doc = result.doc
    assert doc["status"] == "created" and doc["changes"] == ["create integration 'atsd-bot'"]
    assert doc["integration"]["_id"] == next(iter(fake.integrations))
    assert doc["integration"]["url"] == URL
    # the summary carries atsd-bot's config as TOML that parses and matches
    config = tomllib.loads(doc["atsd_bot_config"]["users"]
                           + doc["atsd_bot_config"]["webhook.tokens"])
    (user,) = config["users"]
    assert user["name"] == "rocketchat" and user["roles"] == ["webhook"]
    assert check_password_hash(user["password_hash"], "we'b\"pw")
    assert config["webhook"]["tokens"] == {"rocket.chat": token}
    assert "we'b" not in result.out + result.err  # the password only as a hash
    assert "script" not in doc["integration"]


def test_script_sends_basic_credentials_and_leaves_the_url_alone() -> None:
    script = script_for("hook", "p&ss'w\"rd")
    assert "auth: \"hook:p&ss'w\\\"rd\"," in script  # one JSON-escaped JS string literal
    assert "url: request.url," in script and "content: request.data" in script
    assert "data: request.data," in script and "headers: request.headers," in script
    assert "method: 'POST'" in script
    assert "request.data.text" not in script  # the text is never spliced into the URL


def test_second_run_is_unchanged_and_keeps_the_token(
        bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    first = run_script(main, admin_args(*ARGS))
    mock.calls.reset()
    second = run_script(main, admin_args(*ARGS))
    assert second.code == 0, second.err
    assert second.doc["status"] == "unchanged" and second.doc["changes"] == []
    assert second.doc["atsd_bot_config"]["webhook.tokens"] == \
        first.doc["atsd_bot_config"]["webhook.tokens"]
    assert [c.method for c in calls(mock)] == ["GET", "POST", "GET", "GET", "POST"]
    assert calls(mock)[-1].path == "/api/v1/logout"


def test_changed_arguments_update_with_a_full_put(
        bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    run_script(main, admin_args(*ARGS))
    (ident, stored) = next(iter(fake.integrations.items()))
    token = stored["token"]
    stored["enabled"] = False  # someone switched it off in the UI
    mock.calls.reset()
    result = run_script(main, admin_args(*ARGS, "--retry", "0", "--trigger-words", "!a, !b"))
    assert result.code == 0, result.err
    assert result.doc["status"] == "updated"
    assert result.doc["changes"] == ["enabled", "triggerWords", "retryFailedCalls",
                                     "retryCount", "retryDelay"]
    put = [c for c in calls(mock) if c.method == "PUT"]
    assert len(put) == 1 and put[0].path == "/api/v1/integrations.update"
    assert put[0].body == {
        "integrationId": ident, "type": "webhook-outgoing", "name": "atsd-bot", "enabled": True,
        "event": "sendMessage", "channel": "@atsd_bot", "urls": [URL], "username": "atsd_bot",
        "scriptEnabled": True, "script": script_for("rocketchat", "we'b\"pw"),
        "triggerWords": ["!a", "!b"], "runOnEdits": False, "token": token,
        "retryFailedCalls": False}
    again = run_script(main, admin_args(*ARGS, "--retry", "0", "--trigger-words", "!a,!b"))
    assert again.doc["status"] == "unchanged"


def test_new_webhook_password_changes_only_the_script(
        bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, _ = bot
    run_script(main, admin_args(*ARGS))
    argv = admin_args(*ARGS[:-1], "new-password")
    result = run_script(main, argv)
    assert result.doc["changes"] == ["script"]
    assert "new-password" in next(iter(fake.integrations.values()))["script"]


def test_given_token_and_channel(bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    result = run_script(main, admin_args(*ARGS, "--token", "tok-1", "--channel",
                                         "@atsd_bot, #ops", "--name", "ops hook"))
    assert result.code == 0, result.err
    (body,) = _sent(mock, "/api/v1/integrations.create")
    assert body["token"] == "tok-1" and body["channel"] == "@atsd_bot,#ops"
    assert body["name"] == "ops hook"
    assert calls(mock)[3].path.endswith("name=ops%20hook")
    assert run_script(main, admin_args(*ARGS, "--token", "tok-1", "--channel", "@atsd_bot,#ops",
                                       "--name", "ops hook")).doc["status"] == "unchanged"


def test_dry_run_creates_nothing(bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    result = run_script(main, admin_args(*ARGS, "--dry-run"))
    assert result.doc["status"] == "created" and result.doc["dry_run"] is True
    assert fake.integrations == {}
    assert all(c.method == "GET" or c.path in ("/api/v1/login", "/api/v1/logout")
               for c in calls(mock))


def test_dry_run_on_a_changed_integration(bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    run_script(main, admin_args(*ARGS))
    mock.calls.reset()
    result = run_script(main, admin_args(*ARGS, "--retry", "2", "--dry-run"))
    assert result.doc["status"] == "updated" and result.doc["changes"] == ["retryCount"]
    assert not any(c.method == "PUT" for c in calls(mock))


def test_similar_names_are_not_confused(bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, mock = bot
    fake.integrations["other"] = {"_id": "other", "name": "atsd-bot-old",
                                  "type": "webhook-outgoing", "channel": ["@x"]}
    result = run_script(main, admin_args(*ARGS))
    assert result.doc["status"] == "created"


def _error_line(result: Outcome) -> str:
    assert result.out == "" and "Traceback" not in result.err
    lines = result.err.splitlines()
    assert lines[-1].startswith("error: ") and sum(x.startswith("error: ") for x in lines) == 1
    return lines[-1]


def test_duplicate_integrations_are_a_conflict(bot: RC,
                                               run_script: Callable[..., Outcome]) -> None:
    fake, _ = bot
    for ident in ("a", "b"):
        fake.integrations[ident] = {"_id": ident, "name": "atsd-bot", "type": "webhook-outgoing"}
    result = run_script(main, admin_args(*ARGS))
    assert result.code == 5 and "remove the extras" in _error_line(result)


def test_missing_bot_user(rc: RC, run_script: Callable[..., Outcome]) -> None:
    result = run_script(main, admin_args(*ARGS))
    assert result.code == 5 and "atsd-bot-create-user" in _error_line(result)


@pytest.mark.parametrize("extra,words", [
    (["--webhook-url", "https://u:p@atsd.example"], "user:password@"),
    (["--webhook-url", "atsd.example"], "http(s)"),
    (["--channel", "ops"], "must start with # or @"),
    (["--retry", "-1"], "0 or more"),
    (["--retry", "many"], "invalid int"),
])
def test_bad_arguments(bot: RC, run_script: Callable[..., Outcome], extra: list[str],
                       words: str) -> None:
    result = run_script(main, admin_args(*ARGS, *extra))
    assert result.code == 2 and words in _error_line(result)


def test_permission_denied_on_create(bot: RC, run_script: Callable[..., Outcome]) -> None:
    fake, _ = bot
    fake.fail["integrations.create"] = (403, {}, json.dumps({
        "success": False, "error": "Unauthorized [error-unauthorized]"}))
    result = run_script(main, admin_args(*ARGS))
    assert result.code == 3 and "permission denied" in _error_line(result)
    del fake.fail["integrations.create"]
    assert run_script(main, admin_args(*ARGS)).doc["status"] == "created"  # a re-run finishes


def test_validation_error_names_the_server_code(bot: RC,
                                                run_script: Callable[..., Outcome]) -> None:
    fake, _ = bot
    fake.fail["integrations.create"] = (400, {}, json.dumps({
        "success": False, "error": "Invalid channel [error-invalid-channel]",
        "errorType": "error-invalid-channel"}))
    line = _error_line(run_script(main, admin_args(*ARGS)))
    assert "error-invalid-channel" in line
