"""Rule engine throughput: commands/s through filter, window, condition and render.

    .venv/bin/python bench/rules.py [--commands N] [--quick]

Rule sets of 1, 100 and 1,000 rules: one rule matches the stream (source ``app``, a
condition, a length(1) window, OPEN and REPEAT templates rendering tags and the message);
the others watch other sources, half through ``source:`` and half through a filter
``source = 'src-N' AND ...`` (the index files both). Two modes:

- ``memory``: the engine with ``persist=False`` (state in memory only) - the engine's own cost;
- ``sqlite``: the engine writing windows, alerts and outbox rows into an in-memory SQLite
  store, one transaction per command; and, as a chat burst runs (the seed rule: one window
  for every chat message), 100 commands of one entity per transaction, as CPU per command.

Also: memory per open window (tracemalloc, 10,000 windows). Prints the figures and the
1000-rule / 1-rule ratio. Targets: >= 20,000 commands/s with 100 rules (memory mode), and
the 1,000-rule rate at least half the 1-rule rate.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.clock import ManualClock  # noqa: E402
from rules.command import MessageCommand  # noqa: E402
from rules.definitions.model import NotificationSpec, Rule, TriggerSpec, WindowSpec  # noqa: E402
from rules.engine.rule_engine import RuleEngine  # noqa: E402
from rules.store import Database  # noqa: E402

START = datetime(2026, 3, 1, tzinfo=UTC)
TEXT = 'User ${tags.alias}/@${tags.user_name} said "${message}" (${repeat_count})'


def make_rules(count: int, *, text: str = TEXT,
               match_filter: str = "tags.bot != 'true'") -> list[Rule]:
    """One rule matching source ``app`` (``match_filter``, a condition, a ``length(1)``
    window, open and repeat ``text`` to the log); the others watch other sources, half by
    ``sources`` and half by filter. bench/insert.py uses the same shapes."""
    spec = NotificationSpec(endpoint="log", open=TriggerSpec(True, text),
                            repeat=TriggerSpec(True, text))
    matching = Rule(name="match", sources=("app",), filter=match_filter,
                    condition="message != 'ok' AND length(message) > 0",
                    window=WindowSpec(kind="length", count=1), notifications=(spec,))
    rules = [matching]
    for i in range(1, count):
        if i % 2:
            rules.append(Rule(name=f"other-{i}", sources=(f"src-{i}",), condition="true",
                              notifications=(spec,)))
        else:
            rules.append(Rule(name=f"other-{i}", filter=f"source = 'src-{i}' AND "
                              "tags.level = 'error'", condition="true", notifications=(spec,)))
    return rules


def commands(count: int, entities: int = 100) -> list[MessageCommand]:
    return [MessageCommand(entity=f"host-{i % entities}", type="webhook", source="app",
                           message=f"disk {i % 7} is full", date=START,
                           tags={"user_name": "bob", "alias": "Bob", "channel_id": "GENERAL",
                                 "level": "error"})
            for i in range(count)]


def engine_for(rules: list[Rule], db: Database | None) -> RuleEngine:
    engine = RuleEngine(db, ManualClock(START), endpoints=("log",), persist=db is not None)
    errors = engine.load(rules)
    assert not errors, errors
    return engine


def rate_memory(rules: list[Rule], stream: list[MessageCommand]) -> float:
    engine = engine_for(rules, None)
    for command in stream[:500]:  # warm caches (index, compiled regexes)
        engine.process(None, command, None)
        engine.after_commit()
    gc.collect()
    started = time.process_time()
    for command in stream:
        engine.process(None, command, None)
        engine.after_commit()
    return len(stream) / (time.process_time() - started)


def rate_sqlite(rules: list[Rule], stream: list[MessageCommand], per_transaction: int = 1
                ) -> float:
    db = Database("sqlite:///:memory:", synchronous="OFF")
    db.create_schema()
    engine = engine_for(rules, db)
    started = time.process_time()
    for start in range(0, len(stream), per_transaction):
        with db.begin() as conn:
            for command in stream[start:start + per_transaction]:
                engine.process(conn, command, None)
        engine.after_commit()
    elapsed = time.process_time() - started
    db.dispose()
    return len(stream) / elapsed


def memory_per_window(windows: int = 10_000) -> float:
    engine = engine_for(make_rules(1), None)
    stream = commands(windows, entities=windows)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for command in stream:
        engine.process(None, command, None)
        engine.after_commit()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert len(engine.open_alerts()) == windows
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    # the commands themselves belong to the caller; count what the engine keeps beyond them
    return grown / windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="fewer commands, for CI")
    args = parser.parse_args()
    count = 5_000 if args.quick else args.commands
    stream = commands(count)
    print(f"rule engine, {count} commands per run, Python {sys.version.split()[0]}")
    memory: dict[int, float] = {}
    for size in (1, 100, 1000):
        memory[size] = rate_memory(make_rules(size), stream)
        stored = rate_sqlite(make_rules(size), stream[: max(count // 10, 1000)])
        print(f"{size:>5} rules: {memory[size]:>9,.0f} commands/s in memory, "
              f"{stored:>8,.0f} commands/s with the SQLite store")
    burst = rate_sqlite(make_rules(1), commands(max(count // 5, 1000), entities=1), 100)
    print(f"one window, 100 commands per transaction (SQLite store): {1e6 / burst:.1f} us "
          "CPU per command")
    print(f"ratio 1000/1 rules (memory): {memory[1000] / memory[1]:.2f}")
    print(f"memory per open window: {memory_per_window():,.0f} bytes")
    ok = memory[100] >= 20_000 and memory[1000] >= memory[1] / 2
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
