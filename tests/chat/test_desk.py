"""The chat command desk with the real engine, store and outbox: every command of the spec's
table, answered once, never run through the rules; ``usage:`` replies; refusals naming the
setting; bad input (spec: conversation, section 1; issue item 6)."""

from __future__ import annotations

import pytest

from rules.store import Database
from tests.chat.desk_rig import DeskRig


@pytest.fixture
def rig(db: Database) -> DeskRig:
    return DeskRig(db)


def open_alert(rig: DeskRig, text: str = "disk full on db1", room: str = "ops") -> int:
    rig.ask(text, room=room, direct=False, user="alice")
    return int(next(a["id"] for a in rig.engine.open_alerts() if a["rule"] == "disk-full"))


def test_addressed_commands_only(rig: DeskRig) -> None:
    assert rig.one("help").startswith("I answer these commands")
    assert rig.one("@atsd_bot help", direct=False, room="ops").startswith("I answer")
    assert rig.one("!bot help", direct=False, room="ops", trigger_word="!bot").startswith("I")
    # not addressed, or the first word no command: the rules get it (the echo rule answers)
    assert rig.ask("help", direct=False, room="ops") == ["echo help"]
    assert rig.ask("hello there") == ["echo hello there"]
    assert rig.stored() == 2


def test_answered_once_in_its_room_and_thread(rig: DeskRig) -> None:
    message = rig.message("@atsd_bot status", room="ops", direct=False, tmid="T9")
    assert rig.desk(message, path="webhook") == "command"
    assert rig.desk(message, path="realtime") == "duplicate"
    rig.sender.run_once()
    [sent] = rig.rest.sent
    assert (sent["rid"], sent["tmid"]) == ("ops", "T9") and sent["msg"].startswith("Up 0d")
    assert sent["_id"].startswith("atsdbot")
    assert rig.stored() == 0  # a command is not a message for the rules


def test_help_for_one_command(rig: DeskRig) -> None:
    text = rig.one("help silence")
    assert "silence MATCHERS DURATION [COMMENT...]" in text and "Example:" in text
    assert "bot admins only" in text and "[rocketchat] admin_roles" in text
    assert rig.one("help nosuch").startswith("no command `nosuch`")
    assert rig.one("help a b").startswith("usage: `help [COMMAND]`")


def test_alerts_alert_ack_unack_resolve(rig: DeskRig) -> None:
    alert_id = open_alert(rig)  # the echo rule opens one too
    assert rig.one("alerts").startswith("2 open alert(s), newest first:\n• #2 [WARNING] echo")
    assert f"#{alert_id} [WARNING] disk-full / rocket.chat, 0s old: disk full on db1" in \
        rig.one("alerts rule=disk*")
    assert rig.one("alerts entity=nothing") == "No open alerts match."
    assert rig.one(f"ack #{alert_id} swapping", user="boss") == (
        f"alert #{alert_id} acknowledged by @boss: swapping")
    detail = rig.one(f"alert {alert_id}")
    assert "acknowledged by @boss: swapping" in detail and "last message: disk full on db1" \
        in detail and "not silenced" in detail
    assert "(acknowledged)" in rig.one("alerts")
    assert "no longer acknowledged" in rig.one(f"unack {alert_id}", user="carol")  # by role
    assert rig.one(f"resolve {alert_id} fixed", user="boss").startswith(
        f"alert #{alert_id} resolved by @boss: fixed")
    assert rig.one("alerts").startswith("1 open alert(s)")  # echo's alert is still open
    assert "closed" in rig.one(f"alert {alert_id}") and "by @boss: fixed" in rig.one(
        f"alert {alert_id}")


def test_alert_links_to_its_web_ui_page(rig: DeskRig) -> None:
    alert_id = open_alert(rig)
    assert "/ui/" not in rig.one(f"alert {alert_id}")  # no [http] public_url: no link
    rig.desk.kit.public_url = "https://atsd.example/"
    assert rig.one(f"alert {alert_id}").endswith(f"\nhttps://atsd.example/ui/alerts/{alert_id}")


def test_refusals_name_the_setting(rig: DeskRig) -> None:
    alert_id = open_alert(rig)
    for text in (f"ack {alert_id}", f"unack {alert_id}", f"resolve {alert_id}",
                 "silence entity=db1 1h", "unsilence 1"):
        answer = rig.one(text, user="mallory")
        assert answer.startswith("Sorry @mallory") and "`[rocketchat] admins`" in answer
    assert not rig.engine.open_alerts()[0]["acknowledged"]
    assert rig.engine.list_silences() == []


def test_silence_silences_unsilence(rig: DeskRig) -> None:
    alert_id = open_alert(rig)
    made = rig.one("silence entity=rocket.chat 2h checking the disks", user="boss")
    assert made.startswith("silence #1: `entity=rocket.chat` (checking the disks), "
                           "matches 2 open alerts")
    assert "until 2026-01-02T05:04:05.000Z (2h)" in made
    assert "silenced by #1" in rig.one("alerts")
    assert rig.ask("more disk trouble", room="ops", direct=False) == []  # held
    listed = rig.one("silences")
    assert "#1 `entity=rocket.chat` by @boss (checking the disks)" in listed
    assert rig.one("silence disk-full 2 hours", user="boss").startswith(
        "silence #2: `rule=disk-full`")
    # unsilence in the silence's own room: the end note is the answer, one message
    assert rig.one("unsilence 1", user="boss").startswith("silence #1 ended by @boss")
    # elsewhere: the asker hears it, the creating room gets the note
    answers = rig.ask("unsilence #2", user="boss", room="dm-boss")
    assert sorted(answers)[0].startswith("silence #2 ended (its room is told)")
    assert any(a.startswith("silence #2 ended by @boss") for a in answers)
    assert rig.one("silences") == "No active silences."
    assert alert_id


