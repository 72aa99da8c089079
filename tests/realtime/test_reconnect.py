"""Faults: dropped connections, a stalled server, a restart, 429s: nothing lost or doubled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import partial

import pytest

from bot.rest import metrics
from rules.store import Database
from tests.realtime.conftest import World
from tests.realtime.harness import BotRunner, wait_until


@pytest.fixture
def runners() -> Iterator[list[BotRunner]]:
    started: list[BotRunner] = []
    yield started
    for runner in started:
        runner.stop()


def start(runners: list[BotRunner], db: Database, world: World, **kwargs: object) -> BotRunner:
    runner = BotRunner(db, world.token_settings(), **kwargs)  # type: ignore[arg-type]
    runners.append(runner)
    return runner.start()


def reconnected(runner: BotRunner, sessions: int) -> bool:
    return runner.bot.status.sessions > sessions


def assert_exactly_once(runner: BotRunner, world: World, texts: list[str]) -> None:
    rows = runner.commands()
    seen = Counter(r.tags["message_id"] for r in rows)
    assert [mid for mid, n in seen.items() if n > 1] == []
    assert sorted(r.message for r in rows) == sorted(texts)
    replies = world.bot_replies()
    assert len({m["_id"] for m in replies}) == len(replies) == len(texts)


def test_twenty_drops_during_a_thousand_messages(world: World, db: Database,
                                                 runners: list[BotRunner]) -> None:
    # No rules here: this is about the inbound side (1,000 replies through one alert's
    # ordered outbox would only make the test slow); replies are checked in the tests below.
    runner = start(runners, db, world, rules=False)
    before = metrics.counter_value(metrics.RECONNECTS)
    texts = [f"message {i:04d}" for i in range(1000)]
    drops = 0
    for i, text in enumerate(texts):
        world.sim.post_message("alice", world.dm, text)
        if i % 50 == 25:
            # wait for the previous reconnect so that every drop hits a live session
            wait_until(partial(reconnected, runner, drops), timeout=30, what="reconnect")
            assert world.sim.drop_connections() >= 1
            drops += 1
    wait_until(lambda: runner.command_count() >= 1000, timeout=300, what="1000 commands")
    wait_until(lambda: runner.bot.status.subscribed, timeout=30, what="the last reconnect")
    runner.idle()
    rows = runner.commands()
    seen = Counter(r.tags["message_id"] for r in rows)
    assert [mid for mid, n in seen.items() if n > 1] == []
    assert [r.message for r in rows] == texts or sorted(r.message for r in rows) == texts
    assert drops == 20 and runner.bot.status.reconnects >= 20
    assert metrics.counter_value(metrics.RECONNECTS) - before >= 20


def test_stalled_server_is_detected_and_the_gap_back_filled(
    world: World, sqlite_db: Database, runners: list[BotRunner]
) -> None:
    runner = start(runners, sqlite_db, world)
    world.sim.post_message("alice", world.dm, "before the stall")
    wait_until(lambda: runner.command_count() == 1, what="first command")
    world.sim.pause_stream(3.0)
    world.sim.post_message("alice", world.dm, "during the stall")
    wait_until(lambda: runner.bot.status.reconnects >= 1, timeout=15, what="a reconnect")
    wait_until(lambda: runner.command_count() == 2, timeout=15, what="the stalled message")
    wait_until(lambda: len(world.bot_replies()) == 2, what="both replies")
    assert_exactly_once(runner, world, ["before the stall", "during the stall"])


def test_restart_back_fills_from_stored_cursors(world: World, sqlite_db: Database,
                                                runners: list[BotRunner]) -> None:
    first = start(runners, sqlite_db, world)
    world.sim.post_message("alice", world.dm, "while up")
    wait_until(lambda: first.command_count() == 1, what="first command")
    first.idle()
    first.stop()
    world.sim.post_message("alice", world.dm, "while down 1")
    world.sim.post_message("alice", world.dm, "while down 2")
    second = start(runners, sqlite_db, world)
    wait_until(lambda: second.command_count() == 3, what="the missed messages")
    wait_until(lambda: len(world.bot_replies()) == 3, what="three replies")
    second.idle()
    assert_exactly_once(second, world, ["while up", "while down 1", "while down 2"])
    assert [r.path for r in second.commands()] == ["realtime"] * 3


def test_first_start_does_not_replay_history(world: World, sqlite_db: Database,
                                             runners: list[BotRunner]) -> None:
    world.sim.post_message("alice", world.dm, "old news")
    runner = start(runners, sqlite_db, world)
    world.sim.post_message("alice", world.dm, "fresh")
    wait_until(lambda: runner.command_count() == 1, what="the fresh message")
    runner.idle()
    assert [r.message for r in runner.commands()] == ["fresh"]


def test_a_429_storm_delays_but_loses_no_reply(world: World, sqlite_db: Database,
                                               runners: list[BotRunner]) -> None:
    runner = start(runners, sqlite_db, world)
    world.sim.set_rate_limit("chat.sendMessage", 2, 0.5, force=True)
    texts = [f"storm {i}" for i in range(12)]
    for text in texts:
        world.sim.post_message("alice", world.dm, text)
    wait_until(lambda: len(world.bot_replies()) == 12, timeout=30, what="all replies")
    runner.idle()
    assert_exactly_once(runner, world, texts)
    from sqlalchemy import select

    from rules.store.tables.engine import outbox_attempts
    def outcomes() -> Counter[str]:
        with sqlite_db.connect() as conn:
            return Counter(r.outcome for r in conn.execute(select(outbox_attempts)))

    # a reply is on the server a moment before its attempt is recorded: wait for the record
    wait_until(lambda: outcomes()["delivered"] >= 12, what="every delivery recorded")
    seen = outcomes()
    assert seen["retry"] > 0 and seen["delivered"] == 12 and seen["failed"] == 0


def test_the_client_runs_again_on_a_new_loop(world: World, sqlite_db: Database,
                                             runners: list[BotRunner]) -> None:
    import asyncio
    import threading

    runner = start(runners, sqlite_db, world)
    runner.stop()
    client = runner.client
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(client.run(),),
                              daemon=True)
    runner.sender_loop = type(runner.sender_loop)(runner.sender, interval=0.05)
    runner.sender_loop.start()
    thread.start()
    try:
        wait_until(lambda: runner.bot.status.subscribed, what="subscribed again")
        world.sim.post_message("alice", world.dm, "after the second start")
        wait_until(lambda: world.bot_replies(), what="a reply")
    finally:
        loop.call_soon_threadsafe(client.stop)
        thread.join(10)
        runner.sender_loop.stop()
    assert not thread.is_alive()


def test_a_message_that_fails_is_fetched_again(world: World, sqlite_db: Database,
                                              runners: list[BotRunner]) -> None:
    runner = start(runners, sqlite_db, world)
    listener = runner.bot.listener
    original = listener.handle
    failures: list[str] = []

    def flaky(msg: dict, meta: dict | None = None, *, path: str = "realtime") -> object:
        if msg.get("msg") == "unlucky" and not failures:
            failures.append(msg["_id"])
            raise RuntimeError("store unavailable")
        return original(msg, meta, path=path)

    listener.handle = flaky  # type: ignore[method-assign,assignment]
    world.sim.post_message("alice", world.dm, "before")
    wait_until(lambda: runner.command_count() == 1, what="first")
    world.sim.post_message("alice", world.dm, "unlucky")
    world.sim.post_message("alice", world.dm, "after")
    wait_until(lambda: runner.command_count() == 3, timeout=15, what="all three")
    runner.idle()
    assert failures and runner.bot.status.reconnects >= 1
    assert sorted(r.message for r in runner.commands()) == ["after", "before", "unlucky"]
