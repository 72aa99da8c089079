"""The seed: a Rocket.Chat outgoing-webhook POST -> the shipped rule -> a reply in the room."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api_rules.conftest import HOOK, Service

PAYLOAD = Path(__file__).resolve().parents[1] / "fixtures" / "rocketchat" / \
    "outgoing-webhook-sendmessage.json"
URL = "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"


def post(service: Service, **changes: object) -> int:
    body = {**json.loads(PAYLOAD.read_text()), **changes}
    response = service.client.post(URL, json=body, headers=HOOK)
    return response.status_code


def test_seed_rule_replies_in_the_room_on_open_and_repeat(service: Service) -> None:
    assert post(service) == 200
    assert post(service, message_id="second", text="and again", alias="Thang") == 200
    assert post(service, message_id="third", bot=True, text="my own reply") == 200
    notes = service.get("/api/v1/notifications").get_json()
    assert [(n["trigger"], n["text"]) for n in reversed(notes)] == [
        ("open", 'User /@thangtm13 said "hi"'),
        ("repeat", 'User Thang/@thangtm13 said "and again"'),
    ]
    assert {n["target"]["room_id"] for n in notes} == {"ZpMw6XxSuZdpupcDa"}
    assert all(n["endpoint"] == "rocketchat" for n in notes)
    service.clock.advance(1)  # "now" ends the range exclusively
    (alert,) = service.post("/api/v1/alerts/query", [
        {"entity": "rocket.chat", "startDate": "2000-01-01T00:00:00Z", "endDate": "now"}
    ]).get_json()
    assert alert["rule"] == "rocketchat_reply" and alert["repeatCount"] == 1
