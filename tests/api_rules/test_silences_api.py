"""``/api/v1/silences`` and ``/api/v1/messages/ID/explain`` in the shapes ``api.md`` gives; a
held notification is ``silenced`` with its ``silence_id`` in ``/api/v1/notifications``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api_rules.conftest import HOOK, Service

NEW = {"matchers": {"entity": "rocket.chat", "severity": ">=WARNING"}, "duration": "2h",
       "comment": "deploying"}


def test_create_list_expire(any_service: Service) -> None:
    any_service.say("disk full")  # the seed rule opens an alert for rocket.chat
    made = any_service.post("/api/v1/silences", NEW)
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert {k: body[k] for k in ("id", "matchers", "author", "comment", "room", "state")} == {
        "id": 1, "matchers": {"entity": "rocket.chat", "severity": ">=WARNING"},
        "author": "api (API)", "comment": "deploying", "room": None, "state": "active"}
    assert body["startsAt"] == "2026-01-02T03:04:05.000Z"
    assert body["endsAt"] == "2026-01-02T05:04:05.000Z"
    assert len(body["matchesOpenAlerts"]) == 1
    query = [{"entity": "*", "startDate": "2026-01-01T00:00:00Z",
              "endDate": "2026-01-03T00:00:00Z"}]
    [alert] = any_service.post("/api/v1/alerts/query", query).get_json()
    assert alert["silenceId"] == 1  # the alert is marked silenced
    assert [s["id"] for s in any_service.get("/api/v1/silences").get_json()] == [1]
    ended = any_service.delete("/api/v1/silences/1")
    assert ended.status_code == 200 and ended.get_json()["state"] == "expired"
    assert ended.get_json()["expiredBy"] == "api (API)"
    assert any_service.get("/api/v1/silences").get_json() == []
    assert [s["state"] for s in any_service.get("/api/v1/silences?state=all").get_json()] == [
        "expired"]


def test_a_held_notification_names_its_silence(any_service: Service) -> None:
    any_service.post("/api/v1/silences", {"matchers": {"rule": "rocketchat_reply"},
                                           "duration": "1h"})
    any_service.say("quiet")
    [held] = any_service.get("/api/v1/notifications").get_json()
    assert (held["status"], held["silence_id"]) == ("silenced", 1)
    any_service.clock.advance(timedelta(hours=2))
    any_service.say("loud")
    newest = any_service.get("/api/v1/notifications").get_json()[0]
    assert newest["status"] == "pending" and "silence_id" not in newest


@pytest.mark.parametrize(("body", "says"), [
    ({"matchers": {}, "duration": "1h"}, "no matchers"),
    ({"matchers": {"colour": "red"}, "duration": "1h"}, "unknown matcher field 'colour'"),
    ({"matchers": {"entity": "db1"}, "duration": "30"}, "has no unit"),
    ({"matchers": {"entity": "db1"}, "duration": 7200}, "a bare number (7200) has no unit"),
    ({"matchers": {"entity": "db1"}, "duration": "91d"}, "longer than the limit of 90d"),
    ({"matchers": {"entity": "db1"}}, "expected a duration like 90s"),
    ({"matchers": "entity=db1", "duration": "1h"}, "expected an object"),
    ({"matchers": {"entity": "db1"}, "duration": "1h", "why": "x"}, "unknown field 'why'"),
    ({"matchers": {"entity": "db1"}, "duration": "1h", "comment": "x" * 501}, "comment"),
    ([], "expected an object"),
])
def test_bad_bodies_are_400_and_change_nothing(service: Service, body: object,
                                               says: str) -> None:
    answer = service.post("/api/v1/silences", body)
    assert answer.status_code == 400 and says in answer.get_json()["error"]
    assert service.get("/api/v1/silences?state=all").get_json() == []


def test_unknown_and_ended_ids_and_roles(service: Service) -> None:
    assert service.delete("/api/v1/silences/7").status_code == 404
    service.post("/api/v1/silences", NEW)
    service.delete("/api/v1/silences/1")
    again = service.delete("/api/v1/silences/1")
    assert again.status_code == 409 and "already ended" in again.get_json()["error"]
    assert service.get("/api/v1/silences?state=soon").status_code == 400
    assert service.client.get("/api/v1/silences", headers=HOOK).status_code == 403
    assert service.client.post("/api/v1/silences", json=NEW).status_code == 401


def test_explain(any_service: Service) -> None:
    message_id = any_service.say("hello").message_id
    found = any_service.get(f"/api/v1/messages/{message_id}/explain")
    assert found.status_code == 200
    body = found.get_json()
    assert body["state"] == "explained" and body["message"]["message"] == "hello"
    [reply] = [r for r in body["rules"] if r["rule"] == "rocketchat_reply"]
    assert reply["stage"] == "window" and "CANCEL → OPEN (open)" in reply["detail"]
    assert reply["notifications"][0]["status"] == "pending"
    assert body["lines"][0].startswith(f"message #{message_id} via api")
    other = any_service.say("x", source="nothing-listens").message_id
    assert any_service.get(f"/api/v1/messages/{other}/explain").get_json()["state"] == "nobody"
    assert any_service.get("/api/v1/messages/999/explain").status_code == 404
