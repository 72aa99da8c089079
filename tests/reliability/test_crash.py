"""Crash durability: SIGKILL ``atsd-bot serve`` at random moments under webhook traffic.

A driver process (tests/reliability/driver.py) posts Rocket.Chat-shaped webhook requests with
unique message ids and retries until it gets a 200, like Rocket.Chat. The test kills the
service with SIGKILL whenever the acknowledged count passes a random threshold, restarts it on
the same port, and at the end asserts: every acknowledged message is stored exactly once, the
open alerts are exactly those the acknowledged sequence implies, and every reply the rule makes
is in the simulator's room exactly once (replies carry a stable ``_id`` per outbox row).

The short variants (300 requests, 2 kills) run in ``make test``; the ``chaos`` variants
(3000 requests, 8 kills) behind ``make chaos``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _fresh_postgres_url, postgres_available
from tests.reliability import expect
from tests.reliability.harness import (
    BOT_PASSWORD,
    BOT_USER,
    ROOT,
    ServiceProcess,
    free_port,
    wait_until,
    write_config,
)  # fmt: skip
from tests.rocketchat_server.control import Simulator

CHANNELS = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'atsd.db'}"
        return
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    yield from _fresh_postgres_url()


def chat_with_channels(factory: Callable[..., Simulator]) -> tuple[Simulator, list[str]]:
    sim = factory()
    sim.create_user(BOT_USER, BOT_PASSWORD, roles=("user", "bot"))
    rooms = [str(sim.create_channel(f"chaos-{i}", members=[BOT_USER])["_id"])
             for i in range(CHANNELS)]
    return sim, rooms


def run_with_kills(tmp_path: Path, db_url: str, factory: Callable[..., Simulator],
                   count: int, kills: int, seed: int) -> dict[str, int]:
    sim, rooms = chat_with_channels(factory)
    plan = expect.make_plan(count, rooms, prefix=f"crash{seed}x", seed=seed)
    port = free_port()
    service = ServiceProcess(write_config(tmp_path, db_url=db_url, sim_url=sim.url, port=port),
                             port, tmp_path).start()
    plan_file, out = tmp_path / "plan.json", tmp_path / "acked.jsonl"
    plan_file.write_text(json.dumps(plan))
    driver = subprocess.Popen([sys.executable, "-m", "tests.reliability.driver", str(plan_file),
                               str(out), service.base_url], cwd=ROOT)
    rng = random.Random(seed)
    thresholds = sorted(rng.sample(range(count // 10, count * 9 // 10), kills))
    try:
        for threshold in thresholds:
            wait_until(lambda: len(expect.acknowledged(out)) >= threshold  # noqa: B023
                       or driver.poll() is not None, 240, f"{threshold} acknowledgements")
            service.kill()
            service.start()
        assert driver.wait(timeout=600) == 0
        acked = expect.acknowledged(out)
        assert [a for a in acked if "error" in a] == []
        assert sorted(a["id"] for a in acked) == sorted(m["id"] for m in plan)
        replies, open_channels = expect.expected(plan)
        # every acknowledged request stored exactly once
        stored = expect.stored_ids(db_url)
        assert {mid: n for mid, n in stored.items() if n != 1} == {}
        assert set(stored) == {m["id"] for m in plan}
        wait_until(lambda: expect.unprocessed(db_url) == 0, 60, "the engine to catch up")
        assert expect.open_alert_channels(db_url) == sorted(open_channels)
        assert expect.outbox_texts(db_url) == replies  # no command ran twice
        wait_until(lambda: sum(expect.room_replies(sim, rooms).values()) >= sum(replies.values()),
                   120, "every reply in the rooms")
        assert expect.room_replies(sim, rooms) == replies
    finally:
        driver.kill()
        driver.wait()
        service.terminate()
    retried = sum(1 for a in expect.acknowledged(out) if a["attempts"] > 1)
    duplicates = sum(1 for a in expect.acknowledged(out) if a.get("status") == "duplicate")
    print(f"\n{count} requests, {kills} kills, {retried} retried, {duplicates} answered as "
          f"duplicates, {sum(replies.values())} replies, {len(open_channels)} open alerts")
    return {"retried": retried, "duplicates": duplicates}


def test_crash_short(tmp_path: Path, db_url: str,
                     rc_server_factory: Callable[..., Simulator]) -> None:
    run_with_kills(tmp_path, db_url, rc_server_factory, count=300, kills=2, seed=1)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_crash_chaos(tmp_path: Path, db_url: str,
                     rc_server_factory: Callable[..., Simulator]) -> None:
    run_with_kills(tmp_path, db_url, rc_server_factory, count=3000, kills=8, seed=7)
