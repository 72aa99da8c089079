"""Soak: a steady webhook rate against ``atsd-bot serve`` for a few minutes, sampled per interval.

Starts the Rocket.Chat simulator (in this process) and ``atsd-bot serve`` (a subprocess, SQLite
with ``synchronous=FULL``, the reliability tests' rule: one alert per channel, a Rocket.Chat
reply per message over REST), then posts Rocket.Chat-shaped webhook requests at a fixed rate
(open loop: requests are scheduled by the clock, not by the previous answer, so a slow server
shows as latency, not as a lower rate). Every ``--interval`` seconds it samples the server's
RSS (/proc/<pid>/status) and open file descriptors (/proc/<pid>/fd) and prints the latency
percentiles of that interval. At the end: growth of RSS and fds from the first full interval
to the last, errors, and replies delivered vs expected.

    .venv/bin/python bench/soak.py [--seconds 180] [--rate 40] [--interval 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from tests.reliability import expect  # noqa: E402
from tests.reliability.driver import body  # noqa: E402
from tests.reliability.harness import (  # noqa: E402
    BOT_PASSWORD,
    BOT_USER,
    HOOK_PASSWORD,
    HOOK_USER,
    WEBHOOK_PATH,
    ServiceProcess,
    free_port,
    wait_until,
    write_config,
)  # fmt: skip
from tests.rocketchat_server.control import Simulator  # noqa: E402


def proc_sample(pid: int) -> tuple[float, int]:
    """(RSS in MB, open file descriptors) of ``pid``."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Load:
    """Posts one request per 1/rate seconds from a pool; records latency and errors."""

    def __init__(self, url: str, rooms: list[str], rate: float) -> None:
        self.url, self.rooms, self.rate = url, rooms, rate
        self.latencies: list[float] = []
        self.errors = 0
        self.sent: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.local = threading.local()

    def one(self, index: int) -> None:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        message = {"id": f"soak{index:08d}", "channel": self.rooms[index % len(self.rooms)],
                   "text": "resolved" if index % 5 == 4 else f"m{index}"}
        started = time.perf_counter()
        try:
            answer = session.post(self.url, params={"message": message["text"],
                                                    "exclude": "text"},
                                  json=body(message), auth=(HOOK_USER, HOOK_PASSWORD), timeout=30)
            ok = answer.status_code == 200
        except requests.RequestException:
            ok = False
        elapsed = time.perf_counter() - started
        with self.lock:
            if ok:
                self.latencies.append(elapsed)
                self.sent.append(message)
            else:
                self.errors += 1

    def take(self) -> list[float]:
        with self.lock:
            taken, self.latencies = self.latencies, []
        return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--interval", type=float, default=15.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="atsd-soak-"))
    sim = Simulator(rest_rate_limit=None).start()
    sim.create_user(BOT_USER, BOT_PASSWORD, roles=("user", "bot"))
    rooms = [str(sim.create_channel(f"soak-{i}", members=[BOT_USER])["_id"]) for i in range(8)]
    port = free_port()
    db_url = f"sqlite:///{tmp / 'atsd.db'}"
    service = ServiceProcess(write_config(tmp, db_url=db_url, sim_url=sim.url, port=port),
                             port, tmp, name="soak").start()
    assert service.proc is not None
    pid = service.proc.pid
    load = Load(service.base_url + WEBHOOK_PATH, rooms, args.rate)
    print(f"soak: {args.rate:g} req/s for {args.seconds:g} s against pid {pid} ({tmp})")
    print(f"{'t (s)':>6} {'reqs':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'RSS MB':>7} {'fds':>5} {'errors':>6}")
    rows: list[tuple[float, float, int]] = []
    start = time.monotonic()
    next_sample = start + args.interval
    pause = threading.Event()
    with ThreadPoolExecutor(max_workers=16) as pool:
        index = 0
        while time.monotonic() - start < args.seconds:
            due = start + index / args.rate
            now = time.monotonic()
            if due > now:
                pause.wait(due - now)  # open-loop pacing
            pool.submit(load.one, index)
            index += 1
            if time.monotonic() >= next_sample:
                next_sample += args.interval
                lat = load.take()
                rss, fds = proc_sample(pid)
                rows.append((rss, statistics.median(lat) * 1000 if lat else 0.0, fds))
                print(f"{time.monotonic() - start:6.0f} {len(lat):6d} "
                      f"{percentile(lat, 0.5) * 1000:7.1f} {percentile(lat, 0.95) * 1000:7.1f} "
                      f"{percentile(lat, 0.99) * 1000:7.1f} {max(lat, default=0) * 1000:7.1f} "
                      f"{rss:7.1f} {fds:5d} {load.errors:6d}", flush=True)
    replies, _ = expect.expected(sorted(load.sent, key=lambda m: m["id"]))
    try:
        wait_until(lambda: sum(expect.room_replies(sim, rooms).values())
                   >= sum(replies.values()), 120, "the replies")
        delivered = sum(expect.room_replies(sim, rooms).values())
    except AssertionError:
        delivered = sum(expect.room_replies(sim, rooms).values())
    service.terminate()
    sim.stop()
    if len(rows) >= 2:
        first, last = rows[0], rows[-1]
        print(f"RSS {first[0]:.1f} -> {last[0]:.1f} MB ({last[0] - first[0]:+.1f}); "
              f"fds {first[2]} -> {last[2]} ({last[2] - first[2]:+d}); "
              f"p50 {first[1]:.1f} -> {last[1]:.1f} ms")
    print(f"requests acknowledged {len(load.sent)}, errors {load.errors}, "
          f"replies delivered {delivered} of {sum(replies.values())}")


if __name__ == "__main__":
    main()
