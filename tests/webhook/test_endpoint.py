"""The endpoint over HTTP (Flask test client): durability, Rocket.Chat rules, bad input, log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from rules.store import Database
from rules.store.diagnostics import list_requests
from rules.store.tables import base as schema
from tests.webhook.conftest import (
    HOOK,
    RC_TOKEN,
    Harness,
    make_harness,
    make_settings,
    rc_payload,
)

RC = "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"
URL = "/api/v1/messages/webhook"


def stored(db: Database) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(schema.messages).order_by(schema.messages.c.id)))


def last_log(hx: Harness) -> dict[str, Any]:
    hx.flush()
    with hx.ctx.db.connect() as conn:
        return list_requests(conn, 1)[0]


def test_ok_only_after_the_command_is_stored(hxdb: Harness) -> None:
    response = hxdb.post(f"{URL}/jenkins?entity=test-1&action=started", json={"a": 1})
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    rows = stored(hxdb.ctx.db)
    assert [(r.entity, r.source, r.tags["action"], r.path) for r in rows] == [
        ("test-1", "jenkins", "started", "webhook")]
    assert hxdb.engine.seen[0].entity == "test-1"
    log = last_log(hxdb)
    assert (log["outcome"], log["status"], log["message_id"], log["user"]) == (
        "stored", 200, rows[0].id, "hook")


def test_get_and_form_requests(hx: Harness) -> None:
    assert hx.get(f"{URL}/svc?entity=e1&x=1").status_code == 200
    response = hx.post(f"{URL}/svc", data={"Field One": "v", "n": "2"})
    assert response.status_code == 200
    assert stored(hx.ctx.db)[1].tags == {"field_one": "v", "n": "2", "request_ip": "127.0.0.1"}


def test_trailing_slash_and_nested_paths(hx: Harness) -> None:
    assert hx.debug(f"{URL}/ci/jenkins-1/")["entity"] == "ci/jenkins-1"
    assert hx.post(f"{URL}/?entity=e").status_code == 200


def test_debug_returns_the_command(hx: Harness) -> None:
    body = hx.debug(f"{URL}/x?severity=warn&date=2016-06-09T16:15:04.005Z&message=m",
                    json={"k": "v"})
    assert body == {"entity": "x", "type": "webhook", "source": "x", "severity": "WARNING",
                    "date": "2016-06-09T16:15:04.005Z", "message": "m",
                    "tags": {"k": "v", "request_ip": "127.0.0.1"}}


def test_both_rocket_chat_forms_store_the_same_command(sqlite_db: Database) -> None:
    payload = rc_payload()
    commands = []
    for url in (f"{URL}/rocket.chat?message={payload['text']}&exclude=text", RC):
        hx = make_harness(sqlite_db)
        with sqlite_db.begin() as conn:  # a fresh once-only state for each form
            conn.execute(schema.processed_keys.delete())
        commands.append(hx.debug(url, json=payload))
    assert commands[0] == commands[1]
    assert commands[0]["message"] == "hi" and commands[0]["entity"] == "rocket.chat"


def test_rocket_chat_message_is_processed_once(hxdb: Harness) -> None:
    payload = rc_payload()
    first = hxdb.post(RC, json=payload)
    second = hxdb.post(RC, json=payload)
    assert first.get_json() == {"status": "ok"}
    assert second.status_code == 200 and second.get_json() == {"status": "duplicate"}
    assert len(stored(hxdb.ctx.db)) == 1 and len(hxdb.engine.seen) == 1
    debug = hxdb.post(RC + "&debug=true", json=payload).get_json()
    assert debug["duplicate"] is True and debug["message"] == "hi"
    assert last_log(hxdb)["outcome"] == "duplicate"


def test_an_edit_is_a_new_message_once(hx: Harness) -> None:
    payload = rc_payload()
    hx.post(RC, json=payload)
    edited = {**payload, "text": "hi again", "isEdited": True}
    assert hx.post(RC, json=edited).get_json() == {"status": "ok"}
    assert hx.post(RC, json=edited).get_json() == {"status": "duplicate"}
    assert [r.message for r in stored(hx.ctx.db)] == ["hi", "hi again"]


def test_other_paths_are_not_deduplicated(hx: Harness) -> None:
    payload = rc_payload()
    del payload["token"]
    hx.post(f"{URL}/other", json=payload)
    hx.post(f"{URL}/other", json=payload)
    assert len(stored(hx.ctx.db)) == 2


@pytest.mark.parametrize("change", [{"bot": True}, {"bot": {"i": "integration-1"}},
                                    {"user_name": "atsd_bot"}, {"user_name": "ATSD_Bot"}])
def test_loop_guard(hx: Harness, change: dict[str, Any]) -> None:
    response = hx.post(RC, json={**rc_payload(), **change})
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ignored"
    assert "loop guard" in body["reason"]
    assert stored(hx.ctx.db) == [] and hx.engine.seen == []
    log = last_log(hx)
    assert log["outcome"] == "ignored" and "loop guard" in log["error"]


def test_loop_guard_by_user_id(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db)
    from rules.message_keys import BotIdentity

    hx.ctx.bot_identity = lambda: BotIdentity(user_id="zk8ei6fZYTxnNdbWg")
    assert hx.post(RC, json=rc_payload()).get_json()["status"] == "ignored"


def test_token_mismatch_is_403_and_an_incident(hx: Harness) -> None:
    for token in ("wrong", None):
        payload = rc_payload()
        payload["token"] = token
        response = hx.post(RC, json=payload)
        assert response.status_code == 403 and response.get_json() == {"error": "token mismatch"}
    assert stored(hx.ctx.db) == []
    incidents = hx.client.get("/api/v1/security/incidents", headers=_api()).get_json()
    assert [i["reason"] for i in incidents] == ["token mismatch", "token mismatch"]
    assert incidents[0]["user"] == "hook"


def _api() -> dict[str, str]:
    from tests.webhook.conftest import API

    return API


def test_token_is_never_stored(hx: Harness) -> None:
    hx.post(RC, json=rc_payload())
    hx.post(f"{URL}/other?token=querysecret", data={"token": "formsecret", "a": "1"})
    dump = json.dumps([dict(r._mapping) for r in stored(hx.ctx.db)], default=str)
    hx.flush()
    with hx.ctx.db.connect() as conn:
        dump += json.dumps(list_requests(conn, 100), default=str)
    for secret in (RC_TOKEN, "querysecret", "formsecret", "hook-pass"):
        assert secret not in dump
    assert '"token": "***"' in last_log_body(hx, 1)


def last_log_body(hx: Harness, index: int) -> str:
    hx.flush()
    with hx.ctx.db.connect() as conn:
        return str(list_requests(conn, 10)[index]["body"])


def test_sync_reply_text(hx: Harness) -> None:
    payload = {**rc_payload(), "text": "ping now"}
    body = hx.post(RC, json=payload).get_json()
    assert body == {"status": "ok", "text": "pong\nsecond"}


def test_every_answer_has_a_json_body(hx: Harness) -> None:
    for response in (hx.post(RC, json=rc_payload()), hx.post(RC, json=rc_payload()),
                     hx.post(RC, json={**rc_payload(), "bot": True, "message_id": "z"})):
        assert response.status_code == 200 and response.get_json()
        assert response.mimetype == "application/json"


def test_entity_and_path_limits(hx: Harness) -> None:
    limited = {"Authorization": _basic("limited", "limited-pass")}
    assert hx.post(f"{URL}/jenkins", headers=limited).status_code == 200
    denied = hx.post(f"{URL}/jenkins?entity=prod-db", headers=limited)
    assert denied.status_code == 403
    assert denied.get_json() == {"error": "not permitted for this entity"}
    other = hx.post(f"{URL}/github", headers=limited)
    assert other.status_code == 403 and "path" in other.get_json()["error"]
    assert len(stored(hx.ctx.db)) == 1


def _basic(user: str, password: str) -> str:
    from tests.webhook.conftest import basic

    return basic(user, password)["Authorization"]


# -- bad input: a clear 4xx, never a 500 ----------------------------------------------------

@pytest.mark.parametrize(("kwargs", "url", "status", "text"), [
    ({"data": b'{"a": 1,', "content_type": "application/json"}, "/x", 400, "not valid JSON"),
    ({"data": b"a=1&b=2", "content_type": "application/json"}, "/x", 400, "not valid JSON"),
    ({"data": b"<a/>", "content_type": "text/xml"}, "/x", 415, "unsupported Content-Type"),
    ({"data": b'{"a": NaN}', "content_type": "application/json"}, "/x", 400, "NaN"),
    ({}, "/x?severity=bogus", 400, "unknown severity"),
    ({}, "/x?date=2016-06-09T16:15:04", 400, "invalid date"),
    ({}, "?a=1", 400, "entity is required"),
    ({"data": b'{"a": "\xff"}', "content_type": "application/json"}, "/x", 400,
     "not valid UTF-8"),
    ({"data": b"a=%ff", "content_type": "application/x-www-form-urlencoded"}, "/x", 400,
     "not valid UTF-8"),
    ({}, "/x?a=%ff", 400, "query string"),
    ({"json": {"m": "nope"}}, "/x?json.parse=m", 400, "json.parse field"),
    ({"json": {"a": "x\u0000y"}}, "/x", 400, "NUL"),
    ({"data": b'{"a": "\\ud800"}', "content_type": "application/json"}, "/x", 400,
     "surrogate"),
    ({}, "/x?command.tags=a", 400, "unknown parameter"),
    ({}, "/x?entity=" + "e" * 600, 400, "longer than 512"),
    ({"data": b"x=1", "content_type": "application/json; charset=klingon"}, "/x", 415,
     "charset"),
    # a field letter repeated past its width was re.error: redefinition of group name, a 500
    ({"json": {"message": "2016"}}, "/x?command.date=message&datetimePattern=yyyyyyyyyy", 400,
     "datetimePattern 'yyyyyyyyyy': unsupported field"),
    ({"json": {"d": "09 09"}}, "/x?command.date=d&datetimePattern=dd%20dd", 400,
     "datetimePattern 'dd dd': the field 'dd' is given twice"),
    ({"json": {"m": "[" * 100 + "]" * 100}}, "/x?json.parse=m", 400,
     "json.parse field 'm' is nested deeper"),
    ({"headers": {"X-Sev": "loud"}}, "/x?header.severity=X-Sev", 400,
     "header.severity: unknown severity"),
    ({"headers": {"X-When": "soon"}}, "/x?header.date=X-When", 400, "header.date: invalid date"),
    ({"json": {"d": "2016"}}, "/x?command.date=d&datetimePattern=dd.MM.yyyy", 400,
     "command.date: date '2016' does not match datetimePattern 'dd.MM.yyyy'"),
])
def test_bad_input(hx: Harness, kwargs: dict[str, Any], url: str, status: int,
                   text: str) -> None:
    response = hx.post(URL + url, **kwargs)
    assert response.status_code == status, response.get_data()
    assert text in response.get_json()["error"]
    assert stored(hx.ctx.db) == []
    log = last_log(hx)
    assert (log["status"], log["outcome"]) == (status, "invalid")
    assert text in log["error"]


def test_json_body_with_a_lying_type_is_read_as_json(hx: Harness) -> None:
    # curl -d sends application/x-www-form-urlencoded; the body is plainly JSON
    body = hx.debug(f"{URL}/x", data=b'{"a": {"b": 1}}',
                    content_type="application/x-www-form-urlencoded")
    assert body["tags"]["a.b"] == "1"
    plain = hx.debug(f"{URL}/x", data=b'["v"]', content_type="text/plain")
    assert plain["tags"]["[0]"] == "v"


def test_body_over_the_limit_is_413(hx: Harness) -> None:
    response = hx.post(f"{URL}/x", data=b"a=" + b"x" * 70000,
                       content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]
    assert last_log(hx)["status"] == 413


def test_more_than_1024_tags(hx: Harness) -> None:
    body = {f"f{i}": i for i in range(1025)}
    response = hx.post(f"{URL}/x", json=body)
    assert response.status_code == 400 and "too many tags" in response.get_json()["error"]
    body.pop("f0")
    assert hx.post(f"{URL}/x", json=body).status_code == 200
    assert hx.post(f"{URL}/x?exclude=f1*", json={**body, "f0": 0, "zz": 1}).status_code == 200


@pytest.mark.parametrize("depth", [65, 5000, 10000])
def test_deep_nesting_is_a_400(hx: Harness, depth: int) -> None:
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = hx.post(f"{URL}/x", data=text, content_type="application/json")
        assert response.status_code == 400
        assert "nested deeper than 64" in response.get_json()["error"]
    nested = "[" * 60 + "1" + "]" * 60
    assert hx.post(f"{URL}/x", data=nested, content_type="application/json").status_code == 200


def test_json_404_405_on_api_paths(hx: Harness) -> None:
    missing = hx.client.get("/api/v1/nothing")
    assert missing.status_code == 404 and "error" in missing.get_json()
    wrong = hx.client.delete(f"{URL}/x")
    assert wrong.status_code == 405 and "not allowed" in wrong.get_json()["error"]
    probe = hx.client.head(f"{URL}/x", headers=HOOK)
    assert probe.status_code == 405 and probe.headers["Allow"] == "GET, POST"
    assert stored(hx.ctx.db) == []


def test_a_bug_is_a_bare_500_and_logged(hx: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom with a secret detail")

    monkeypatch.setattr(hx.ctx.ingestor, "accept", broken)
    response = hx.post(f"{URL}/x")
    assert response.status_code == 500 and response.get_json() == {"error": "internal error"}
    assert b"boom" not in response.get_data() and b"Traceback" not in response.get_data()
    assert (last_log(hx)["outcome"], last_log(hx)["status"]) == ("error", 500)


def test_request_log_is_capped(sqlite_db: Database) -> None:
    hx = make_harness(sqlite_db, make_settings(request_log_size=5, body_capture_bytes=10))
    for i in range(12):
        hx.post(f"{URL}/x?i={i}", json={"long": "y" * 50})
        hx.flush()  # one batch per request: trimming is checked at every step
    with sqlite_db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(schema.webhook_requests))
        assert count.scalar_one() == 5
        newest = list_requests(conn, 100)
    assert [r["path"].split("=")[-1] for r in newest] == ["11", "10", "9", "8", "7"]
    assert all(len(r["body"]) == 10 for r in newest)


def test_healthz(hx: Harness) -> None:
    assert hx.client.get("/healthz").get_json() == {"status": "ok"}
    hx.ctx.health = lambda: {"status": "starting"}
    assert hx.client.get("/healthz").status_code == 503


def test_request_ip_behind_a_trusted_proxy_only(hx: Harness) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.7"}
    trusted = hx.debug(f"{URL}/x", headers=forwarded, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert trusted["tags"]["request_ip"] == "198.51.100.7"
    assert last_log(hx)["remote_addr"] == "198.51.100.7"
    direct = hx.debug(f"{URL}/x", headers=forwarded, environ_base={"REMOTE_ADDR": "192.0.2.3"})
    assert direct["tags"]["request_ip"] == "192.0.2.3"


def test_pages_see_every_answered_request(sqlite_db: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import Blueprint, jsonify

    from webhook.app import create_app

    page = Blueprint("page", __name__)

    @page.get("/ui/like-a-page")
    def like_a_page() -> Any:  # reads the table directly, as the web UI does
        with sqlite_db.connect() as conn:
            return jsonify(list_requests(conn, 1))

    hx = make_harness(sqlite_db)
    client = create_app(hx.ctx, [page]).test_client()
    monkeypatch.setattr(hx.ctx.request_log, "gather_seconds", 0.5)  # rows wait 0.5 s
    client.post(f"{URL}/x?marker=1", headers=HOOK)
    listed = client.get("/ui/like-a-page").get_json()
    assert listed and listed[0]["path"].endswith("marker=1")


def test_configured_secrets_are_masked_in_the_log(hx: Harness) -> None:
    hx.post(f"{URL}/x?note=a-{RC_TOKEN}-b", json={"text": f"see {RC_TOKEN}"},
            headers={"X-Note": f"has {RC_TOKEN}", "X-Api-Token": "abc"})
    log = last_log(hx)
    assert RC_TOKEN not in json.dumps(log, default=str)
    assert log["headers"]["X-Note"] == "has ***" and log["headers"]["X-Api-Token"] == "***"
    assert log["headers"]["Authorization"] == "***"
    assert log["body"] == '{"text": "see ***"}' and log["path"].endswith("note=a-***-b")
    # nor in the stored message: a configured secret is never stored
    assert stored(hx.ctx.db)[0].tags["text"] == "see ***"
    assert stored(hx.ctx.db)[0].tags["note"] == "a-***-b"