@pytest.mark.parametrize(("text", "starts"), [
    ("ack abc", "usage: `ack ID [REASON...]`, e.g. `ack 42 looking into it`\n`abc` is not"),
    ("ack", "usage: `ack ID [REASON...]`"),
    ("ack 0", "usage: `ack ID"), ("ack #-1", "usage: `ack ID"), ("ack 99", "no alert #99"),
    ("unack 1 2", "usage: `unack ID`"), ("alert", "usage: `alert ID`"),
    ("alert 12345678901234567890123", "usage: `alert ID`"),
    ("alert 7", "no alert #7"), ("unsilence 5", "no silence #5"),
    ("unsilence x", "usage: `unsilence ID`"),
    ("silence disk-full", "usage: `silence MATCHERS DURATION [COMMENT...]`"),
    ("silence disk-full 30", "usage: `silence MATCHERS"),
    ("silence 2h", "usage: `silence MATCHERS"), ("silence colour=red 1h", "usage: `silence"),
    ("silence entity=db1 91d", "usage: `silence"), ("silence entity=db1 2 parsecs", "usage"),
    ("silences now", "usage: `silences`"), ("rules x", "usage: `rules`"),
    ("test", "usage: `test RULE MESSAGE...`"), ("test nosuch hi", "no rule named `nosuch`"),
    ("why a b", "usage: `why [MESSAGE_ID]`"), ("why ??", "usage: `why"),
    ("why", "I have no earlier message of yours"), ("why 424242", "no stored message #424242"),
    ("alerts colour=red", "usage: `alerts [MATCHERS]`"),
])
def test_bad_input_gets_one_clear_answer_and_changes_nothing(rig: DeskRig, text: str,
                                                            starts: str) -> None:
    answer = rig.one(text, user="boss")
    assert answer.startswith(starts), answer
    assert rig.stored() == 0 and rig.engine.list_silences() == []


def test_usage_lines_name_what_was_wrong(rig: DeskRig) -> None:
    assert rig.one("silence disk-full 30", user="boss").endswith(
        "`30` has no unit: write 90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'")
    assert rig.one("silence entity=db1 91d", user="boss").endswith(
        "duration '91d' is longer than the limit of 90d")
    assert "unknown matcher field 'colour'" in rig.one("silence colour=red 1h", user="boss")
    assert rig.one("silence 2h", user="boss").endswith(
        "no matchers: give at least one, e.g. entity=db1 or a rule name")


def test_unicode_long_arguments_and_markup(rig: DeskRig) -> None:
    answer = rig.one("silence entity=Žluťoučký-kůň 1h 🐴 příliš", user="boss")
    assert answer.startswith("silence #1: `entity=Žluťoučký-kůň` (🐴 příliš)")
    long = rig.one("silence " + "x" * 20000 + " 1h", user="boss")
    assert long.startswith("usage:") and len(long) < 400
    marked = rig.one("test nosuch `*bold*` <b>hi</b>", user="boss")
    assert marked == "no rule named `nosuch` (see `rules`)"
    sneaky = rig.one("alert `#1`")
    assert sneaky.startswith("usage: `alert ID`") and "``" not in sneaky
    assert rig.one("ack 1 " + "r" * 600, user="boss").endswith(
        "the reason is longer than 500 characters")
    assert len(rig.engine.list_silences()) == 1 and rig.stored() == 0


def test_why_the_previous_message_and_by_id(rig: DeskRig) -> None:
    rig.ask("the cpu is hot", room="ops", direct=False)
    answer = rig.one("@atsd_bot why", room="ops", direct=False)
    assert "\"the cpu is hot\"" in answer
    assert "• `disk-full`: filtered out: message LIKE '*disk*' is false" in answer
    assert "• `echo`: window" in answer and "CANCEL → OPEN (open)" in answer
    by_number = rig.one("!bot why #1", room="ops", direct=False, trigger_word="!bot")
    assert by_number.startswith("message #1 via realtime")
    by_chat_id = rig.one("!bot why msg-0001", room="ops", direct=False, trigger_word="!bot")
    assert by_chat_id.startswith("message #1 via realtime")
    link = rig.one("!bot why https://chat.example/channel/ops?msg=msg-0001", room="ops",
                   direct=False, trigger_word="!bot")
    assert link.startswith("message #1")


def test_why_refuses_another_rooms_message(rig: DeskRig) -> None:
    rig.ask("secret disk plans", room="private-room", direct=False)
    for asker in ("alice", "boss"):
        answer = rig.one("why 1", user=asker)
        assert answer.startswith("I explain only messages of the room you ask in")
        assert "secret" not in answer and "disk-full" not in answer
    assert rig.one("why msg-0001").startswith("I explain only messages of the room")


def test_a_failing_command_answers_and_changes_nothing(rig: DeskRig) -> None:
    def broken(*_: object, **__: object) -> bool:
        raise RuntimeError("store unavailable")

    rig.engine.acknowledge = broken  # type: ignore[method-assign]
    alert_id = open_alert(rig)
    answer = rig.one(f"ack {alert_id}", user="boss")
    assert answer == "Sorry, `ack` failed: RuntimeError. It changed nothing."
    assert rig.ask(f"ack {alert_id}", user="boss", mid="msg-0002") == []  # answered before
