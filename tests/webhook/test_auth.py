"""Authentication: Basic (also from URL credentials), roles, hashes, incidents, throttling."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest
import requests

from rules.store import Database
from rules.store.diagnostics import list_incidents
from tests.webhook.conftest import (
    API,
    HASHED_PASSWORD,
    Harness,
    basic,
    make_harness,
    make_settings,
)
from tests.webhook.live import serve
from webhook.auth import Authenticator, parse_basic

URL = "/api/v1/messages/webhook/jenkins"


def incidents(hx: Harness) -> list[dict[str, Any]]:
    with hx.ctx.db.connect() as conn:
        return list_incidents(conn, 100)


@pytest.mark.parametrize(("headers", "reason", "user"), [
    ({}, "no credentials", None),
    ({"Authorization": "Bearer abc"}, "malformed Authorization header", None),
    ({"Authorization": "Basic !!!"}, "not base64", None),
    ({"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, "user:password",
     None),
    (basic("nobody", "x"), "unknown user", "nobody"),
    (basic("hook", "Pw-Tried-42"), "wrong password", "hook"),
])
def test_refusals_are_401_with_an_incident(hx: Harness, headers: dict[str, str], reason: str,
                                           user: str | None) -> None:
    response = hx.client.post(URL, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert "error" in response.get_json()
    found = incidents(hx)
    assert len(found) == 1 and reason in found[0]["reason"] and found[0]["user"] == user
    assert found[0]["remote_addr"] == "127.0.0.1" and found[0]["path"].startswith(URL)
    assert "Pw-Tried-42" not in str(found)


def test_unknown_user_and_wrong_password_answer_the_same(hx: Harness) -> None:
    a = hx.client.post(URL, headers=basic("nobody", "x")).get_json()
    b = hx.client.post(URL, headers=basic("hook", "x")).get_json()
    assert a == b == {"error": "invalid user name or password"}


def test_role_is_required(hx: Harness) -> None:
    assert hx.client.post(URL, headers=API).status_code == 403
    assert hx.client.post(URL, headers=basic("admin", "admin-pass")).status_code == 200
    assert hx.client.get("/api/v1/webhooks/requests", headers=basic("hook", "hook-pass")
                         ).status_code == 403
    assert "role" in incidents(hx)[0]["reason"]


def test_password_hash_users(hx: Harness) -> None:
    assert hx.client.post(URL, headers=basic("hashed", HASHED_PASSWORD)).status_code == 200
    assert hx.client.post(URL, headers=basic("hashed", HASHED_PASSWORD)).status_code == 200
    assert hx.client.post(URL, headers=basic("hashed", "nope")).status_code == 401


def test_verify_password(sqlite_db: Database) -> None:
    from rules.clock import ManualClock

    auth = Authenticator(make_settings(), sqlite_db, ManualClock())
    assert auth.verify_password("hook", "hook-pass") is not None
    assert auth.verify_password("hook", "hook-pas") is None
    assert auth.verify_password("hook", "") is None
    assert auth.verify_password("ghost", "hook-pass") is None
    assert auth.verify_password("hashed", HASHED_PASSWORD) is not None
    assert auth.verify_password("hashed", HASHED_PASSWORD + "x") is None


def test_utf8_and_latin1_credentials() -> None:
    utf8 = "Basic " + base64.b64encode("jürgen:pässwörd".encode()).decode()
    latin1 = "Basic " + base64.b64encode("jürgen:pässwörd".encode("latin-1")).decode()
    assert parse_basic(utf8) == parse_basic(latin1) == ("jürgen", "pässwörd")
    assert parse_basic("basic " + base64.b64encode(b"u:p:q").decode()) == ("u", "p:q")


def test_throttling_after_repeated_failures(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    for _ in range(10):
        assert hx.client.post(URL, headers=basic("hook", "bad")).status_code == 401
    blocked = hx.client.post(URL, headers=basic("hook", "hook-pass"))
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) == 60
    assert incidents(hx)[0]["reason"].startswith("throttled")
    assert len(incidents(hx)) == 11
    other = hx.client.post(URL, headers=basic("hook", "hook-pass"),
                           environ_base={"REMOTE_ADDR": "192.0.2.50"})
    assert other.status_code == 200
    hx.clock.advance(30)
    assert int(hx.client.post(URL, headers=basic("hook", "hook-pass")
                              ).headers["Retry-After"]) == 30
    hx.clock.advance(31)
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 200


def test_a_throttled_user_does_not_lock_out_the_others_at_its_address(
        sqlite_db: Database) -> None:
    # One Rocket.Chat server posts every integration from one address: a mistyped password
    # in one of them must not stop the others.
    hx = make_harness(sqlite_db)
    for _ in range(10):
        assert hx.client.post(URL, headers=basic("hook", "mistyped")).status_code == 401
    throttled = hx.client.post(URL, headers=basic("hook", "hook-pass"))
    assert throttled.status_code == 429 and "retry later" in throttled.get_json()["error"]
    assert incidents(hx)[0]["user"] == "hook"
    assert hx.client.post(URL, headers=basic("limited", "limited-pass")).status_code == 200
    assert hx.client.post(URL, headers=basic("hashed", HASHED_PASSWORD)).status_code == 200
    assert hx.client.post(URL, headers=basic("limited", "wrong")).status_code == 401


def test_a_wrong_body_token_counts_for_its_user_only(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    rc = "/api/v1/messages/webhook/rocket.chat"
    for _ in range(10):
        answer = hx.client.post(rc, json={"token": "wrong", "text": "x"},
                                headers=basic("hook", "hook-pass"))
        assert answer.status_code == 403
    assert hx.client.post(rc, json={"token": "wrong"}, headers=basic("hook", "hook-pass")
                          ).status_code == 429
    assert hx.client.post(URL, headers=basic("limited", "limited-pass")).status_code == 200


def test_failures_spread_over_time_do_not_throttle(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    for _ in range(20):
        hx.client.post(URL, headers=basic("hook", "bad"))
        hx.clock.advance(7)  # fewer than 10 within any 60 s
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 200


def test_throttle_uses_the_forwarded_client_behind_a_trusted_proxy(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(10):
        hx.client.post(URL, headers={**basic("hook", "bad"), "X-Forwarded-For": "203.0.113.1"},
                       environ_base=proxy)
    assert incidents(hx)[0]["remote_addr"] == "203.0.113.1"
    ok = hx.client.post(URL, headers={**basic("hook", "hook-pass"),
                                      "X-Forwarded-For": "203.0.113.2"}, environ_base=proxy)
    assert ok.status_code == 200


def test_credentials_in_the_url_over_real_http(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    with serve(hx.app) as base:
        url = base.replace("http://", "http://hook:hook-pass@") + URL + "?debug=true"
        response = requests.post(url, json={"a": "b"}, timeout=10)
        assert response.status_code == 200 and response.json()["tags"]["a"] == "b"
        bad = base.replace("http://", "http://hook:nope@") + URL
        assert requests.post(bad, json={}, timeout=10).status_code == 401
        big = requests.post(url, data=b"x" * 100_000, timeout=10,
                            headers={"Content-Type": "application/json"})
        assert big.status_code == 413 and "too large" in big.json()["error"]


def test_concurrent_requests_over_real_http_are_all_stored_and_logged(
        sqlite_db: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from rules.store.tables import base as schema
    from tests.webhook.conftest import rc_payload

    hx = make_harness(sqlite_db)
    with serve(hx.app, threads=8) as base:
        url = base + "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"

        def post(i: int) -> int:
            payload = {**rc_payload(), "message_id": f"m-{i % 40}", "text": f"t{i}"}
            with requests.Session() as session:
                return session.post(url, json=payload, auth=("hook", "hook-pass"),
                                    timeout=30).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(post, range(60)))  # 20 re-deliveries among them
    assert statuses == [200] * 60
    assert hx.ctx.request_log.flush()
    with sqlite_db.connect() as conn:
        messages = conn.execute(select(func.count()).select_from(schema.messages)).scalar()
        rows = conn.execute(select(schema.webhook_requests.c.outcome, func.count())
                            .group_by(schema.webhook_requests.c.outcome)).all()
        outcomes = {str(outcome): int(count) for outcome, count in rows}
    assert messages == 40
    assert outcomes == {"stored": 40, "duplicate": 20}


def test_an_accepted_header_is_remembered_until_a_reload(sqlite_db: Database,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    hx = make_harness(sqlite_db)
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 200
    checks: list[str] = []
    verify = hx.ctx.authenticator.verify_password
    monkeypatch.setattr(hx.ctx.authenticator, "verify_password",
                        lambda name, password: checks.append(name) or verify(name, password))
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 200
    assert checks == []  # the same header again: not decoded and compared again
    assert hx.client.post(URL, headers=basic("hook", "hook-pas")).status_code == 401
    assert checks == ["hook"]
    # a reload with another password forgets what was accepted
    changed = make_settings()
    users = tuple(replace(u, password="new-pass") if u.name == "hook" else u
                  for u in changed.users)
    hx.ctx.use_settings(replace(changed, users=users))
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 401
    assert hx.client.post(URL, headers=basic("hook", "new-pass")).status_code == 200


def test_a_remembered_header_is_still_throttled_and_role_checked(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 200
    assert hx.client.get("/api/v1/webhooks/requests", headers=basic("hook", "hook-pass")
                         ).status_code == 403
    for _ in range(10):
        assert hx.client.post(URL, headers=basic("hook", "bad")).status_code == 401
    blocked = hx.client.post(URL, headers=basic("hook", "hook-pass"))
    assert blocked.status_code == 429
    hx.clock.advance(61)
    assert hx.client.post(URL, headers=basic("hook", "hook-pass")).status_code == 200
