"""spec/api.md: every request and response field, against a running ``atsd-bot serve``."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.acceptance.conftest import ADMIN, HOOK, Served

ALL = {"startDate": "2000-01-01T00:00:00Z", "endDate": "2100-01-01T00:00:00Z"}
MSG_FIELDS = {"date", "type", "source", "entity", "severity", "tags", "message"}


def insert(served: Served, *messages: dict[str, Any]) -> requests.Response:
    return served.api("/api/v1/messages/insert", list(messages))


def query(served: Served, **q: Any) -> list[dict[str, Any]]:
    r = served.api("/api/v1/messages/query", [{**ALL, **q}])
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()
    return data


def test_roles(served: Served) -> None:
    body = [{"entity": "x", **ALL}]
    assert requests.post(served.url("/api/v1/messages/query"), json=body,
                         timeout=5).status_code == 401
    assert served.api("/api/v1/messages/query", body, auth=HOOK).status_code == 403
    assert served.api("/api/v1/messages/query", body, auth=ADMIN).status_code == 200


def test_insert_and_query_fields_newest_first(served: Served) -> None:
    r = insert(served,
               {"entity": "Api-E1", "type": "T", "source": "S", "message": " first ",
                "date": "2020-01-01T00:00:00Z", "severity": "WARNING", "tags": {"K": " v "}},
               {"entity": "api-e1", "type": "t", "source": "s", "message": "second",
                "date": "2020-01-01T00:01:00Z", "severity": 6, "tags": {"k": "w"}})
    assert r.status_code == 200, r.text
    rows = query(served, entity="api-e1")
    assert [m["message"] for m in rows] == ["second", "first"]
    for m in rows:
        assert set(m) == MSG_FIELDS
    assert rows[1]["tags"] == {"k": "v"} and rows[1]["type"] == "t"
    assert rows[1]["severity"] == "WARNING" and rows[0]["severity"] == "CRITICAL"
    assert rows[1]["date"].startswith("2020-01-01T00:00:00")


def test_query_array_concatenates(served: Served) -> None:
    insert(served, {"entity": "cat-a", "message": "a", "date": "2020-01-01T00:00:00Z"},
           {"entity": "cat-b", "message": "b", "date": "2020-01-01T00:00:00Z"})
    r = served.api("/api/v1/messages/query",
                   [{"entity": "cat-a", **ALL}, {"entity": "cat-b", **ALL}])
    assert [m["message"] for m in r.json()] == ["a", "b"]


def test_entities_patterns_and_entity_wins(served: Served) -> None:
    insert(served, {"entity": "pat-1", "message": "1", "date": "2020-01-01T00:00:00Z"},
           {"entity": "pat-2", "message": "2", "date": "2020-01-01T00:00:01Z"},
           {"entity": "other-3", "message": "3", "date": "2020-01-01T00:00:02Z"})
    assert {m["entity"] for m in query(served, entity="pat-*")} == {"pat-1", "pat-2"}
    assert {m["entity"] for m in query(served, entity="pat-?")} == {"pat-1", "pat-2"}
    assert {m["entity"] for m in query(served, entities=["pat-1", "other-*"])} == {
        "pat-1", "other-3"}
    assert {m["entity"] for m in query(served, entity="pat-2", entities=["pat-1"])} == {
        "pat-2"}


def test_entity_required_and_date_required(served: Served) -> None:
    r = served.api("/api/v1/messages/query", [ALL])
    assert r.status_code == 400 and "entity" in r.json()["error"]
    r = served.api("/api/v1/messages/query", [{"entity": "x"}])
    assert r.status_code == 400 and "error" in r.json()


def test_interval(served: Served) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    insert(served, {"entity": "intv", "message": "recent"})
    r = served.api("/api/v1/messages/query", [{"entity": "intv", "endDate": "2100-01-01T00:00:00Z",
                                              "interval": {"count": 1, "unit": "DAY"}}])
    assert r.status_code == 200 and r.json() == []
    r = served.api("/api/v1/messages/query", [{"entity": "intv", "startDate": now,
                                              "interval": {"count": 1, "unit": "HOUR"}}])
    assert r.status_code == 200 and [m["message"] for m in r.json()] == ["recent"]


def test_start_inclusive_end_exclusive(served: Served) -> None:
    insert(served, {"entity": "edge", "message": "at-start", "date": "2021-01-01T00:00:00Z"},
           {"entity": "edge", "message": "at-end", "date": "2021-01-02T00:00:00Z"})
    r = served.api("/api/v1/messages/query", [{"entity": "edge",
                                              "startDate": "2021-01-01T00:00:00Z",
                                              "endDate": "2021-01-02T00:00:00Z"}])
    assert [m["message"] for m in r.json()] == ["at-start"]


def test_limit(served: Served) -> None:
    insert(served, *({"entity": "lim", "message": f"m{i}",
                      "date": f"2020-01-01T00:00:0{i}Z"} for i in range(5)))
    assert [m["message"] for m in query(served, entity="lim", limit=2)] == ["m4", "m3"]
    assert len(query(served, entity="lim", limit=0)) == 5
    assert len(query(served, entity="lim", limit=-1)) == 5


def test_filters(served: Served) -> None:
    insert(served,
           {"entity": "flt", "type": "a", "source": "x", "message": "Starting one",
            "severity": "MINOR", "tags": {"env": "prod", "dc": "1"},
            "date": "2020-01-01T00:00:00Z"},
           {"entity": "flt", "type": "b", "source": "y", "message": "Stopping",
            "severity": "NORMAL", "tags": {"env": "test"}, "date": "2020-01-01T00:00:01Z"})
    assert [m["type"] for m in query(served, entity="flt", type="a")] == ["a"]
    assert [m["source"] for m in query(served, entity="flt", source="y")] == ["y"]
    assert [m["type"] for m in query(served, entity="flt", tags={"env": "prod"})] == ["a"]
    assert [m["type"] for m in query(served, entity="flt", severity="MINOR")] == ["a"]
    assert [m["type"] for m in query(served, entity="flt", severities=["NORMAL", 4])] == [
        "b", "a"]
    assert [m["type"] for m in query(served, entity="flt", minSeverity="MINOR")] == ["a"]
    assert [m["type"] for m in query(served, entity="flt",
                                     expression="message LIKE 'Starting*'")] == ["a"]
    assert [m["type"] for m in query(served, entity="flt",
                                     expression="tags.env = 'test'")] == ["b"]


@pytest.mark.parametrize("bad", [
    {"entity": "x", "startDate": "yesterday", "endDate": "2100-01-01T00:00:00Z"},
    {"entity": "x", **ALL, "expression": "message LIKE"},
    {"entity": "x", **ALL, "severity": "loud"},
    {"entity": "x", **ALL, "interval": {"count": 1, "unit": "PARSEC"}},
    {"entity": 5, **ALL},
    "not an object",
])
def test_malformed_query_400(served: Served, bad: Any) -> None:
    r = served.api("/api/v1/messages/query", [bad])
    assert r.status_code == 400, r.text
    assert r.json()["error"]


@pytest.mark.parametrize("body", [{"entity": "x"}, "x", None])
def test_not_an_array_400(served: Served, body: Any) -> None:
    r = served.api("/api/v1/messages/query", body)
    assert r.status_code == 400


def test_insert_rejects_empty_message(served: Served) -> None:
    r = insert(served, {"entity": "empty"})
    assert r.status_code == 400 and r.json()["error"]


def test_insert_entity_required(served: Served) -> None:
    r = insert(served, {"message": "x"})
    assert r.status_code == 400 and "entity" in r.json()["error"]


def test_insert_too_many_tags(served: Served) -> None:
    r = insert(served, {"entity": "t", "tags": {f"k{i}": "v" for i in range(1025)}})
    assert r.status_code == 400


def test_insert_persist_false_not_stored_but_ruled(served: Served) -> None:
    r = insert(served, {"entity": "np", "source": "acc-src", "message": "go",
                        "persist": False})
    assert r.status_code == 200, r.text
    assert query(served, entity="np") == []
    alerts = served.api("/api/v1/alerts/query", [{"entity": "np", **ALL}]).json()
    assert len(alerts) == 1 and alerts[0]["rule"] == "acc_open"


ALERT_FIELDS = {"id", "rule", "entity", "metric", "tags", "severity", "repeatCount",
                "textValue", "openDate", "lastEventDate", "acknowledged"}
HISTORY_FIELDS = {"entity", "metric", "rule", "ruleExpression", "ruleFilter", "severity",
                  "tags", "repeatCount", "alert", "window", "type", "date", "alertOpenDate",
                  "alertDuration", "receivedDate"}


def test_alerts_lifecycle(served: Served) -> None:
    assert insert(served, {"entity": "al-1", "source": "acc-src", "message": "one"}
                  ).status_code == 200
    assert insert(served, {"entity": "al-1", "source": "acc-src", "message": "two"}
                  ).status_code == 200
    r = served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL}])
    assert r.status_code == 200, r.text
    [alert] = r.json()
    assert set(alert) >= ALERT_FIELDS
    assert alert["rule"] == "acc_open" and alert["entity"] == "al-1"
    assert alert["metric"] == "message" and alert["repeatCount"] == 1
    assert alert["textValue"] == "two" and alert["acknowledged"] is False
    assert alert["severity"] == "WARNING" and isinstance(alert["tags"], dict)
    # acknowledge; unknown id reported
    up = served.api("/api/v1/alerts/update", [{"id": alert["id"], "acknowledged": True},
                                              {"id": 987654, "acknowledged": True}])
    assert up.status_code == 200, up.text
    assert "987654" in str(up.json())
    acked = served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL,
                                                 "acknowledged": True}]).json()
    assert [a["id"] for a in acked] == [alert["id"]]
    assert served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL,
                                                "acknowledged": False}]).json() == []
    # missing acknowledged means false
    served.api("/api/v1/alerts/update", [{"id": alert["id"]}])
    [again] = served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL}]).json()
    assert again["acknowledged"] is False
    # filters
    for q in ({"rules": ["acc_open"]}, {"metrics": ["message"]}, {"severities": ["WARNING"]},
              {"minSeverity": "NORMAL"}):
        assert len(served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL, **q}]
                              ).json()) == 1, q
    assert served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL,
                                                "minSeverity": "CRITICAL"}]).json() == []
    # cancel -> history
    insert(served, {"entity": "al-1", "source": "acc-src", "message": "stop"})
    assert served.api("/api/v1/alerts/query", [{"entity": "al-1", **ALL}]).json() == []
    r = served.api("/api/v1/alerts/history/query", [{"entity": "al-1", **ALL}])
    assert r.status_code == 200, r.text
    [h] = r.json()
    assert set(h) >= HISTORY_FIELDS
    assert h["rule"] == "acc_open" and h["metric"] == "message" and h["entity"] == "al-1"
    assert h["type"] == "CANCEL" and h["repeatCount"] == 1
    assert isinstance(h["tags"], str) and isinstance(h["alertDuration"], int)
    assert h["alert"] == "cancel stop"  # the last rendered text: the cancel
    for q in ({"rule": "acc_open"}, {"rules": ["acc_open"]}, {"metric": "message"}):
        assert len(served.api("/api/v1/alerts/history/query",
                              [{"entity": "al-1", **ALL, **q}]).json()) == 1, q
    assert served.api("/api/v1/alerts/history/query",
                      [{"entity": "al-1", **ALL, "rule": "nope"}]).json() == []


def test_alert_update_bad_400(served: Served) -> None:
    for body in ([{"acknowledged": True}], [{"id": "abc"}], {"id": 1}):
        r = served.api("/api/v1/alerts/update", body)
        assert r.status_code == 400, (body, r.text)


def test_alerts_query_malformed_400(served: Served) -> None:
    for path in ("/api/v1/alerts/query", "/api/v1/alerts/history/query"):
        assert served.api(path, [{"entity": "x"}]).status_code == 400
        assert served.api(path, [ALL]).status_code == 400
        assert served.api(path, "x").status_code == 400


def test_messages_default_limit_1000(served: Served) -> None:
    batch = [{"entity": "deflim", "message": f"m{i}", "date": "2020-01-01T00:00:00Z"}
             for i in range(1005)]
    for start in range(0, len(batch), 300):  # the configured body limit is 64 KiB
        assert insert(served, *batch[start:start + 300]).status_code == 200
    assert len(query(served, entity="deflim")) == 1000


def test_end_date_now_and_entity_star(served: Served) -> None:
    insert(served, {"entity": "star-1", "message": "s"})
    r = served.api("/api/v1/messages/query", [{"entity": "*", "startDate":
                                              "2000-01-01T00:00:00Z", "endDate": "now",
                                              "limit": 0}])
    assert r.status_code == 200 and "star-1" in {m["entity"] for m in r.json()}


def test_history_tags_text_and_dates(served: Served) -> None:
    insert(served, {"entity": "ht-1", "source": "acc-src", "message": "go",
                    "tags": {"b": "2", "a": "1"}})
    insert(served, {"entity": "ht-1", "source": "acc-src", "message": "stop",
                    "tags": {"b": "2", "a": "1"}})
    [h] = served.api("/api/v1/alerts/history/query", [{"entity": "ht-1", **ALL}]).json()
    pairs = h["tags"].split(";")
    assert all("=" in p for p in pairs)
    assert h["alertDuration"] >= 0
    for field in ("date", "alertOpenDate", "receivedDate"):
        assert h[field].endswith("Z") and "T" in h[field], (field, h[field])


def test_start_date_alone_is_400(served: Served) -> None:
    r = served.api("/api/v1/messages/query", [{"entity": "x",
                                              "startDate": "2020-01-01T00:00:00Z"}])
    assert r.status_code == 400 and r.json()["error"]
