"""The seed, end to end: a Rocket.Chat outgoing-webhook POST becomes a reply in the outbox.

The webhook app, the shipped ``rules.d`` seed rule, the real engine and store: the reply
``User <alias>/@<user> said "<text>"`` lands in the outbox for the room the message came from.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from bot.config import build_settings
from rules.clock import ManualClock
from rules.definitions.loader import load_rules
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor
from rules.store import Database
from tests.engine.helpers import START, make_rig, outbox_rows
from webhook.app import create_app
from webhook.context import AppContext

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "rocketchat" / "outgoing-webhook-sendmessage.json"
URL = "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"


def seed_rules() -> list[Any]:
    rules, issues = load_rules(["rules.d"], endpoints={"rocketchat", "log"}, base_dir=ROOT)
    assert [i for i in issues if i.level == "error"] == []
    assert [r.name for r in rules] == ["rocketchat_reply"]
    return rules


def make_app(db: Database) -> tuple[Any, RuleEngine]:
    settings = build_settings({
        "users": [{"name": "hook", "password": "hook-pass", "roles": ["webhook"]}],
        "webhook": {"tokens": {"rocket.chat": "ir7hozblv4"}},
        "rocketchat": {"url": "http://127.0.0.1:3000", "user": "atsd_bot",
                       "password": "bot-pass"},
    })
    clock = ManualClock(START)
    engine = RuleEngine(db, clock, endpoints=("rocketchat", "log"),
                        default_endpoint_targets={"rocketchat": {"room_id": None}})
    assert engine.load(seed_rules()) == []
    engine.restore()
    ctx = AppContext(settings=settings, db=db, ingestor=Ingestor(db, engine, clock), clock=clock,
                     engine=engine)
    return create_app(ctx).test_client(), engine


def post(client: Any, payload: dict[str, Any]) -> Any:
    auth = base64.b64encode(b"hook:hook-pass").decode()
    return client.post(URL, json=payload, headers={"Authorization": f"Basic {auth}"})


def test_webhook_post_to_reply_in_the_outbox(db: Database) -> None:
    client, engine = make_app(db)
    payload = json.loads(FIXTURE.read_text())
    payload["alias"] = "Thang"
    response = post(client, payload)
    assert response.status_code == 200, response.get_json()
    [row] = outbox_rows(db)
    assert (row.rule, row.endpoint, row.trigger, row.status) == (
        "rocketchat_reply", "rocketchat", "open", "pending")
    assert row.text == 'User Thang/@thangtm13 said "hi"'
    # the once-only key of the message that caused the reply: its chat id derives from it
    assert row.target == {"room_id": "ZpMw6XxSuZdpupcDa", "tmid": None,
                          "cause": "rc:QSGJ9YqFkXuinmHAt"}
    assert [a["rule"] for a in engine.open_alerts()] == ["rocketchat_reply"]

    second = dict(payload, message_id="another-id", text="again")
    del second["alias"]  # alias empty when absent
    assert post(client, second).status_code == 200
    assert [(r.trigger, r.text) for r in outbox_rows(db)][1] == (
        "repeat", 'User /@thangtm13 said "again"')
    # Rocket.Chat re-delivers: the same message id is not processed again
    assert post(client, second).status_code == 200
    assert len(outbox_rows(db)) == 2


def test_seed_rule_through_the_ingestor_and_its_loop_filter(db: Database) -> None:
    rig = make_rig(db, seed_rules())
    tags = {"channel_id": "GENERAL", "user_name": "bob", "tmid": "thread-1"}
    accepted = rig.send("hello", entity="rocket.chat", source="rocket.chat", tags=tags)
    [reply] = accepted.notifications
    assert reply.text == 'User /@bob said "hello"'
    assert reply.target == {"room_id": "GENERAL", "tmid": "thread-1"}
    assert reply.id == outbox_rows(db)[0].id
    # the bot's own message (bot flag) is filtered out by the rule's filter
    assert rig.send("echo", entity="rocket.chat", source="rocket.chat",
                    tags={**tags, "bot": "true"}).notifications == []
