"""One holder at a time; takeover after expiry; a clean stop hands the lease over at once."""

from __future__ import annotations

from bot.service.lease import LeaseKeeper
from rules.clock import ManualClock
from rules.store import Database


def keeper(db: Database, clock: ManualClock, name: str, events: list[str]) -> LeaseKeeper:
    return LeaseKeeper(
        db, holder=name, ttl=10, clock=clock,
        on_acquired=lambda epoch: events.append(f"{name}+{epoch}"),
        on_lost=lambda: events.append(f"{name}-"),
    )


def test_only_one_instance_holds_the_lease(db: Database) -> None:
    clock, events = ManualClock(), list[str]()
    a, b = keeper(db, clock, "a", events), keeper(db, clock, "b", events)
    assert a.step() and not b.step()
    clock.advance(5)
    assert a.step() and not b.step()  # renewed, still a's
    assert events == ["a+1"]


def test_takeover_after_the_holder_stops_renewing(db: Database) -> None:
    clock, events = ManualClock(), list[str]()
    a, b = keeper(db, clock, "a", events), keeper(db, clock, "b", events)
    a.step()
    clock.advance(10.5)  # a died: no renewal within the ttl
    assert b.step()
    assert events == ["a+1", "b+2"]
    assert not a.step()  # a wakes up: the lease is gone, and it is told so
    assert events[-1] == "a-"


def test_release_lets_another_instance_take_over_at_once(db: Database) -> None:
    clock, events = ManualClock(), list[str]()
    a, b = keeper(db, clock, "a", events), keeper(db, clock, "b", events)
    a.step()
    a.stop()
    assert b.step()
