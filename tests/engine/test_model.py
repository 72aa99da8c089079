"""Random command sequences, with restarts anywhere, against a plain model of the status table."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.store import Database
from tests.engine.helpers import every, make_rig, note, outbox_rows, rule

STEP = st.one_of(st.sampled_from(["bad", "ok"]), st.just("restart"), st.just("wait"))


def model(steps: list[str], events: int) -> list[str]:
    """The triggers the outbox must hold: the status table plus 'every N events' repeats."""
    sent, status, repeats = [], "CANCEL", 0
    for step in steps:
        if step not in ("bad", "ok"):
            continue
        if step == "bad":
            if status == "CANCEL":
                status, repeats = "OPEN", 0
                sent.append("open")
            else:
                status, repeats = "REPEAT", repeats + 1
                if repeats % events == 0:
                    sent.append("repeat")
        elif status != "CANCEL":
            status = "CANCEL"
            sent.append("cancel")
    return sent


@settings(max_examples=40, deadline=None)
@given(st.lists(STEP, max_size=25), st.integers(min_value=1, max_value=3))
def test_outbox_matches_the_model_across_restarts(steps: list[str], events: int) -> None:
    db = Database("sqlite:///:memory:")
    db.create_schema()
    try:
        rules = [rule(notifications=(note(repeat_every=every("events", events)),))]
        rig = make_rig(db, rules)
        for step in steps:
            if step == "restart":
                rig = rig.restart()
            elif step == "wait":
                rig.advance(3600)
            else:
                rig.send(step)
        assert [r.trigger for r in outbox_rows(db)] == model(steps, events)
        opened = model(steps, events).count("open") - model(steps, events).count("cancel")
        assert len(rig.engine.open_alerts()) == opened
        assert len(rig.engine.alert_history()) == model(steps, events).count("cancel")
    finally:
        db.dispose()
