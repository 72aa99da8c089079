"""Building blocks for the engine tests: rules in a line, an engine on a store, outbox reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from rules.clock import ManualClock
from rules.command import MessageCommand, Severity
from rules.definitions.model import NotificationSpec, RepeatSpec, Rule, TriggerSpec, WindowSpec
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Accepted, Ingestor
from rules.silences import Silence, parse_words
from rules.store import Database
from rules.store.tables.engine import alerts, outbox, rule_windows

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ENDPOINTS = ("log", "rocketchat", "hook")


def note(endpoint: str = "log", *, open: str | None = "open ${entity} ${message}",
         repeat: str | None = "repeat ${repeat_count} ${message}",
         cancel: str | None = "cancel ${entity}", **kwargs: Any) -> NotificationSpec:
    def trig(text: str | None) -> TriggerSpec:
        return TriggerSpec(enabled=text is not None, text=text or "")
    return NotificationSpec(endpoint=endpoint, open=trig(open), repeat=trig(repeat),
                            cancel=trig(cancel), **kwargs)


def rule(name: str = "r1", *, condition: str = "message != 'ok'", source: str = "app",
         window: str = "length(1)", notifications: tuple[NotificationSpec, ...] | None = None,
         **kwargs: Any) -> Rule:
    return Rule(name=name, sources=(source,) if source else (), condition=condition,
                window=parse_window(window),
                notifications=(note(),) if notifications is None else notifications, **kwargs)


def parse_window(text: str) -> WindowSpec:
    kind, _, rest = text.partition("(")
    value = rest.rstrip(")").split()
    if kind == "length":
        return WindowSpec(kind="length", count=int(value[0]), text=text)
    unit = {"second": 1, "minute": 60, "hour": 3600}[value[1].rstrip("s")]
    return WindowSpec(kind="time", seconds=float(value[0]) * unit, text=text)


def every(kind: str, n: int = 1) -> RepeatSpec:
    return RepeatSpec(kind=kind, every=n)  # type: ignore[arg-type]


def cmd(message: str = "bad", *, entity: str = "e1", source: str = "app",
        date: datetime | None = None, tags: dict[str, str] | None = None,
        severity: Severity | None = None, type: str = "webhook") -> MessageCommand:
    return MessageCommand(entity=entity, type=type, source=source, message=message,
                          date=date or START, tags=dict(tags or {}), severity=severity)


@dataclass
class Rig:
    """An engine with its clock and ingestor; ``send`` runs a command as the webhook would."""

    db: Database
    clock: ManualClock
    engine: RuleEngine
    ingestor: Ingestor

    def send(self, message: str = "bad", **kwargs: Any) -> Accepted:
        kwargs.setdefault("date", self.clock.now())
        return self.ingestor.accept(cmd(message, **kwargs), path="webhook")

    def texts(self, message: str = "bad", **kwargs: Any) -> list[str]:
        """Send, and return the texts of the notifications it produced."""
        return [n.text for n in self.send(message, **kwargs).notifications]

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def restart(self, rules: list[Rule] | None = None) -> Rig:
        """A new engine on the same store, as after a process restart."""
        return make_rig(self.db, rules if rules is not None else self.engine.rules(),
                        clock=self.clock)


def make_rig(db: Database, rules: list[Rule], *, clock: ManualClock | None = None,
             targets: dict[str, dict[str, Any]] | None = None) -> Rig:
    clock = clock or ManualClock(START)
    engine = RuleEngine(db, clock, endpoints=ENDPOINTS,
                        default_endpoint_targets=targets or {"rocketchat": {"room_id": None}})
    errors = engine.load(rules)
    assert errors == [], errors
    engine.restore()
    return Rig(db=db, clock=clock, engine=engine, ingestor=Ingestor(db, engine, clock))


def silence_rule(rig: Rig, name: str, seconds: float) -> Silence:
    """A ``rule=NAME`` silence for ``seconds`` from now, as ``silence NAME 1h`` makes it."""
    return rig.engine.create_silence(parse_words([name]), timedelta(seconds=seconds),
                                     author="@test")


def outbox_rows(db: Database) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def outbox_texts(db: Database, status: str | None = None) -> list[tuple[str, str]]:
    return [(r.trigger, r.text) for r in outbox_rows(db) if status is None or r.status == status]


def window_rows(db: Database) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(rule_windows).order_by(rule_windows.c.id)))


def alert_rows(db: Database) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(alerts).order_by(alerts.c.id)))


def statements_of(db: Database, work: Any) -> list[str]:
    """The first word of each SQL statement ``work()`` sends (transaction control and
    PRAGMAs left out), prepared statements included."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(sql.split()[0].upper())

    with listening(db, "before_cursor_execute", count):
        work()
    return seen


@contextmanager
def listening(db: Database, name: str, handler: Callable[..., None]) -> Iterator[None]:
    """``handler`` is called on the engine's event ``name`` inside the block, not after."""
    event.listen(db.engine, name, handler)
    try:
        yield
    finally:
        event.remove(db.engine, name, handler)
