"""Pruning by age (rules/store/retention.py): history goes, what is still live stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from rules.store import Database
from rules.store.diagnostics import record_incident, record_request
from rules.store.engine_state import record_rule_error
from rules.store.retention import KINDS, prune
from rules.store.service_values import kept_value
from rules.store.tables.base import messages, security_incidents, webhook_requests
from rules.store.tables.engine import alerts, outbox, rule_errors
from tests.engine.helpers import START, make_rig, rule

DAY = timedelta(days=1)


def _count(db: Database, table: object, *where: object) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def _old_history(db: Database) -> None:
    with db.begin() as conn:
        record_request(conn, received_at=START, method="POST", path="/x", remote_addr="1.2.3.4",
                       size=1, outcome="stored", status=200)
        record_incident(conn, at=START, remote_addr="1.2.3.4", path="/x", user="u",
                        reason="wrong password")
        record_rule_error(conn, rule="r", expression="x", reason="boom", command=None, now=START)


def test_prune_removes_history_and_keeps_open_alerts_their_windows_and_the_outbox(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    db.create_schema()
    rig = make_rig(db, [rule("held", source="held", window="time(1 hour)"),
                        rule("closing", source="closing")])
    rig.send("bad", source="held")  # opens; its time window holds this message
    rig.send("bad", source="closing")
    rig.send("ok", source="closing")  # closes: history
    with db.begin() as conn:  # the log endpoint "sent" them, except the held rule's open
        conn.execute(update(outbox).where(outbox.c.rule == "closing")
                     .values(status="delivered"))
    _old_history(db)
    rig.advance(40 * 86400)
    rig.send("bad", source="closing")  # recent: kept
    now = rig.clock.now()
    cutoffs = {kind: now - 30 * DAY for kind in KINDS}

    counted = prune(db, cutoffs, now=now, dry_run=True)
    assert counted == {"messages": 2, "webhook_requests": 1, "security_incidents": 1,
                       "alerts": 1, "notifications": 2, "rule_errors": 1}
    assert _count(db, messages) == 4  # a dry run removes nothing

    assert prune(db, cutoffs, now=now) == counted
    assert _count(db, alerts, alerts.c.close_time.is_(None)) == 2  # held + the recent one
    assert _count(db, alerts) == 2
    assert _count(db, outbox, outbox.c.status == "pending") == 2  # never pruned
    assert _count(db, messages) == 2  # the held window's message and the recent one
    for table in (webhook_requests, security_incidents, rule_errors):
        assert _count(db, table) == 0
    # the held rule's window survives a restart with its message
    again = rig.restart()
    assert again.send("ok", source="held").notifications  # the open alert closes


def test_none_keeps_everything_of_that_kind(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    db.create_schema()
    _old_history(db)
    now = START + 400 * DAY
    assert prune(db, {"webhook_requests": None, "rule_errors": now}, now=now) == \
        {"rule_errors": 1}
    assert _count(db, webhook_requests) == 1


def test_a_kept_value_is_made_once_and_shared(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'atsd.db'}"
    first, second = Database(url), Database(url)
    first.create_schema()
    made = kept_value(first, "k", lambda: "one")
    assert made == "one" and kept_value(second, "k", lambda: "two") == "one"
