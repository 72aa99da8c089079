"""The living alert message against the simulator, on each inbound path: one room message per
alert with buttons, repeats and notes in its thread, edits on ack and on resolve, reactions
following the state, a reopening continuing the message, a storm folded with nothing lost,
refused edits noted in the thread, and the bot never taking its own edits as input."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.rest import living as living_chat
from rules.living import RoomBudget
from rules.store import Database
from tests.api_rules.conftest import basic
from tests.realtime.conftest import World
from tests.realtime.harness import wait_until
from tests.realtime.living_stage import BOT, OPS_PASSWORD, OPS_USER, Stage, staged
from tests.ui.conftest import csrf_of

PATHS = ["realtime", "webhook"]


@pytest.fixture(params=PATHS)
def stage(request: pytest.FixtureRequest, world: World, sqlite_db: Database,
          tmp_path: Path) -> Iterator[Stage]:
    with staged(world, sqlite_db, tmp_path, request.param) as stage:
        yield stage


def labels(message: dict) -> list[str]:
    return [a["text"] for a in message["attachments"][0]["actions"]]


def test_one_message_per_alert_repeats_in_its_thread_resolved_with_its_duration(
        stage: Stage) -> None:
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    assert root["msg"] == f"disk alert from @alice: @{BOT} disk 91% on db1"
    assert labels(root) == ["Acknowledge", "Silence 1h", "Open"]
    ack, silence, link = root["attachments"][0]["actions"]
    alert_id = stage.runner.engine.open_alerts()[0]["id"]
    assert ack["msg"] == f"@{BOT} ack {alert_id}" and ack["msg_in_chat_window"] is True
    assert silence["msg"] == f"@{BOT} silence rule=chat_disk entity=rocket.chat 1h"
    assert link["url"] == f"https://atsd.example/ui/alerts/{alert_id}"
    stage.wait_reactions(root["_id"], ":rotating_light:")
    stage.say("alice", "disk 95% on db1")
    assert stage.wait_thread(root["_id"], 1) == [f"again: @{BOT} disk 95% on db1"]
    stage.say("alice", "disk fixed")
    stage.wait_thread(root["_id"], 2)
    edited = stage.wait_text(root["_id"], "resolved after")
    assert edited["msg"].startswith(root["msg"] + "\n— resolved after ")
    assert edited["editedBy"]["username"] == BOT and edited["attachments"] == root["attachments"]
    stage.wait_reactions(root["_id"], ":white_check_mark:")
    stage.settle()
    assert len(stage.roots()) == 1
    assert stage.thread(root["_id"]) == [f"again: @{BOT} disk 95% on db1",
                                         f"fixed: @{BOT} disk fixed"]


def test_acknowledged_by_hand_a_note_in_the_thread_and_an_edit(stage: Stage) -> None:
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    alert_id = stage.runner.engine.open_alerts()[0]["id"]
    assert stage.runner.engine.acknowledge(alert_id, True, by="@boss", reason="on it")
    assert stage.wait_thread(root["_id"], 1) == [f"#{alert_id} acknowledged by @boss: on it"]
    stage.wait_text(root["_id"], "— acknowledged by @boss: on it")
    stage.wait_reactions(root["_id"], ":eyes:")
    assert stage.runner.engine.acknowledge(alert_id, False, by="@boss")
    stage.wait_text(root["_id"], "— unacknowledged by @boss")
    stage.wait_reactions(root["_id"], ":rotating_light:")


def test_the_acknowledge_button_is_a_chat_command(stage: Stage) -> None:
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    alert_id = stage.runner.engine.open_alerts()[0]["id"]
    clicked = stage.sim.click("boss", root["_id"], "Acknowledge")
    assert clicked is not None and clicked["msg"] == f"@{BOT} ack {alert_id}"
    stage.wait_text(root["_id"], "— acknowledged by @boss")
    stage.wait_reactions(root["_id"], ":eyes:")
    assert [a["acknowledged"] for a in stage.runner.engine.open_alerts()] == [True]
    assert stage.wait_thread(root["_id"], 1) == [f"#{alert_id} acknowledged by @boss"]
    # the command's answer is in the room, once; the click itself never reached the rules
    stage.settle()
    answers = [m["msg"] for m in stage.sim.messages(stage.room)
               if m["u"]["username"] == BOT and not m.get("tmid") and m["_id"] != root["_id"]]
    assert answers == [f"alert #{alert_id} acknowledged by @boss"]
    assert [r.message for r in stage.runner.commands()] == [f"@{BOT} disk 91% on db1"]


def test_resolved_by_hand_a_note_an_edit_and_the_reaction(stage: Stage) -> None:
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    alert_id = stage.runner.engine.open_alerts()[0]["id"]
    stage.say("boss", f"resolve {alert_id} swapped the disk")
    note = f"#{alert_id} resolved by @boss after "
    thread = stage.wait_thread(root["_id"], 1)
    assert thread[0].startswith(note) and thread[0].endswith(": swapped the disk")
    edited = stage.wait_text(root["_id"], "— resolved by @boss after ")
    assert edited["msg"].endswith(": swapped the disk")
    stage.wait_reactions(root["_id"], ":white_check_mark:")
    assert stage.runner.engine.open_alerts() == []


def test_a_window_reopening_soon_continues_its_message(stage: Stage) -> None:
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    for n, words in enumerate(["reopened", "reopened 2 times", "flapping: reopened 3 times"]):
        stage.say("alice", "disk fixed")
        stage.wait_text(root["_id"], "resolved")
        stage.say("alice", f"disk {92 + n}% on db1")
        stage.wait_text(root["_id"], f"— {words}")
        stage.wait_reactions(root["_id"], ":rotating_light:")
    stage.settle()
    assert len(stage.roots()) == 1
    thread = stage.thread(root["_id"])
    assert [t for t in thread if t.startswith("disk alert")] == [
        f"disk alert from @alice: @{BOT} disk {92 + n}% on db1" for n in range(3)]


@pytest.mark.parametrize("path", PATHS)
def test_a_storm_folds_into_a_summary_and_nothing_is_lost(
        world: World, sqlite_db: Database, tmp_path: Path, path: str) -> None:
    users = [f"user{i}" for i in range(6)]
    for user in users:
        world.sim.create_user(user, "storm-pw-1")
    with staged(world, sqlite_db, tmp_path, path, budget=RoomBudget(2, 60),
                members=tuple(users)) as stage:
        for user in users:
            stage.say(user, f"disk full on {user}")
        _storm(stage, users)


def _storm(stage: Stage, users: list[str]) -> None:
    roots = stage.wait_roots(3)
    own, summary = roots[:2], roots[2]
    # the webhook path may take the messages in another order: any two get their own message
    first = {r["msg"].split(":")[0].rsplit("@", 1)[1] for r in own}
    assert len(first) == 2 and first <= set(users)
    folded = stage.wait_thread(summary["_id"], 4)
    assert sorted(folded) == sorted(f"disk alert from @{u}: @{BOT} disk full on {u}"
                                    for u in users if u not in first)
    stage.wait_text(summary["_id"], "+4 alerts: ")
    _all_listed_mid_storm(stage, summary["_id"])
    for user in users:
        stage.say(user, "disk fixed")
    stage.wait_text(summary["_id"], "all resolved")
    stage.wait_reactions(summary["_id"], ":white_check_mark:")
    for root in own:
        stage.wait_text(root["_id"], "resolved after")
    stage.settle()
    answers = [r for r in stage.roots() if r["msg"].startswith("6 open alert(s)")]
    assert len(answers) == 1 and len(stage.roots()) == 3 + 1  # and the answer to 'alerts'
    assert len(stage.thread(summary["_id"])) == 8  # 4 opens, 4 cancels
    assert stage.runner.engine.open_alerts() == []


def _all_listed_mid_storm(stage: Stage, summary: str) -> None:
    """Nothing is dropped: before any resolves, every alert, folded or not, is listed by
    ``alerts`` in chat, the API and the web UI (whose page of a folded one names the
    summary it lives in)."""
    ids = sorted(a["id"] for a in stage.runner.engine.open_alerts())
    assert len(ids) == 6
    stage.say("boss", "alerts")
    answer = wait_until(lambda: [m["msg"] for m in stage.sim.messages(stage.room)
                                 if m["msg"].startswith("6 open alert(s)")],
                        what="the answer to 'alerts'")[0]
    assert all(f"#{i} " in answer for i in ids), answer
    client = stage.app.test_client()
    found = client.post("/api/v1/alerts/query", headers=basic(OPS_USER, OPS_PASSWORD), json=[
        {"entity": "*", "endDate": "now", "interval": {"count": 1, "unit": "DAY"}}]).get_json()
    assert sorted(a["id"] for a in found) == ids
    page = client.get("/ui/login").get_data(as_text=True)
    client.post("/ui/login", data={"username": OPS_USER, "password": OPS_PASSWORD,
                                   "csrf_token": csrf_of(page)})
    listed = client.get("/ui/alerts").get_data(as_text=True)
    assert all(f'<tr id="alert-{i}"' in listed for i in ids)
    folded = [i for i in ids if summary in client.get(f"/ui/alerts/{i}").get_data(as_text=True)]
    assert len(folded) == 4


def test_a_refused_edit_is_noted_in_the_thread(stage: Stage, caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(living_chat, "_refusal_logged", threading.Event())
    stage.sim.set_settings(Message_AllowEditing=False)
    caplog.set_level(logging.WARNING, logger="bot.rest.living")
    stage.say("alice", "disk 91% on db1")
    [root] = stage.wait_roots(1)
    stage.say("alice", "disk fixed")
    thread = stage.wait_thread(root["_id"], 2)
    assert thread[0] == f"fixed: @{BOT} disk fixed"
    assert thread[1].startswith("resolved after ")
    stage.wait_reactions(root["_id"], ":white_check_mark:")
    stage.say("alice", "disk 92% on db1")
    assert stage.wait_thread(root["_id"], 4)[2:] == [
        f"disk alert from @alice: @{BOT} disk 92% on db1", "reopened"]
    stage.wait_reactions(root["_id"], ":rotating_light:")
    stage.settle()
    assert stage.sim.message(root["_id"])["msg"] == root["msg"]  # never edited
    refusals = [r.getMessage() for r in caplog.records if "refused to edit" in r.getMessage()]
    assert len(refusals) == 1 and "Message_AllowEditing" in refusals[0]
    assert "Message_AllowEditing_BlockEditInMinutes = 0" in refusals[0]
    assert {r.status for r in _outbox(stage)} == {"delivered"}


def test_own_edits_reactions_and_thread_posts_are_never_input(
        world: World, sqlite_db: Database, tmp_path: Path) -> None:
    # edits = "process": other people's edits would be input; the bot's own never are
    with staged(world, sqlite_db, tmp_path, "both", edits="process") as stage:
        stage.say("alice", "disk 91% on db1")
        [root] = stage.wait_roots(1)
        stage.say("alice", "disk 95% on db1")
        stage.say("alice", "disk fixed")
        stage.wait_text(root["_id"], "resolved after")
        stage.wait_reactions(root["_id"], ":white_check_mark:")
        stage.settle()

        def edit_deliveries() -> list:
            return [d for d in stage.sim.deliveries
                    if d.get("payload", {}).get("isEdited")
                    and d["payload"]["message_id"] == root["_id"]]

        # the simulator fires the outgoing webhook for an edit on its own thread, a moment
        # after the edit: wait for it rather than read the list at once
        assert wait_until(edit_deliveries, what="the outgoing webhook run for the bot's edit")
        assert wait_until(lambda: all(d.get("status") == 200 for d in stage.sim.deliveries),
                          what="every webhook answered")
        stored = [r.message for r in stage.runner.commands()]
        assert stored == [f"@{BOT} disk 91% on db1", f"@{BOT} disk 95% on db1",
                          f"@{BOT} disk fixed"]


def _outbox(stage: Stage) -> list:
    from tests.engine.helpers import outbox_rows

    return outbox_rows(stage.runner.db)
