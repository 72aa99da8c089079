"""Operators acting on a living alert message from outside the chat, on each inbound path:
acknowledge and resolve through the API and through the web UI's forms each post a note in the
alert message's thread (who, why) and edit the message; the message's Open button leads to
the alert's web UI page, and its Silence 1h button makes a silence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from rules.silences import facts_of
from rules.store import Database
from tests.api_rules.conftest import basic
from tests.realtime.conftest import World
from tests.realtime.harness import wait_until
from tests.realtime.living_stage import BOT, OPS_PASSWORD, OPS_USER, Stage, staged
from tests.ui.conftest import csrf_of

API = basic(OPS_USER, OPS_PASSWORD)


@pytest.fixture(params=["realtime", "webhook"])
def stage(request: pytest.FixtureRequest, world: World, sqlite_db: Database,
          tmp_path: Path) -> Iterator[Stage]:
    with staged(world, sqlite_db, tmp_path, request.param) as stage:
        yield stage


def _open(stage: Stage) -> tuple[dict, int]:
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    return root, stage.runner.engine.open_alerts()[0]["id"]


def _ui(stage: Stage) -> tuple[FlaskClient, str]:
    """A logged-in web UI client and its CSRF token."""
    client = stage.app.test_client()
    page = client.get("/ui/login").get_data(as_text=True)
    answer = client.post("/ui/login", data={"username": OPS_USER, "password": OPS_PASSWORD,
                                            "csrf_token": csrf_of(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client, csrf_of(client.get("/ui/").get_data(as_text=True))


def test_acknowledge_and_resolve_through_the_api(stage: Stage) -> None:
    root, alert_id = _open(stage)
    client = stage.app.test_client()
    answer = client.post("/api/v1/alerts/update", headers=API,
                         json=[{"id": alert_id, "acknowledged": True, "reason": "on it"}])
    assert answer.get_json() == {"updated": [alert_id], "unknown": []}
    who = f"{OPS_USER} (API)"
    assert stage.wait_thread(root["_id"], 1) == [f"#{alert_id} acknowledged by {who}: on it"]
    stage.wait_text(root["_id"], f"— acknowledged by {who}: on it")
    stage.wait_reactions(root["_id"], ":eyes:")
    answer = client.post("/api/v1/alerts/resolve", headers=API,
                         json=[{"id": alert_id, "reason": "disk swapped"}])
    assert answer.get_json() == {"resolved": [alert_id], "unknown": []}
    note = stage.wait_thread(root["_id"], 2)[1]
    assert note.startswith(f"#{alert_id} resolved by {who} after ")
    assert note.endswith(": disk swapped")
    edited = stage.wait_text(root["_id"], f"resolved by {who} after ")
    assert edited["msg"].startswith(root["msg"] + "\n— acknowledged by ")
    stage.wait_reactions(root["_id"], ":white_check_mark:")
    assert stage.runner.engine.open_alerts() == []


def test_the_open_button_leads_to_the_alert_page_and_its_forms_act(stage: Stage) -> None:
    root, alert_id = _open(stage)
    link = root["attachments"][0]["actions"][2]
    assert link["text"] == "Open"
    path = urlsplit(link["url"]).path
    client, token = _ui(stage)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Alert {alert_id}: chat_disk / rocket.chat" in html
    assert root["_id"] in html and "alert message" in html  # its living message
    assert f"disk alert from @alice: @{BOT} disk 91% on db1" in html  # its open notification
    who = f"{OPS_USER} (web UI)"
    html = client.post(f"{path}/acknowledge", data={"csrf_token": token, "back": "alert",
                                                    "reason": "looking"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Acknowledged alert {alert_id}." in html
    assert stage.wait_thread(root["_id"], 1) == [f"#{alert_id} acknowledged by {who}: looking"]
    stage.wait_text(root["_id"], f"— acknowledged by {who}: looking")
    stage.wait_reactions(root["_id"], ":eyes:")
    html = client.post(f"{path}/resolve", data={"csrf_token": token, "back": "alert",
                                                "reason": "fixed it"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"Resolved alert {alert_id}." in html and "closed (RESOLVED)" in html
    assert stage.wait_thread(root["_id"], 2)[1].endswith(": fixed it")
    stage.wait_text(root["_id"], f"resolved by {who} after ")
    stage.wait_reactions(root["_id"], ":white_check_mark:")
    # still reachable from history, with who and why
    html = client.get(path).get_data(as_text=True)
    assert f"by {who}: fixed it" in html and "Alert History" in html


def test_the_silence_button_makes_a_silence_for_an_hour(stage: Stage) -> None:
    root, alert_id = _open(stage)
    clicked = stage.sim.click("boss", root["_id"], "Silence 1h")
    assert clicked is not None
    assert clicked["msg"] == f"@{BOT} silence rule=chat_disk entity=rocket.chat 1h"
    engine = stage.runner.engine
    [silence] = wait_until(lambda: engine.list_silences(), what="the silence")
    assert silence.describe() == "rule=chat_disk entity=rocket.chat"
    assert silence.author == "@boss" and silence.room_id == stage.room
    assert (silence.ends_at - silence.starts_at).total_seconds() == 3600
    assert engine.silence_covering(facts_of(engine.open_alerts()[0]),
                                   engine.clock.now()).id == silence.id
    # the click's answer is in the room; the click never reached the rules
    stage.settle()
    assert [r.message for r in stage.runner.commands()] == [f"@{BOT} disk 91% on db1"]
    assert alert_id == engine.open_alerts()[0]["id"]
