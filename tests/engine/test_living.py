"""The living alert message, engine side: which outbox rows a ``thread`` rule writes and how
the message reads at delivery (rules/living), on the store, without Rocket.Chat."""

from __future__ import annotations

from typing import Any

import pytest

from rules.definitions.model import Rule
from rules.living import LivingViews, RoomBudget
from rules.notification import chat_message_id
from rules.store import Database
from tests.engine.helpers import Rig, make_rig, note, outbox_rows, rule, silence_rule

ROOM = {"channel_id": "ops"}


def thread_rule(name: str = "disk", **kwargs: Any) -> Rule:
    kwargs.setdefault("notifications", (note("rocketchat"),))
    return rule(name, conversation="thread", **kwargs)


@pytest.fixture
def rig(db: Database) -> Rig:
    return make_rig(db, [thread_rule()])


def send(rig: Rig, message: str = "bad", entity: str = "db1", **tags: str) -> list[Any]:
    accepted = rig.send(message, entity=entity, tags={**ROOM, **tags})
    return accepted.notifications


def rows(rig: Rig) -> list[Any]:
    return outbox_rows(rig.db)


def view(rig: Rig, message_id: str) -> Any:
    found = LivingViews(rig.db).view(message_id)
    assert found is not None
    return found


def test_open_posts_one_message_with_buttons_and_the_state_reaction(rig: Rig) -> None:
    [opened] = send(rig)
    assert opened.target == {"room_id": "ops", "action": "post", "react": True,
                             "buttons": {"alert_id": opened.alert_id, "rule": "disk",
                                         "entity": "db1"}}
    shown = view(rig, chat_message_id(opened.id))
    assert (shown.text, shown.reaction, shown.stale) == ("open db1 bad", ":rotating_light:", ())
    assert shown.buttons == {"alert_id": opened.alert_id, "rule": "disk", "entity": "db1"}


def test_repeat_and_cancel_go_into_the_thread_and_the_message_is_edited(rig: Rig) -> None:
    [opened] = send(rig)
    root = chat_message_id(opened.id)
    rig.advance(60)
    [repeat] = send(rig, "worse")
    assert repeat.target == {"room_id": "ops", "tmid": root}
    rig.advance(65)
    cancel, edit = send(rig, "ok")
    assert (cancel.text, cancel.target) == ("cancel db1", {"room_id": "ops", "tmid": root})
    assert edit.target == {"room_id": "ops", "action": "edit", "msg_id": root, "react": True,
                           "note": True}
    assert edit.text == "resolved after 2m 5s"
    shown = view(rig, root)
    assert shown.text == "open db1 bad\n— resolved after 2m 5s"
    assert (shown.reaction, shown.stale) == (":white_check_mark:", (":rotating_light:",))


def test_a_flat_rule_and_another_endpoint_of_a_thread_rule_stay_flat(db: Database) -> None:
    rig = make_rig(db, [rule("flat", notifications=(note("rocketchat"),)),
                        thread_rule("both", notifications=(note("log"), note("rocketchat")))])
    texts = send(rig)
    flat, logged, threaded = texts
    assert flat.target == {"room_id": "ops", "tmid": None}
    assert logged.endpoint == "log" and "action" not in logged.target
    assert threaded.target["action"] == "post"


def test_ack_and_unack_post_a_note_and_edit(rig: Rig) -> None:
    [opened] = send(rig)
    root = chat_message_id(opened.id)
    assert rig.engine.acknowledge(opened.alert_id, True, by="@alice", reason="looking")
    note_row, edit_row = rows(rig)[-2:]
    assert (note_row.trigger, note_row.text, note_row.target) == (
        "ack", f"#{opened.alert_id} acknowledged by @alice: looking",
        {"room_id": "ops", "tmid": root})
    assert edit_row.target["action"] == "edit" and edit_row.target["note"] is False
    shown = view(rig, root)
    assert shown.text == "open db1 bad\n— acknowledged by @alice: looking"
    assert (shown.reaction, shown.stale) == (":eyes:", (":rotating_light:",))
    assert rig.engine.acknowledge(opened.alert_id, False, by="@bob")
    shown = view(rig, root)
    assert shown.text == "open db1 bad\n— unacknowledged by @bob"
    assert (shown.reaction, shown.stale) == (":rotating_light:", (":eyes:",))


def test_resolved_after_an_ack_keeps_who_acknowledged(rig: Rig) -> None:
    [opened] = send(rig)
    rig.engine.acknowledge(opened.alert_id, True, by="@alice", reason="looking")
    rig.advance(30)
    send(rig, "ok")
    assert view(rig, chat_message_id(opened.id)).text == (
        "open db1 bad\n— acknowledged by @alice: looking · resolved after 30s")


def test_a_window_reopening_soon_continues_its_message(rig: Rig) -> None:
    [first] = send(rig)
    root = chat_message_id(first.id)
    texts = []
    for _ in range(3):
        rig.advance(10)
        send(rig, "ok")
        rig.advance(10)
        post, edit = send(rig)
        assert post.target["tmid"] == root and post.target["buttons"]["alert_id"] == post.alert_id
        assert edit.target["msg_id"] == root
        texts.append(edit.text)
    assert texts == ["reopened", "reopened 2 times", "flapping: reopened 3 times"]
    assert view(rig, root).text == "open db1 bad\n— flapping: reopened 3 times"
    assert view(rig, root).reaction == ":rotating_light:"


