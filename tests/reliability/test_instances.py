"""Two ``atsd-bot serve`` instances on one PostgreSQL database (bot/service/lease.py).

Both accept webhooks (the driver spreads messages over both and fails over on a dead one);
only the lease holder runs the engine and the outbox sender. The test SIGKILLs the holder
mid-traffic, checks the other takes over within a bounded time (lease_ttl = 3 s, renewal every
second), restarts the killed one (it comes back as a follower), kills the new holder too, and
asserts nothing was lost or doubled: every message stored once, every outbox row made once
(the engine never ran a command twice), the open alerts the sequence implies, every reply in
the simulator's room exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import _fresh_postgres_url, postgres_available
from tests.reliability import expect
from tests.reliability.harness import ROOT, ServiceProcess, free_port, wait_until, write_config
from tests.reliability.test_crash import chat_with_channels
from tests.rocketchat_server.control import Simulator

pytestmark = pytest.mark.postgres
LEADS = "lease: this instance now runs the engine"
TAKEOVER_DEADLINE = 20.0  # ttl 3 s + renewal 1 s, with room for a loaded 2-core machine


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    yield from _fresh_postgres_url()


def leader(services: list[ServiceProcess]) -> ServiceProcess | None:
    """The live instance whose latest log says it leads (each process logs it once)."""
    live = [s for s in services if s.alive() and LEADS in s.current_log()]
    return live[0] if len(live) == 1 else None


def test_two_instances_share_the_work_and_survive_the_holder_dying(
        tmp_path: Path, pg_url: str, rc_server_factory: Callable[..., Simulator]) -> None:
    sim, rooms = chat_with_channels(rc_server_factory)
    plan = expect.make_plan(600, rooms, prefix="inst", seed=3)
    services = []
    for name in ("a", "b"):
        port = free_port()
        directory = tmp_path / name
        directory.mkdir()
        config = write_config(directory, db_url=pg_url, sim_url=sim.url, port=port)
        services.append(ServiceProcess(config, port, directory, name=name).start())
    first = wait_until(lambda: leader(services), 30, "one instance to lead")
    plan_file, out = tmp_path / "plan.json", tmp_path / "acked.jsonl"
    plan_file.write_text(json.dumps(plan))
    urls = ",".join(s.base_url for s in services)
    driver = subprocess.Popen([sys.executable, "-m", "tests.reliability.driver", str(plan_file),
                               str(out), urls], cwd=ROOT)
    takeovers: list[float] = []
    try:
        holder = first
        for threshold in (150, 350):
            wait_until(lambda: len(expect.acknowledged(out)) >= threshold  # noqa: B023
                       or driver.poll() is not None, 240, f"{threshold} acknowledgements")
            holder.kill()
            killed_at = time.monotonic()
            other = wait_until(lambda: leader(services), TAKEOVER_DEADLINE, "a take-over")
            takeovers.append(time.monotonic() - killed_at)
            assert other is not holder
            holder.start()  # back as a follower: the lease is the other's now
            assert LEADS not in holder.current_log()
            holder = other
        assert driver.wait(timeout=600) == 0
        acked = expect.acknowledged(out)
        assert [a for a in acked if "error" in a] == []
        assert sorted(a["id"] for a in acked) == sorted(m["id"] for m in plan)
        replies, open_channels = expect.expected(plan)
        stored = expect.stored_ids(pg_url)
        assert {mid: n for mid, n in stored.items() if n != 1} == {}
        assert set(stored) == {m["id"] for m in plan}
        wait_until(lambda: expect.unprocessed(pg_url) == 0, 60, "the holder to catch up")
        assert expect.open_alert_channels(pg_url) == sorted(open_channels)
        assert expect.outbox_texts(pg_url) == replies  # the engine never ran a command twice
        wait_until(lambda: sum(expect.room_replies(sim, rooms).values()) >= sum(replies.values()),
                   120, "every reply in the rooms")
        assert expect.room_replies(sim, rooms) == replies
        # both instances answered webhooks
        vias = {a["via"].split("/api/")[0] for a in acked}
        assert vias == {s.base_url for s in services}
    finally:
        driver.kill()
        driver.wait()
        for service in services:
            service.terminate()
    print(f"\ntake-overs after SIGKILL of the holder: "
          f"{', '.join(f'{t:.1f}s' for t in takeovers)}; {len(plan)} requests over 2 instances")
