"""Diagnostics API, replay, and ATSD's /api/v1/messages/query and /insert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rules.store import Database
from tests.webhook.conftest import ADMIN, API, HOOK, Harness, make_harness, rc_payload
from webhook.receiver import replay_request

RC = "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"
INSERT = "/api/v1/messages/insert"
QUERY = "/api/v1/messages/query"
RANGE = {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-01-03T00:00:00Z"}


def api(hx: Harness, url: str, body: Any = None, headers: dict[str, str] = API) -> Any:
    if body is None:
        return hx.client.get(url, headers=headers)
    return hx.client.post(url, json=body, headers=headers)


# -- diagnostics ----------------------------------------------------------------------------

def test_request_log_api(hx: Harness) -> None:
    hx.post("/api/v1/messages/webhook/a?x=1", json={"k": "v"})
    hx.post("/api/v1/messages/webhook/b", data=b"{", content_type="application/json")
    listed = api(hx, "/api/v1/webhooks/requests?limit=1").get_json()
    assert len(listed) == 1 and listed[0]["status"] == 400
    assert listed[0]["path"] == "/api/v1/messages/webhook/b"
    first = api(hx, "/api/v1/webhooks/requests").get_json()[1]
    assert first["command"]["tags"]["k"] == "v" and first["received_at"].endswith("Z")
    assert first["content_type"] == "application/json" and first["size"] == len('{"k": "v"}')
    one = api(hx, f"/api/v1/webhooks/requests/{first['id']}").get_json()
    assert one == first
    assert api(hx, "/api/v1/webhooks/requests/999").status_code == 404
    assert api(hx, "/api/v1/webhooks/requests?limit=x").status_code == 400
    assert api(hx, "/api/v1/webhooks/requests", headers=ADMIN).status_code == 200
    assert api(hx, "/api/v1/webhooks/requests", headers=HOOK).status_code == 403
    assert api(hx, "/api/v1/webhooks/requests", headers={}).status_code == 401


def test_replay_resubmits_through_parse_and_ingest(hx: Harness) -> None:
    hx.post("/api/v1/messages/webhook/svc?entity=e1&header.tag.ev=X-Ev", json={"k": "v"},
            headers={"X-Ev": "push"})
    original = api(hx, "/api/v1/webhooks/requests").get_json()[0]
    new_id = replay_request(hx.ctx, original["id"])
    replayed = api(hx, f"/api/v1/webhooks/requests/{new_id}").get_json()
    assert replayed["outcome"] == "stored" and replayed["user"] == f"replay of #{original['id']}"
    assert replayed["command"]["tags"] == original["command"]["tags"]
    assert [c.tags["ev"] for c in hx.engine.seen] == ["push", "push"]


def test_replay_of_a_rocket_chat_message_is_a_duplicate(hx: Harness) -> None:
    hx.post(RC, json=rc_payload())
    log_id = api(hx, "/api/v1/webhooks/requests").get_json()[0]["id"]
    new_id = replay_request(hx.ctx, log_id)
    assert api(hx, f"/api/v1/webhooks/requests/{new_id}").get_json()["outcome"] == "duplicate"


def test_replay_errors(sqlite_db: Database) -> None:
    from tests.webhook.conftest import make_settings

    hx = make_harness(sqlite_db, make_settings(body_capture_bytes=5))
    with pytest.raises(LookupError):
        replay_request(hx.ctx, 12345)
    hx.post("/api/v1/messages/webhook/svc", json={"long": "body"})
    log_id = api(hx, "/api/v1/webhooks/requests").get_json()[0]["id"]
    with pytest.raises(ValueError, match="cut"):
        replay_request(hx.ctx, log_id)
    hx.post("/api/v1/messages/webhook/svc?severity=nope")
    bad_id = api(hx, "/api/v1/webhooks/requests").get_json()[0]["id"]
    again = replay_request(hx.ctx, bad_id)
    assert api(hx, f"/api/v1/webhooks/requests/{again}").get_json()["status"] == 400


# -- insert ---------------------------------------------------------------------------------

def test_insert_then_query(hxdb: Harness) -> None:
    messages = [
        {"entity": "Host-1", "type": "Logger", "source": "app", "severity": "WARNING",
         "date": "2026-01-02T01:00:00Z", "message": " Starting service ",
         "tags": {"Thread": "main", "n": 5, "empty": " "}},
        {"entity": "host-2", "type": "logger", "date": "2026-01-02T02:00:00Z",
         "message": "Stopped", "severity": 6, "tags": {"thread": "worker"}},
        {"entity": "host-1", "message": "in memory only", "persist": False},
    ]
    response = api(hxdb, INSERT, messages)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "received": 3, "stored": 2}
    assert [c.message for c in hxdb.engine.seen] == ["Starting service", "Stopped",
                                                     "in memory only"]
    records = api(hxdb, QUERY, [{"entity": "host-1", **RANGE}]).get_json()
    assert records == [{"date": "2026-01-02T01:00:00.000Z", "type": "logger", "source": "app",
                        "entity": "host-1", "severity": "WARNING",
                        "tags": {"thread": "main", "n": "5"}, "message": "Starting service"}]


def test_insert_validates_everything_first(hx: Harness) -> None:
    bad = [{"entity": "ok", "message": "fine"}, {"entity": "e"}]
    response = api(hx, INSERT, bad)
    assert response.status_code == 400
    assert "message[1]" in response.get_json()["error"] and "text or tags" in \
        response.get_json()["error"]
    assert hx.engine.seen == []


@pytest.mark.parametrize(("body", "text"), [
    ([{"message": "x"}], "entity is required"),
    ([{"entity": "e", "message": "x", "date": "2026-01-02 01:00:00"}], "invalid date"),
    ([{"entity": "e", "message": "x", "severity": "loud"}], "unknown severity"),
    ([{"entity": "e", "tags": {"a": {"b": 1}}}], "expected a string"),
    ([{"entity": "e", "tags": {f"t{i}": "v" for i in range(1025)}}], "at most 1024"),
    ([{"entity": "e", "message": "x", "persist": "no"}], "persist"),
    (["text"], "expected an object"),
    ({"not": "a list"}, "entity is required"),
])
def test_insert_errors(hx: Harness, body: Any, text: str) -> None:
    response = api(hx, INSERT, body)
    assert response.status_code == 400 and text in response.get_json()["error"]


def test_insert_malformed_json(hx: Harness) -> None:
    response = hx.client.post(INSERT, data=b"[{", headers={**API, "Content-Type":
                                                            "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.get_json()["error"]


# -- query ----------------------------------------------------------------------------------

@pytest.fixture
def loaded(hxdb: Harness) -> Harness:
    base = "2026-01-02T0{}:00:00Z"
    messages = [
        {"entity": "web-1", "type": "deploy", "source": "ci", "severity": "NORMAL",
         "date": base.format(1), "message": "Starting deploy", "tags": {"env": "prod"}},
        {"entity": "web-2", "type": "deploy", "source": "ci", "severity": "MAJOR",
         "date": base.format(2), "message": "Failed deploy", "tags": {"env": "test"}},
        {"entity": "db_1", "type": "backup", "source": "cron", "severity": "CRITICAL",
         "date": base.format(3), "message": "Backup failed", "tags": {"env": "prod"}},
        {"entity": "dbx1", "type": "backup", "source": "cron", "date": base.format(4),
         "message": "Backup ok", "tags": {"env": "prod"}},
    ]
    assert api(hxdb, INSERT, messages).status_code == 200
    return hxdb


def entities(hx: Harness, *queries: dict[str, Any]) -> list[str]:
    response = api(hx, QUERY, list(queries))
    assert response.status_code == 200, response.get_json()
    return [r["entity"] for r in response.get_json()]


def test_query_filters(loaded: Harness) -> None:
    assert entities(loaded, {"entity": "web-*", **RANGE}) == ["web-2", "web-1"]
    assert entities(loaded, {"entities": ["web-1", "db_?"], **RANGE}) == ["db_1", "web-1"]
    assert entities(loaded, {"entity": "web-1", "entities": ["db_1"], **RANGE}) == ["web-1"]
    assert entities(loaded, {"entity": "*", "type": "Backup", **RANGE}) == ["dbx1", "db_1"]
    assert entities(loaded, {"entity": "*", "source": "ci", "limit": 1, **RANGE}) == ["web-2"]
    assert entities(loaded, {"entity": "*", "tags": {"env": "prod"}, "limit": 2, **RANGE}
                    ) == ["dbx1", "db_1"]
    assert entities(loaded, {"entity": "*", "severity": "major", **RANGE}) == ["web-2"]
    assert entities(loaded, {"entity": "*", "severities": ["NORMAL", 6], **RANGE}
                    ) == ["db_1", "web-1"]
    assert entities(loaded, {"entity": "*", "minSeverity": "MAJOR", **RANGE}) == ["db_1",
                                                                                  "web-2"]
    # db_1 must not match db?1 via SQL's own "_" wildcard the other way round
    assert entities(loaded, {"entity": "db_1", **RANGE}) == ["db_1"]


def test_query_dates(loaded: Harness) -> None:
    q: dict[str, Any] = {"entity": "*", "startDate": "2026-01-02T02:00:00Z",
                         "endDate": "2026-01-02T04:00:00Z"}
    assert entities(loaded, q) == ["db_1", "web-2"]  # end exclusive
    q = {"entity": "*", "startDate": "2026-01-02T02:00:00Z",
         "interval": {"count": 0.5, "unit": "HOUR"}}
    assert entities(loaded, q) == ["web-2"]
    q = {"entity": "*", "endDate": "2026-01-02T03:00:01Z", "interval": {"count": 1,
                                                                      "unit": "HOUR"}}
    assert entities(loaded, q) == ["db_1"]
    loaded.clock.set(loaded.clock.now().replace(hour=4, minute=30))
    assert entities(loaded, {"entity": "*", "startDate": "now - 1 * HOUR", "endDate": "now"}
                    ) == ["dbx1"]
    assert entities(loaded, {"entity": "*", "interval": {"count": 1, "unit": "DAY"}}) == [
        "dbx1", "db_1", "web-2", "web-1"]
    loaded.clock.advance(timedelta(days=2))


def test_query_concatenates_queries_in_order(loaded: Harness) -> None:
    assert entities(loaded, {"entity": "web-1", **RANGE}, {"entity": "dbx1", **RANGE}) == [
        "web-1", "dbx1"]


@pytest.mark.parametrize(("query", "text"), [
    ({"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-01-02T00:00:00Z"}, "entity"),
    ({"entity": "x"}, "startDate"),
    ({"entity": "x", "startDate": "2026-01-01"}, "invalid date"),
    ({"entity": "x", **RANGE, "interval": {"count": 1, "unit": "FORTNIGHT"}}, "unit"),
    ({"entity": "x", **RANGE, "limit": "ten"}, "limit"),
    ({"entity": "x", **RANGE, "severity": "loud"}, "severity"),
    ({"entity": "x", **RANGE, "entities": "notalist"}, None),
    ({"entities": [], **RANGE}, "entities"),
    ({"entity": "x", **RANGE, "tags": ["a"]}, "tags"),
])
def test_query_errors(hx: Harness, query: dict[str, Any], text: str | None) -> None:
    response = api(hx, QUERY, [query])
    if text is None:  # entity wins over a malformed entities: still fine
        assert response.status_code == 200
        return
    assert response.status_code == 400 and text in response.get_json()["error"]
    assert "query[0]" in response.get_json()["error"]


def test_query_expression(loaded: Harness) -> None:
    try:
        from rules.expr import compile_expression  # noqa: F401
    except ImportError:
        response = api(loaded, QUERY, [{"entity": "*", **RANGE,
                                        "expression": "message LIKE 'Starting*'"}])
        assert response.status_code == 400
        assert "expression filter not available" in response.get_json()["error"]
        return
    assert entities(loaded, {"entity": "*", **RANGE,
                             "expression": "message LIKE 'Starting*'"}) == ["web-1"]
    assert entities(loaded, {"entity": "*", **RANGE,
                             "expression": "tags.env = 'prod' AND type = 'backup'"}
                    ) == ["dbx1", "db_1"]
    bad = api(loaded, QUERY, [{"entity": "*", **RANGE, "expression": "message LIKE ("}])
    assert bad.status_code == 400 and "query[0].expression" in bad.get_json()["error"]
