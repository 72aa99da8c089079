"""REST: envelopes, status codes, validation, auth, tokens, 2FA, limits.

Rooms, messages and integrations: test_rest_rooms.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import api, rest_login, sha256

# -- login and auth -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"user": "alice", "password": "alice-pw"},
        {"user": "alice@example.invalid", "password": "alice-pw"},
        {"username": "alice", "password": "alice-pw"},
        {"email": "alice@example.invalid", "password": "alice-pw"},
        {
            "user": {"username": "alice"},
            "password": {"digest": sha256("alice-pw"), "algorithm": "sha-256"},
        },  # fmt: skip
    ],
)
def test_login_shapes(sim: Simulator, body: dict[str, Any]) -> None:
    answer = api(sim, "POST", "login", json=body)
    assert answer.status_code == 200
    assert (
        answer.json()["status"] == "success" and answer.json()["data"]["me"]["username"] == "alice"
    )


def test_login_by_resume_and_logout(sim: Simulator) -> None:
    headers = rest_login(sim, "alice", "alice-pw")
    resumed = api(sim, "POST", "login", json={"resume": headers["X-Auth-Token"]})
    assert resumed.json()["data"]["userId"] == headers["X-User-Id"]
    out = api(sim, "POST", "logout", headers=headers)
    assert out.json() == {"status": "success", "data": {"message": "You've been logged out!"}}
    assert api(sim, "GET", "me", headers=headers).status_code == 401


def test_login_failures_are_401(sim: Simulator) -> None:
    wrong = api(sim, "POST", "login", json={"user": "alice", "password": "nope"})
    form = api(sim, "POST", "login", data={"user": "alice", "password": "alice-pw"})
    expected = {
        "success": False,
        "error": "Unauthorized",
        "status": "error",
        "message": "Unauthorized",
    }
    assert (wrong.status_code, wrong.json()) == (401, expected)
    assert (form.status_code, form.json()) == (401, expected)


def test_missing_or_bad_credentials_give_the_401_body(sim: Simulator) -> None:
    message = "You must be logged in to do this."
    for headers in ({}, {"X-User-Id": "x", "X-Auth-Token": "y"}):
        answer = api(sim, "GET", "me", headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"success": False, "status": "error", "message": message,
                                 "error": message}  # fmt: skip


def test_unknown_route_is_404(sim: Simulator) -> None:
    answer = api(sim, "GET", "no.such.route")
    assert answer.status_code == 404 and answer.json()["status"] == "error"


# -- users --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"email": "a@b.c", "name": "n", "password": "p"},
            "must have required property 'username'",
        ),
        (
            {"email": "a@b.c", "name": "n", "password": "p", "username": "u", "x": 1},
            "must NOT have additional properties",
        ),  # fmt: skip
        (
            {"email": "a@b.c", "name": "n", "password": "p", "username": "u", "roles": "bot"},
            "/roles must be array",
        ),  # fmt: skip
    ],
)
def test_users_create_validation(sim: Simulator, body: dict[str, Any], error: str) -> None:
    answer = api(sim, "POST", "users.create", rest_login(sim, "admin", "admin"), json=body)
    assert answer.status_code == 400
    assert answer.json() == {"success": False, "error": f"{error} [invalid-params]",
                             "errorType": "invalid-params"}  # fmt: skip


def test_users_create_needs_permission_and_unique_names(sim: Simulator) -> None:
    body = {"email": "c@d.e", "name": "Carol", "password": "pw", "username": "carol"}
    forbidden = api(sim, "POST", "users.create", rest_login(sim, "alice", "alice-pw"), json=body)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"].endswith("[error-unauthorized]")
    admin = rest_login(sim, "admin", "admin")
    assert api(sim, "POST", "users.create", admin, json=body).status_code == 200
    again = api(sim, "POST", "users.create", admin, json={**body, "email": "other@d.e"})
    assert again.json()["error"] == "carol is already in use :( [error-field-unavailable]"
    info = api(sim, "GET", "users.info?username=carol", admin).json()
    assert info["user"]["roles"] == ["user"]
    missing = api(sim, "GET", "users.info?username=nobody", admin)
    assert (missing.status_code, missing.json()) == (
        400,
        {"success": False, "error": "User not found."},
    )


# -- two-factor and personal access tokens --------------------------------------------------


def test_two_factor_route_needs_the_password_fallback(sim: Simulator) -> None:
    alice = rest_login(sim, "alice", "alice-pw")
    body = {"tokenName": "ci", "bypassTwoFactor": True}
    refused = api(sim, "POST", "users.generatePersonalAccessToken", alice, json=body)
    assert refused.status_code == 400 and refused.json()["errorType"] == "totp-required"
    assert refused.json()["details"]["method"] == "password"
    headers = {**alice, "x-2fa-code": sha256("alice-pw"), "x-2fa-method": "password"}
    token = api(sim, "POST", "users.generatePersonalAccessToken", headers, json=body).json()
    assert token["success"] is True
    pat = {"X-User-Id": alice["X-User-Id"], "X-Auth-Token": token["token"]}
    assert api(sim, "GET", "me", pat).json()["username"] == "alice"
    update = {"userId": alice["X-User-Id"], "data": {"name": "Alice A."}}
    assert api(sim, "POST", "users.update", pat, json=update).json()["user"]["name"] == "Alice A."


def test_bots_may_not_create_personal_access_tokens(sim: Simulator) -> None:
    bot = rest_login(sim, "bot", "bot-pw")
    headers = {**bot, "x-2fa-code": sha256("bot-pw"), "x-2fa-method": "password"}
    answer = api(sim, "POST", "users.generatePersonalAccessToken", headers, json={"tokenName": "t"})
    assert answer.status_code == 400 and answer.json()["errorType"] == "not-authorized"


def test_fallback_can_be_switched_off(rc_server_factory: Callable[..., Simulator]) -> None:
    sim = rc_server_factory(enforce_password_fallback=False)
    admin = rest_login(sim, "admin", "admin")
    answer = api(sim, "POST", "users.generatePersonalAccessToken", admin, json={"tokenName": "x"})
    assert answer.status_code == 200 and answer.json()["token"]


def test_totp_user_login(sim: Simulator) -> None:
    sim.create_user("secure", "pw", two_factor=True)
    refused = api(sim, "POST", "login", json={"user": "secure", "password": "pw"})
    assert refused.status_code == 401 and refused.json()["errorType"] == "totp-required"
    ok = api(sim, "POST", "login", json={"user": "secure", "password": "pw",
                                        "code": sim.totp_code("secure")})  # fmt: skip
    assert ok.status_code == 200


# -- rate limits and outages ----------------------------------------------------------------


def test_rest_rate_limit_headers_and_429(sim: Simulator) -> None:
    alice = rest_login(sim, "alice", "alice-pw")
    answers = [api(sim, "GET", "me", alice) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    first = answers[0].headers
    assert first["X-RateLimit-Limit"] == "10" and first["X-RateLimit-Remaining"] == "9"
    reset = int(first["X-RateLimit-Reset"])
    assert 0 < reset - time.time() * 1000 <= 60_000
    assert answers[10].json()["error"].endswith("[error-too-many-requests]")
    assert answers[10].json()["success"] is False


def test_admins_and_bots_bypass_unless_forced(sim: Simulator) -> None:
    bot = rest_login(sim, "bot", "bot-pw")
    answers = [api(sim, "GET", "me", bot) for _ in range(12)]
    assert all(a.status_code == 200 and "X-RateLimit-Limit" not in a.headers for a in answers)
    sim.force_rate_limit("me", 2)
    assert [api(sim, "GET", "me", bot).status_code for _ in range(3)] == [429, 429, 200]
    sim.set_rate_limit("chat.postMessage", 1, 60, force=True)
    post = {"channel": "#general", "text": "x"}
    codes = [api(sim, "POST", "chat.postMessage", bot, json=post).status_code for _ in range(2)]
    assert codes == [200, 429]


def test_rest_down_answers_503_then_recovers(sim: Simulator) -> None:
    sim.rest_down(0.3)
    assert requests.get(f"{sim.url}/api/info", timeout=5).status_code == 503
    assert (
        api(sim, "POST", "login", json={"user": "alice", "password": "alice-pw"}).status_code == 503
    )
    deadline = time.monotonic() + 5
    while requests.get(f"{sim.url}/api/info", timeout=5).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.05)
