"""Silences in the engine: matchers on the alert's facts, the silence id in the notification
log, one end note in the creating room, acknowledgement and resolving by hand with who and
why, and the upgrade of a version-1 store's per-rule silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from rules.command import Severity
from rules.silences import parse_words
from rules.store import Database
from rules.store import silences as silence_rows
from tests.engine.helpers import alert_rows, make_rig, outbox_rows, rule


def silence(rig, words: str, seconds: float = 3600, **kwargs):  # type: ignore[no-untyped-def]
    return rig.engine.create_silence(parse_words(words.split()), timedelta(seconds=seconds),
                                     author="@boss", **kwargs)


def test_matchers_pick_the_alerts_they_name(db: Database) -> None:
    rig = make_rig(db, [rule(severity="MINOR")])
    made = silence(rig, "entity=db* severity>=MINOR tags.mount=/var")
    rig.send("bad", entity="db1", tags={"mount": "/var"})
    rig.send("bad", entity="db2", tags={"mount": "/home"})
    rig.send("bad", entity="web1", tags={"mount": "/var"})
    rows = outbox_rows(db)
    assert [(r.text, r.status, r.silence_id) for r in rows] == [
        ("open db1 bad", "silenced", made.id), ("open db2 bad", "pending", None),
        ("open web1 bad", "pending", None)]
    # the alert itself still opened: only the notification was held
    assert sorted(a["entity"] for a in rig.engine.open_alerts()) == ["db1", "db2", "web1"]


def test_severity_matcher_reads_the_alert_severity(db: Database) -> None:
    rig = make_rig(db, [rule(severity="UNKNOWN")])  # the message's severity
    silence(rig, "severity<=WARNING")
    rig.send("bad", entity="e1", severity=Severity.MAJOR)
    rig.send("bad", entity="e2", severity=Severity.WARNING)
    assert [r.status for r in outbox_rows(db)] == ["pending", "silenced"]


def test_an_ended_silence_is_told_once_in_its_room(db: Database) -> None:
    rig = make_rig(db, [rule()])
    made = silence(rig, "r1", 600, comment="deploy", room_id="ROOM1", tmid="T1")
    rig.advance(599)
    assert rig.engine.tick() == []
    rig.advance(2)
    [note] = rig.engine.tick()
    assert note.target == {"room_id": "ROOM1", "tmid": "T1"} and note.trigger == "note"
    assert note.text.startswith(f"silence #{made.id} expired after 10m: `rule=r1` (`deploy`)")
    rig.advance(60)
    assert rig.engine.tick() == []
    again = rig.restart()
    assert again.engine.tick() == []  # told once, across restarts too
    assert [r.trigger for r in outbox_rows(db)] == ["note"]


def test_expiring_by_hand_tells_the_room_and_names_who(db: Database) -> None:
    rig = make_rig(db, [rule()])
    made = silence(rig, "r1", room_id="ROOM1")
    ended, note = rig.engine.expire_silence(made.id, by="@carol")
    assert ended is not None and ended.expired_by == "@carol" and note is not None
    assert note.text.startswith(f"silence #{made.id} ended by @carol")
    assert rig.engine.expire_silence(made.id, by="@carol") == (None, None)
    rig.advance(7200)
    assert rig.engine.tick() == []
    assert rig.texts("bad") == ["open e1 bad"]


def test_silences_listed_active_then_all(db: Database) -> None:
    rig = make_rig(db, [rule()])
    first = silence(rig, "r1", 60)
    second = silence(rig, "entity=e9", 3600)
    rig.advance(120)
    assert [s.id for s in rig.engine.list_silences()] == [second.id]
    assert [s.id for s in rig.engine.list_silences(include_ended=True)] == [second.id, first.id]


def test_ack_and_resolve_record_who_and_why(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    alert_id = rig.engine.open_alerts()[0]["id"]
    assert rig.engine.acknowledge(alert_id, True, by="@boss", reason="looking")
    [row] = alert_rows(db)
    assert (row.acknowledged, row.ack_by, row.ack_reason) == (True, "@boss", "looking")
    assert rig.engine.resolve(alert_id, by="@boss", reason="fixed by hand")
    assert rig.engine.open_alerts() == [] and not rig.engine.resolve(alert_id, by="@boss")
    [row] = alert_rows(db)
    assert (row.close_reason, row.closed_by, row.close_note) == (
        "RESOLVED", "@boss", "fixed by hand")
    # the window starts again from CANCEL: the next bad message opens a new alert
    assert rig.texts("bad") == ["open e1 bad"]
    assert [h["reason"] for h in rig.engine.alert_history()] == ["RESOLVED"]


def test_a_resolved_alert_does_not_come_back_after_a_restart(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")
    rig.engine.resolve(rig.engine.open_alerts()[0]["id"], by="@boss")
    assert rig.restart().engine.open_alerts() == []


def test_version_1_store_is_upgraded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(url)
    old.create_schema()
    with old.begin() as conn:  # what version 1 had: per-rule silences, no new columns
        conn.execute(text("DROP TABLE silences"))
        conn.execute(text("ALTER TABLE outbox DROP COLUMN silence_id"))
        conn.execute(text("ALTER TABLE alerts DROP COLUMN ack_by"))
        conn.execute(text('CREATE TABLE rule_silences (rule VARCHAR(256) PRIMARY KEY, '
                          '"until" DATETIME NOT NULL, created_at DATETIME NOT NULL)'))
        conn.execute(text("INSERT INTO rule_silences VALUES ('disk', '2099-01-01 00:00:00', "
                          "'2026-01-01 00:00:00')"))
        conn.execute(text("UPDATE schema_version SET version = 1"))
    old.dispose()
    new = Database(url)
    assert new.create_schema() == 2
    with new.connect() as conn:
        [made] = silence_rows.recent(conn, datetime.now(UTC))
        assert made.describe() == "rule=disk" and made.author == "(before the upgrade)"
        conn.execute(text("SELECT silence_id FROM outbox"))
        conn.execute(text("SELECT ack_by FROM alerts"))
    new.dispose()


def test_unsilence_in_the_silences_room_moves_the_note_to_the_askers_thread(
        db: Database) -> None:
    rig = make_rig(db, [rule()])
    first = silence(rig, "r1", room_id="ROOM1", tmid="T1")
    second = silence(rig, "r1", room_id="ROOM1", tmid="T1")
    _, here = rig.engine.expire_silence(first.id, by="@carol", asked_in=("ROOM1", None))
    _, elsewhere = rig.engine.expire_silence(second.id, by="@carol", asked_in=("DM", "T9"))
    assert here is not None and here.target == {"room_id": "ROOM1", "tmid": None}
    assert elsewhere is not None and elsewhere.target == {"room_id": "ROOM1", "tmid": "T1"}


def test_an_end_note_shows_an_api_comment_as_text(db: Database) -> None:
    """A comment from the web UI or the API reaches the room only inside a code span."""
    rig = make_rig(db, [rule()])
    made = silence(rig, "r1", comment="@all `look` *now*\n<b>x</b>", room_id="ROOM1")
    _, note = rig.engine.expire_silence(made.id, by="ops (API)")
    assert note is not None
    assert note.text == (f"silence #{made.id} ended by ops (API): `rule=r1` "
                         "(`@all 'look' *now* <b>x</b>`). Matching alerts notify again.")
