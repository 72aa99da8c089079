"""Rule diagnostics: rules, windows, errors (load and run time), the notification log."""

from __future__ import annotations

from tests.api_rules.conftest import HOOK, Service


def test_rules_lists_every_loaded_rule(service: Service) -> None:
    response = service.get("/api/v1/rules")
    assert response.status_code == 200
    rules = {r["name"]: r for r in response.get_json()}
    assert set(rules) == {"rocketchat_reply", "flip", "broken_text"}
    seed = rules["rocketchat_reply"]
    assert seed["running"] is True and seed["source"] == ["rocket.chat"]
    assert seed["window"] == "length(1)" and seed["file"].endswith("seed.yml")
    (note,) = seed["notifications"]
    assert note["endpoint"] == "rocketchat" and note["repeat_every"] == "all"
    assert note["open"] == {"enabled": True,
                            "text": 'User ${tags.alias}/@${tags.user_name} said "${message}"'}


def test_disabled_rules_are_listed_not_running(service: Service) -> None:
    (service.rules_dir / "off.yml").write_text("rules:\n  - name: off_rule\n    enabled: false\n")
    assert service.ruleset.reload().ok
    rules = {r["name"]: r for r in service.get("/api/v1/rules").get_json()}
    assert rules["off_rule"]["enabled"] is False and rules["off_rule"]["running"] is False
    assert rules["flip"]["running"] is True


def test_windows_show_status_and_filter_by_rule(service: Service) -> None:
    service.say("hello")
    service.say("down", source="monitor", entity="web01")
    windows = service.get("/api/v1/rules/windows").get_json()
    assert {w["rule"] for w in windows} == {"rocketchat_reply", "flip"}
    (flip,) = service.get("/api/v1/rules/windows?rule=flip").get_json()
    assert flip["entity"] == "web01" and flip["status"] == "OPEN"


def test_errors_show_load_issues_and_runtime_errors(service: Service) -> None:
    (service.rules_dir / "bad.yml").write_text("rules:\n  - name: bad\n    window: length(0)\n")
    assert service.ruleset.reload().ok
    service.say("x", source="broken")
    body = service.get("/api/v1/rules/errors").get_json()
    (issue,) = body["load"]["issues"]
    assert issue["rule"] == "bad" and issue["field"] == "window" and issue["level"] == "error"
    assert body["load"]["ok"] is True and "1 errors" in body["load"]["summary"]
    (runtime,) = body["runtime"]
    assert runtime["rule"] == "broken_text" and "division by zero" in runtime["reason"]


def test_notifications_with_attempts_and_limit(service: Service) -> None:
    service.say("hello", alias="Al")
    service.say("down", source="monitor", entity="web01")
    notes = service.get("/api/v1/notifications?limit=1").get_json()
    (latest,) = notes
    assert latest["rule"] == "flip" and latest["text"] == "down: down"
    assert latest["attempt_log"] == []
    both = service.get("/api/v1/notifications").get_json()
    reply = both[1]
    assert reply["endpoint"] == "rocketchat" and reply["text"] == 'User Al/@alice said "hello"'
    assert reply["target"]["room_id"] == "ROOM1"


def test_bad_limit_is_400(service: Service) -> None:
    for limit in ("x", "0", "100000"):
        response = service.get(f"/api/v1/notifications?limit={limit}")
        assert response.status_code == 400 and "limit" in response.get_json()["error"]


def test_diagnostics_need_the_api_role(service: Service) -> None:
    for path in ("/api/v1/rules", "/api/v1/rules/windows", "/api/v1/rules/errors",
                 "/api/v1/notifications"):
        assert service.client.get(path).status_code == 401
        assert service.client.get(path, headers=HOOK).status_code == 403