def test_after_reopen_within_a_new_message(rig: Rig) -> None:
    [first] = send(rig)
    rig.advance(10)
    send(rig, "ok")
    rig.advance(601)
    [second] = send(rig)
    assert second.target["action"] == "post" and second.id != first.id


def test_the_first_alert_id_stands_for_the_reopened_alert(rig: Rig) -> None:
    [first] = send(rig)
    send(rig, "ok")
    rig.advance(1)
    post, _ = send(rig)
    assert rig.engine.acknowledge(first.alert_id, True, by="@alice")
    assert [a["acknowledged"] for a in rig.engine.open_alerts()] == [True]
    assert rig.engine.open_alerts()[0]["id"] == post.alert_id


def test_the_first_alert_id_resolves_the_reopened_alert(rig: Rig) -> None:
    [first] = send(rig)
    send(rig, "ok")
    rig.advance(1)
    post, _ = send(rig)
    assert rig.engine.resolve(first.alert_id, by="@alice", reason="done")
    assert rig.engine.open_alerts() == []
    note_row = rows(rig)[-2]
    assert note_row.text.startswith(f"#{post.alert_id} resolved by @alice after ")
    assert not rig.engine.resolve(first.alert_id, by="@alice")  # nothing open any more


def test_a_storm_folds_into_one_summary(db: Database) -> None:
    rig = make_rig(db, [thread_rule()])
    rig.engine.stories.budget = RoomBudget(count=2, seconds=60)
    posts = [send(rig, entity=f"db{i}") for i in range(5)]
    assert [p[0].target["action"] for p in posts[:2]] == ["post", "post"]
    head, first_folded = posts[2]
    assert head.target == {"room_id": "ops", "action": "post", "react": True, "summary": True}
    summary = chat_message_id(head.id)
    assert first_folded.target["tmid"] == summary and first_folded.text == "open db2 bad"
    for joined in posts[3:]:
        post, edit = joined
        assert post.target["tmid"] == summary and edit.target["msg_id"] == summary
    assert view(rig, summary).text == "+3 alerts: disk/db2, disk/db3, disk/db4"
    send(rig, "ok", entity="db3")
    assert view(rig, summary).text == "+3 alerts: disk/db2, disk/db3, disk/db4\n1 of 3 resolved"
    for i in range(5):
        send(rig, "ok", entity=f"db{i}")
    shown = view(rig, summary)
    assert shown.text == "+3 alerts: disk/db2, disk/db3, disk/db4\nall resolved"
    assert shown.reaction == ":white_check_mark:"
    rig.advance(61)
    [fresh] = send(rig, entity="db9")
    assert fresh.target["action"] == "post"


def test_the_budget_slides_and_counts_no_summary(db: Database) -> None:
    rig = make_rig(db, [thread_rule()])
    rig.engine.stories.budget = RoomBudget(count=2, seconds=60)
    send(rig, entity="a")
    rig.advance(40)
    send(rig, entity="b")
    rig.advance(21)  # "a" left the interval
    assert send(rig, entity="c")[0].target["action"] == "post"
    assert send(rig, entity="d")[0].target.get("summary") is True


def test_the_mapping_survives_a_restart(rig: Rig) -> None:
    [opened] = send(rig)
    again = rig.restart()
    [repeat] = again.send("worse", entity="db1", tags=ROOM).notifications
    assert repeat.target["tmid"] == chat_message_id(opened.id)


def test_a_withdrawn_delayed_open_is_never_brought_up_to_date(db: Database) -> None:
    rig = make_rig(db, [thread_rule(notifications=(note("rocketchat", delay_open_seconds=60),))])
    send(rig)
    rig.advance(10)
    assert send(rig, "ok") == []
    assert [r.status for r in rows(rig)] == ["cancelled"]


def test_a_silenced_open_is_stored_flat(db: Database) -> None:
    rig = make_rig(db, [thread_rule()])
    silence = silence_rule(rig, "disk", 3600)
    assert send(rig) == []
    assert [(r.status, r.silence_id, r.target) for r in rows(rig)] == [
        ("silenced", silence.id, {"room_id": "ops", "tmid": None})]


def test_resolved_by_hand_a_note_and_an_edit(rig: Rig) -> None:
    [opened] = send(rig)
    rig.advance(30)
    assert rig.engine.resolve(opened.alert_id, by="@boss", reason="swapped the disk")
    note_row, edit_row = rows(rig)[-2:]
    assert (note_row.trigger, note_row.text) == (
        "resolve", f"#{opened.alert_id} resolved by @boss after 30s: swapped the disk")
    assert edit_row.target["action"] == "edit" and edit_row.target["note"] is False
    shown = view(rig, chat_message_id(opened.id))
    assert shown.text == "open db1 bad\n— resolved by @boss after 30s: swapped the disk"
    assert shown.reaction == ":white_check_mark:"
    # the window starts again: the next bad message is a new alert, reopening the message
    rig.advance(5)
    post, edit = send(rig)
    assert post.target["tmid"] == chat_message_id(opened.id) and edit.text == "reopened"


def test_a_mention_in_a_reason_notifies_nobody() -> None:
    from rules.chat_text import mention_free
    from rules.living.text import ack_words

    words = ack_words(True, "@alice", "paging @all and @bob.smith, mail a@b")
    assert words.startswith("acknowledged by @alice: paging @")
    assert "@all" not in words and "@bob.smith" not in words
    assert words.replace("\u2060", "") == "acknowledged by @alice: paging @all and " \
                                          "@bob.smith, mail a@b"
    assert mention_free("x" * 100, 10) == "x" * 9 + "…"
