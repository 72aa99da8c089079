"""ATSD's alert paths: query, update (acknowledge) and history, with their exact fields; and
beyond ATSD, resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rules.command import format_iso_date
from tests.api_rules.conftest import API, HOOK, START, Service
from webhook.api.rules import HISTORY_FIELDS, OPEN_FIELDS

RANGE = {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-01-03T00:00:00Z"}


def test_open_alert_of_the_seed_rule(service: Service) -> None:
    service.say("hello", alias="Al")
    response = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}])
    assert response.status_code == 200
    (alert,) = response.get_json()
    assert tuple(alert) == OPEN_FIELDS
    assert alert["rule"] == "rocketchat_reply" and alert["entity"] == "rocket.chat"
    assert alert["metric"] == "message" and alert["severity"] == "WARNING"
    assert alert["textValue"] == "hello" and alert["repeatCount"] == 0
    assert alert["tags"]["user_name"] == "alice" and alert["acknowledged"] is False
    assert alert["openDate"] == format_iso_date(START)
    service.clock.advance(5)
    service.say("again")
    (alert,) = service.post("/api/v1/alerts/query", [{"entity": "rocket.*", **RANGE}]).get_json()
    assert alert["repeatCount"] == 1 and alert["textValue"] == "again"
    assert alert["lastEventDate"] == format_iso_date(START + timedelta(seconds=5))


def test_queries_filter_and_concatenate(service: Service) -> None:
    service.say("hello")
    service.say("disk full", source="monitor", entity="web01")
    service.clock.advance(1)  # "now" is an exclusive end: the alerts are one second older
    body = [
        {"entities": ["web0?"], **RANGE},
        {"entity": "*", "rules": ["rocketchat_reply"], **RANGE},
        {"entity": "*", "severities": ["CRITICAL", 7], **RANGE},
        {"entity": "*", "minSeverity": "MAJOR", **RANGE},
        {"entity": "*", "metrics": ["message"], "acknowledged": True, **RANGE},
        # lastEventDate 03:04:05 is before this range
        {"entity": "*", "startDate": "2026-01-02T03:04:06Z", "interval": {"count": 1,
                                                                          "unit": "HOUR"}},
        {"entity": "*", "endDate": "now", "interval": {"count": 1, "unit": "DAY"}, "limit": 1},
    ]
    found = service.post("/api/v1/alerts/query", body).get_json()
    assert [a["rule"] for a in found] == ["flip", "rocketchat_reply", "flip", "flip", "flip"]


@pytest.mark.parametrize(("body", "words"), [
    ({"entity": "*"}, "JSON array"),
    ([{"entity": "*"}], "startDate and endDate"),
    (["x"], "query 0: expected an object"),
    ([{**RANGE}], "entity or entities is required"),
    ([{"entity": "*", "startDate": "2026-01-01 00:00:00", "endDate": "now"}], "startDate"),
    ([{"entity": "*", "sort": "date", **RANGE}], "unknown field 'sort'"),
    ([{"entity": "*", "startDate": "now", "interval": {"count": 1, "unit": "YEAR"}}],
     "interval"),
    ([{"entity": "*", "acknowledged": "yes", **RANGE}], "acknowledged"),
    ([{"entity": "*", "limit": "10", **RANGE}], "limit"),
    ([{"entity": "*", "startDate": "2026-01-03T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"}],
     "before startDate"),
    ([{"entity": "*", **RANGE}, {"entity": 5, **RANGE}], "query 1: entity"),
    ([{"entity": "*", "startDate": "now", "interval": {"count": 10**20, "unit": "DAY"}}],
     "too large"),
    ([{"entity": "*", "startDate": "0001-01-01T00:00:00+01:00", "endDate": "now"}],
     "out of range"),
    ([{"entity": "*", "startDate": "9999-12-01T00:00:00Z",
       "interval": {"count": 100, "unit": "WEEK"}}], "past the dates"),
])
def test_malformed_queries_are_400(service: Service, body: object, words: str) -> None:
    for path in ("/api/v1/alerts/query", "/api/v1/alerts/history/query"):
        response = service.post(path, body)
        assert response.status_code == 400, response.get_json()
        assert words in response.get_json()["error"]


@pytest.mark.parametrize(("body", "words"), [
    ([{"entity": "*", "severities": ["LOUD"], **RANGE}], "unknown severity"),
    ([{"entity": "*", "minSeverity": "LOUD", **RANGE}], "unknown severity"),
    ([{"entity": "*", "rules": "flip", **RANGE}], "rules must be a list"),
])
def test_malformed_open_queries_are_400(service: Service, body: object, words: str) -> None:
    response = service.post("/api/v1/alerts/query", body)
    assert response.status_code == 400 and words in response.get_json()["error"]


def test_history_query_fields_differ(service: Service) -> None:
    response = service.post("/api/v1/alerts/history/query",
                            [{"entity": "*", "severities": ["MAJOR"], **RANGE}])
    assert response.status_code == 400 and "unknown field 'severities'" in response.get_json()[
        "error"]
    response = service.post("/api/v1/alerts/history/query", [{"entity": "*", "rule": 5, **RANGE}])
    assert response.status_code == 400 and "rule must be a name" in response.get_json()["error"]


def test_not_json_is_400(service: Service) -> None:
    response = service.client.post("/api/v1/alerts/query", data=b"{nope",
                                   headers={**API, "Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON array" in response.get_json()["error"]


def test_deeply_nested_json_is_400(service: Service) -> None:
    for path in ("/api/v1/alerts/query", "/api/v1/alerts/update"):
        response = service.client.post(path, data=b"[" * 100_000 + b"]" * 100_000,
                                       headers={**API, "Content-Type": "application/json"})
        assert response.status_code == 400 and "nested" in response.get_json()["error"]


def test_update_acknowledges_and_reports_unknown_ids(any_service: Service) -> None:
    service = any_service
    service.say("hello")
    (alert,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    response = service.post("/api/v1/alerts/update", [{"id": alert["id"], "acknowledged": True},
                                                      {"id": 999, "acknowledged": True}])
    assert response.status_code == 200
    assert response.get_json() == {"updated": [alert["id"]], "unknown": [999]}
    found = service.post("/api/v1/alerts/query", [{"entity": "*", "acknowledged": True, **RANGE}])
    assert [a["id"] for a in found.get_json()] == [alert["id"]]
    # acknowledged missing means false
    assert service.post("/api/v1/alerts/update", [{"id": alert["id"]}]).get_json()["updated"]
    (again,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    assert again["acknowledged"] is False


@pytest.mark.parametrize(("body", "words"), [
    ({"id": 1}, "JSON array"),
    ([{"id": "1"}], "'id' must be an integer"),
    ([{"id": True}], "'id' must be an integer"),
    ([{"id": 1, "acknowledged": "yes"}], "true or false"),
    ([{"id": 1, "ack": True}], "unknown field 'ack'"),
])
def test_bad_update_is_400_and_changes_nothing(service: Service, body: object,
                                               words: str) -> None:
    service.say("hello")
    (alert,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    payload = [{"id": alert["id"], "acknowledged": True}, *body] if isinstance(body, list) \
        else body
    response = service.post("/api/v1/alerts/update", payload)
    assert response.status_code == 400 and words in response.get_json()["error"]
    (same,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    assert same["acknowledged"] is False


def test_update_carries_a_reason(service: Service) -> None:
    service.say("hello")
    (alert,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    body = [{"id": alert["id"], "acknowledged": True, "reason": "  on   it "}]
    assert service.post("/api/v1/alerts/update", body).get_json()["updated"] == [alert["id"]]
    row = service.engine.alert_detail(alert["id"])["row"]
    assert (row["ack_by"], row["ack_reason"]) == ("api (API)", "on it")


def test_resolve_closes_alerts_with_who_and_why(any_service: Service) -> None:
    service = any_service
    service.say("hello")
    (alert,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    response = service.post("/api/v1/alerts/resolve",
                            [{"id": alert["id"], "reason": "disk swapped"}, {"id": 999}])
    assert response.status_code == 200
    assert response.get_json() == {"resolved": [alert["id"]], "unknown": [999]}
    assert service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json() == []
    (record,) = service.post("/api/v1/alerts/history/query",
                             [{"entity": "*", **RANGE}]).get_json()
    assert record["rule"] == alert["rule"]
    row = service.engine.alert_detail(alert["id"])["row"]
    assert (row["close_reason"], row["closed_by"], row["close_note"]) == (
        "RESOLVED", "api (API)", "disk swapped")
    # resolved already: unknown now
    assert service.post("/api/v1/alerts/resolve", [{"id": alert["id"]}]).get_json() == {
        "resolved": [], "unknown": [alert["id"]]}


@pytest.mark.parametrize(("body", "words"), [
    ({"id": 1}, "JSON array"),
    ([{"id": "1"}], "'id' must be an integer"),
    ([{"id": 1, "reason": 5}], "'reason' must be a string"),
    ([{"id": 1, "reason": "x" * 501}], "longer than 500"),
    ([{"id": 1, "acknowledged": True}], "unknown field 'acknowledged'"),
])
def test_bad_resolve_is_400_and_changes_nothing(service: Service, body: object,
                                                words: str) -> None:
    service.say("hello")
    (alert,) = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()
    payload = [{"id": alert["id"]}, *body] if isinstance(body, list) else body
    response = service.post("/api/v1/alerts/resolve", payload)
    assert response.status_code == 400 and words in response.get_json()["error"]
    assert len(service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}]).get_json()) == 1


def test_history_of_a_closed_alert(any_service: Service) -> None:
    service = any_service
    service.say("disk full", source="monitor", entity="web01", mount="/var")
    service.clock.advance(90)
    service.say("ok", source="monitor", entity="web01", mount="/var")
    response = service.post("/api/v1/alerts/history/query",
                            [{"entity": "web01", "rule": "flip", **RANGE},
                             {"entity": "web01", "metric": "other", **RANGE}])
    assert response.status_code == 200
    (record,) = response.get_json()
    assert tuple(record) == HISTORY_FIELDS
    assert record["rule"] == "flip" and record["ruleExpression"] == "message != 'ok'"
    assert record["severity"] == "CRITICAL" and record["metric"] == "message"
    assert record["tags"] == "channel_id=ROOM1;mount=/var;user_name=alice"
    assert record["alertDuration"] == 90_000 and record["type"] == "CANCEL"
    assert record["alertOpenDate"] == format_iso_date(START)
    assert record["date"] == format_iso_date(START + timedelta(seconds=90))
    assert service.post("/api/v1/alerts/query", [{"entity": "*", "rules": ["flip"], **RANGE}]
                        ).get_json() == []


def test_no_engine_is_503(service: Service) -> None:
    from webhook.context import current_ctx

    with service.client.application.app_context():
        current_ctx().engine = None
    response = service.post("/api/v1/alerts/query", [{"entity": "*", **RANGE}])
    assert response.status_code == 503 and "not running" in response.get_json()["error"]


def test_authentication_and_roles(service: Service) -> None:
    assert service.post("/api/v1/alerts/query", [], headers={}).status_code == 401
    assert service.post("/api/v1/alerts/resolve", [], headers=HOOK).status_code == 403
    assert service.post("/api/v1/alerts/query", [], headers=HOOK).status_code == 403
    assert service.post("/api/v1/alerts/query", []).get_json() == []
