"""Dry run (stage by stage, nothing sent, no state touched) and the scheduler heartbeat."""

from __future__ import annotations

from datetime import timedelta

from rules.clock import ManualClock
from rules.command import MessageCommand
from rules.engine.rule_engine import RuleEngine
from rules.engine.schedule import EngineScheduler, next_boundary
from rules.ingest import Ingestor
from rules.store import Database
from tests.engine.helpers import (
    ENDPOINTS,
    START,
    cmd,
    make_rig,
    note,
    outbox_rows,
    rule,
    window_rows,
)


def test_dry_run_reports_each_stage_and_changes_nothing(db: Database) -> None:
    rig = make_rig(db, [rule()])
    rig.send("bad")  # a live window the dry run must not see or change
    before = rig.engine.windows()
    test_rule = rule("t", filter="tags.env = 'prod'",
                     notifications=(note(repeat=None, cancel="${entity} fine"),))
    report = rig.engine.dry_run(test_rule, [
        cmd("bad", tags={"env": "prod"}),
        cmd("bad", tags={"env": "dev"}),
        cmd("bad", source="elsewhere"),
        cmd("still", tags={"env": "prod"}),
        cmd("ok", tags={"env": "prod"}),
    ])
    first, dev, elsewhere, repeat, cancel = report.steps
    assert (first.window_key, first.condition, first.before, first.after, first.trigger) == (
        "e1", True, "CANCEL", "OPEN", "open")
    assert first.notifications[0]["text"] == "open e1 bad"
    assert "filter is false" in (dev.filtered_out or "")
    assert "source 'elsewhere'" in (elsewhere.filtered_out or "")
    assert repeat.trigger == "repeat" and repeat.notifications == []
    assert cancel.notifications[0]["text"] == "e1 fine"
    text = report.format()
    assert "filtered out" in text and "open -> log [pending]: open e1 bad" in text
    assert report.to_json()["steps"][0]["after"] == "OPEN"
    assert rig.engine.windows() == before and len(outbox_rows(db)) == 1
    assert len(window_rows(db)) == 1


def test_dry_run_reports_load_and_runtime_errors(db: Database) -> None:
    rig = make_rig(db, [])
    broken = rig.engine.dry_run(rule(condition="nope()"), [cmd()])
    assert broken.load_errors and broken.steps == []
    failing = rig.engine.dry_run(rule(condition="1 / (length(message) - 3) > 0"), [cmd("bad")])
    assert failing.steps[0].condition is None and "zero" in failing.steps[0].errors[0].lower()
    assert rig.engine.rule_errors(10) == []  # a dry run records nothing


def test_next_boundary_is_aligned() -> None:
    assert next_boundary(START, 60) == START + timedelta(minutes=1)
    assert next_boundary(START + timedelta(seconds=14), 15) == START + timedelta(seconds=15)


def test_scheduler_injects_timer_commands_that_timer_rules_see(sqlite_db: Database) -> None:
    clock = ManualClock(START + timedelta(seconds=1))
    engine = RuleEngine(sqlite_db, clock, endpoints=ENDPOINTS)
    assert engine.load([rule("every-minute", source="", metric="timer_1m",
                             condition="true", notifications=(note(open="tick ${type}"),)),
                        rule("messages", source="", condition="true")]) == []
    ingestor = Ingestor(sqlite_db, engine, clock)
    seen: list[MessageCommand] = []

    def inject(command: MessageCommand) -> None:
        seen.append(command)
        ingestor.accept(command, path="timer", persist=False)

    scheduler = EngineScheduler(engine, clock, inject=inject)
    assert scheduler.step().timers == []
    clock.advance(14)
    assert scheduler.step().timers == ["timer_15s"]
    clock.advance(45)
    assert scheduler.step().timers == ["timer_15s", "timer_1m"]
    assert {(c.entity, c.source) for c in seen} == {("atsd-bot", "timer")}
    # the timer rule opened on its timer; the message rule never saw a timer command
    assert [(w["rule"], w["entity"]) for w in engine.windows()] == [("every-minute", "atsd-bot")]
    assert [r.text for r in outbox_rows(sqlite_db)] == ["tick timer_1m"]
    clock.advance(3600 * 5)  # a long pause fires each timer once, not once per period
    assert scheduler.step().timers == ["timer_15s", "timer_1m", "timer_15m", "timer_1h"]


def test_scheduler_step_ticks_the_engine_and_wakes_the_sender(db: Database) -> None:
    rig = make_rig(db, [rule(window="time(1 minute)", condition="count() >= 1",
                             check_on_exit=True)])
    calls: list[str] = []
    scheduler = EngineScheduler(rig.engine, rig.clock, wake=lambda: calls.append("wake"),
                                also=[lambda: calls.append("extra")])
    rig.send("bad")
    result = scheduler.step()
    assert result.notifications == 0 and calls == ["extra"]  # the open came with the command
    rig.advance(61)
    result = scheduler.step()
    assert result.notifications == 1 and calls == ["extra", "extra", "wake"]
    assert [row.trigger for row in outbox_rows(db)] == ["open", "cancel"]


def test_a_failing_part_does_not_stop_the_step(sqlite_db: Database) -> None:
    class Broken:
        def tick(self) -> list[object]:
            raise RuntimeError("store down")

    calls: list[int] = []
    scheduler = EngineScheduler(Broken(), ManualClock(START), also=[lambda: calls.append(1)])
    scheduler.step()
    assert calls == [1]


def test_scheduler_heartbeat_starts_and_stops(sqlite_db: Database) -> None:
    import threading

    ran = threading.Event()
    scheduler = EngineScheduler(RuleEngine(sqlite_db, ManualClock(START)), ManualClock(START),
                                interval=0.05, also=[ran.set])
    scheduler.start()
    try:
        assert ran.wait(10)
    finally:
        scheduler.shutdown()


def test_dry_run_reads_the_message_store(db: Database) -> None:
    rig = make_rig(db, [rule("live", source="other")])
    for _ in range(3):
        rig.send("x", source="app")
    test_rule = rule("t", condition="db_message_count('1 hour', 'webhook', 'app') >= 3")
    [step] = rig.engine.dry_run(test_rule, [cmd("bad", date=rig.clock.now())]).steps
    assert step.condition is True and step.errors == []
