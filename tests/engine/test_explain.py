"""``why``'s record: what each rule that could see a stored message did, from the first stage
that stopped it to the delivery state of what it sent, as recorded then (spec: conversation,
section 4)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from rules.engine.explain import Explanation, explain
from rules.store import Database
from rules.store.tables.engine import outbox
from tests.engine.helpers import every, make_rig, note, rule, silence_rule


def why(db: Database, message_id: int | None) -> Explanation:
    assert message_id is not None
    with db.connect() as conn:
        found = explain(conn, message_id)
    assert found is not None
    return found


def test_names_the_part_of_the_filter_that_was_false(db: Database) -> None:
    rig = make_rig(db, [rule(filter="tags.bot != 'true' AND message LIKE '*disk*'")])
    found = why(db, rig.send("cpu is high").message_id)
    assert found.state == "explained"
    [outcome] = found.rules
    assert (outcome.rule, outcome.stage) == ("r1", "filter")
    assert outcome.detail == "filtered out: message LIKE '*disk*' is false"
    assert found.lines()[1] == "• `r1`: filtered out: message LIKE '*disk*' is false"


def test_a_filter_of_one_part_is_named_whole(db: Database) -> None:
    rig = make_rig(db, [rule(filter="tags.bot != 'true'")])
    found = why(db, rig.send("x", tags={"bot": "true"}).message_id)
    assert found.rules[0].detail == "filtered out: tags.bot != 'true' is false"


def test_time_offset(db: Database) -> None:
    rig = make_rig(db, [rule(time_offset_seconds=60)])
    found = why(db, rig.send("bad", date=rig.clock.now() - timedelta(hours=1)).message_id)
    assert found.rules[0].stage == "time_offset"
    assert "outside time_offset" in found.rules[0].detail and "1m from now" in found.rules[0].detail


def test_no_rule_could_see_it_names_the_rules_filters(db: Database) -> None:
    rig = make_rig(db, [rule(source="app"), rule("r2", source="jenkins", types=("build",))])
    found = why(db, rig.send("hello", source="other").message_id)
    assert found.state == "nobody"
    assert found.nobody == "r1: source=app; r2: type=build source=jenkins"
    assert "no rule could see it" in found.lines()[1]


def test_what_a_rule_did_and_the_delivery_state_now(db: Database) -> None:
    rig = make_rig(db, [rule()])
    opened = why(db, rig.send("bad").message_id)
    [outcome] = opened.rules
    assert outcome.detail == ("window `e1` (length(1), 1 in it), condition true, "
                              "CANCEL → OPEN (open)")
    [sent] = outcome.notifications
    assert sent["text"] == f"open to log (notification #{sent['id']}): waiting to be sent"
    with db.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == sent["id"]).values(status="delivered"))
    assert why(db, opened.message_id).rules[0].notifications[0]["text"].endswith(": sent")
    with db.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == sent["id"]).values(
            status="failed", attempts=5, last_error="HTTP 500 from Rocket.Chat"))
    assert why(db, opened.message_id).rules[0].notifications[0]["text"].endswith(
        "failed: HTTP 500 from Rocket.Chat")
    stays = why(db, rig.send("ok").message_id).rules[0]
    assert "OPEN → CANCEL (cancel)" in stays.detail
    quiet = why(db, rig.send("ok").message_id).rules[0]
    assert quiet.detail.endswith("condition false, no status change (CANCEL)")
    assert quiet.notifications == []


def test_silenced_held_by_delay_and_not_repeated(db: Database) -> None:
    rig = make_rig(db, [rule(notifications=(note(delay_open_seconds=300,
                                                 repeat_every=every("events", 3)),)),
                        rule("r2", notifications=(note("hook"),))])
    made = silence_rule(rig, "r2", 3600)
    found = why(db, rig.send("bad").message_id)
    held, silenced = found.rules
    assert held.notifications[0]["text"].endswith("held by delay_open until "
                                                  "2026-03-01T12:05:00.000Z")
    assert silenced.silence_id == made.id
    assert silenced.notifications[0]["text"].endswith(f"suppressed by silence #{made.id}")
    repeat = why(db, rig.send("bad").message_id).rules[0]
    assert "not sent: log: the open notification is still held by its delay" in [
        n["text"] for n in repeat.notifications]


def test_the_record_outlives_a_rule_change(db: Database) -> None:
    rig = make_rig(db, [rule(filter="message LIKE '*disk*'")])
    message_id = rig.send("cpu").message_id
    rig.engine.load([rule("renamed", filter="true")])
    assert why(db, message_id).rules[0].detail == "filtered out: message LIKE '*disk*' is false"


def test_a_filter_that_fails_is_said_so(db: Database) -> None:
    rig = make_rig(db, [rule(filter="1 / (length(message) - 3) > 0")])
    assert why(db, rig.send("bad").message_id).rules[0].detail.startswith(
        "the filter failed:")


def test_unknown_pending_and_unrecorded(db: Database) -> None:
    rig = make_rig(db, [rule()])
    with db.connect() as conn:
        assert explain(conn, 999) is None
    rig.ingestor.runs_engine = False  # another instance runs the engine
    pending = why(db, rig.send("bad").message_id)
    assert pending.state == "pending" and "not processed yet" in pending.lines()[1]
    rig.ingestor.runs_engine = True
    rig.ingestor.process_pending()
    assert why(db, pending.message_id).state == "explained"
    json = why(db, pending.message_id).to_json()
    assert json["rules"][0]["rule"] == "r1" and json["lines"][0].startswith("message #")


def test_folded_by_the_storm_budget(db: Database) -> None:
    from rules.living import RoomBudget
    from rules.notification import chat_message_id

    rig = make_rig(db, [rule("disk", conversation="thread", notifications=(note("rocketchat"),))])
    rig.engine.stories.budget = RoomBudget(count=1, seconds=60)  # room_budget = "1/1m"
    room = {"channel_id": "ops"}
    first = rig.send("bad", entity="db1", tags=room)
    own = why(db, first.message_id).rules[0]
    assert "folded" not in own.detail and "reopened" not in own.detail
    second = rig.send("bad", entity="db2", tags=room)
    head = second.notifications[0]
    [outcome] = why(db, second.message_id).rules
    assert outcome.detail.endswith(
        "CANCEL → OPEN (open), folded by the storm budget into the summary message "
        f"`{chat_message_id(head.id)}`")
    # the summary's post and the folded open, both in the log
    assert [n["trigger"] for n in outcome.notifications] == ["open", "open"]


def test_reopened_and_flapping(db: Database) -> None:
    rig = make_rig(db, [rule("disk", conversation="thread", notifications=(note("rocketchat"),))])
    room = {"channel_id": "ops"}
    rig.send("bad", entity="db1", tags=room)
    found = []
    for _ in range(3):
        rig.advance(10)
        rig.send("ok", entity="db1", tags=room)
        rig.advance(10)
        found.append(why(db, rig.send("bad", entity="db1", tags=room).message_id))
    assert [f.rules[0].detail.split("(open), ")[1] for f in found] == [
        "reopened once within reopen_within: continues the alert message",
        "reopened 2 times within reopen_within: continues the alert message",
        "reopened 3 times (flapping): continues the alert message"]
    assert found[2].lines()[1].endswith("reopened 3 times (flapping): continues the alert message")
    assert found[2].to_json()["rules"][0]["detail"] == found[2].rules[0].detail
