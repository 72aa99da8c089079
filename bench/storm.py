"""A storm against the living alert message: N alerts opened in one room within a minute, then
resolved, through ``atsd-bot serve`` (a process, SQLite) and the Rocket.Chat simulator.

A monitoring system posts one webhook per host (``used_percent`` 97) with 8 concurrent
clients, then one per host below 90. The ``disk`` rule is ``conversation: thread`` with the
default ``room_budget`` (10/1m). Reported:

* room messages the bot posted (goal: at most the budget plus one summary per interval);
* every alert's open and cancel text present exactly once (a room message or a thread post),
  none missing, none doubled; outbox rows failed;
* resolve -> edit: from the resolving webhook's answer to the edited message showing it (an
  own message saying ``resolved``, or the summary's resolved count reaching the alert's rank
  in the order the resolutions were answered), p50 / p99 / max; and resolve -> cancel text in
  the thread (the post's server time).

Run: ``.venv/bin/python bench/storm.py [--alerts 1000] [--clients 8]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rules.store import Database, reports  # noqa: E402
from tests.reliability.harness import ServiceProcess, free_port  # noqa: E402
from tests.rocketchat_server import Simulator  # noqa: E402

BOT, BOT_PW = "atsd_bot", "bot-storm-pw-1"
MONITOR, MONITOR_PW = "monitor", "monitor-storm-pw-1"
RULE = """rules:
  - name: disk
    source: monitoring
    window: length(1)
    group_by_entity: true
    condition: "tags.used_percent >= 90"
    conversation: thread
    notifications:
      - endpoint: rocketchat
        room: {room}
        open: 'disk ${{entity}} full'
        repeat: 'still ${{entity}}'
        cancel: '${{entity}} back'
"""
BUDGET = 10
RESOLVED = re.compile(r"^(\d+) of \d+ resolved$|^all resolved$", re.MULTILINE)


def config(directory: Path, sim: Simulator, room: str, port: int) -> Path:
    rules = directory / "rules.d"
    rules.mkdir()
    (rules / "disk.yml").write_text(RULE.format(room=room))
    path = directory / "atsd.toml"
    path.write_text(f"""
[http]
port = {port}
threads = 16
[database]
url = "sqlite:///{directory / 'atsd.db'}"
[rules]
paths = ["{rules}"]
[rocketchat]
url = "{sim.url}"
user = "{BOT}"
password = "{BOT_PW}"
realtime = false
room_budget = "10/1m"
[delivery]
max_attempts = 100
backoff_seconds = 0.2
max_backoff_seconds = 2.0
[[users]]
name = "{MONITOR}"
password = "{MONITOR_PW}"
roles = ["webhook"]
""")
    return path


class Watch:
    """Polls the alert messages (own and summaries) and notes when each first showed what."""

    def __init__(self, sim: Simulator, room: str) -> None:
        self.sim, self.room = sim, room
        self.resolved_at: dict[str, float] = {}  # own message id -> first "resolved" seen
        self.summary_counts: list[tuple[float, int]] = []  # (time, resolved count) as seen
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def roots(self) -> list[dict[str, Any]]:
        return [m for m in self.sim.messages(self.room)
                if m["u"]["username"] == BOT and not m.get("tmid")]

    def run(self) -> None:
        ids: list[str] = []
        listed = 0.0
        while not self.stop.is_set():
            if time.monotonic() - listed > 0.5:  # a copy of the whole room: not too often
                ids, listed = [str(m["_id"]) for m in self.roots()], time.monotonic()
            for message_id in ids:
                msg = self.sim.message(message_id)["msg"]
                if msg.startswith("+"):
                    match = RESOLVED.search(msg)
                    total = int(msg[1:].split(" ", 1)[0])
                    count = 0 if not match else (int(match.group(1)) if match.group(1)
                                                 else total)
                    if not self.summary_counts or self.summary_counts[-1][1] != count:
                        self.summary_counts.append((time.time(), count))
                elif "resolved" in msg and message_id not in self.resolved_at:
                    self.resolved_at[message_id] = time.time()
            self.stop.wait(0.01)

    def summary_reached(self, count: int) -> float | None:
        return next((t for t, n in self.summary_counts if n >= count), None)


def post_all(hosts: list[str], percent: int, base: str, clients: int) -> dict[str, float]:
    """One webhook per host; the time each was answered."""
    answered: dict[str, float] = {}
    local = threading.local()

    def post(host: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        for _ in range(50):
            try:
                answer = session.post(
                    f"{base}/api/v1/messages/webhook/monitoring",
                    params={"command.entity": "host", "command.message": "host"},
                    json={"host": host, "used_percent": percent},
                    auth=(MONITOR, MONITOR_PW), timeout=30)
                if answer.status_code == 200:
                    answered[host] = time.time()
                    return
            except requests.RequestException:
                session.close()
        raise SystemExit(f"webhook for {host} never answered 200")

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, hosts))
    return answered


def main(alerts: int, clients: int) -> None:
    sim = Simulator(rest_rate_limit=None).start()
    sim.create_user(BOT, BOT_PW, roles=("bot",))
    room = str(sim.create_channel("storm", [BOT])["_id"])
    hosts = [f"h{i:04d}" for i in range(alerts)]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        service = ServiceProcess(config(Path(tmp), sim, room, port), port, Path(tmp)).start()
        watch = Watch(sim, room)
        watch.thread.start()
        try:
            began = time.time()
            post_all(hosts, 97, service.base_url, clients)
            opened = time.time() - began
            store = Database(f"sqlite:///{Path(tmp) / 'atsd.db'}")
            _wait(lambda: _drained(store), 300, "every open text")
            posted_open = time.time() - began
            resolved = post_all(hosts, 42, service.base_url, clients)
            closing = time.time()
            _wait(lambda: _drained(store), 300, "every cancel text")
            _wait(lambda: len(watch.resolved_at) >= min(BUDGET, alerts) and (
                alerts <= BUDGET or watch.summary_reached(alerts - BUDGET) is not None),
                120, "the last edit")
            settled = time.time() - closing
        finally:
            watch.stop.set()
            watch.thread.join(5)
            service.terminate()
            log = service.text()
    report(sim, room, hosts, resolved, watch, opened, posted_open, settled, log)
    sim.stop()


def report(sim: Simulator, room: str, hosts: list[str], resolved: dict[str, float],
           watch: Watch, opened: float, posted_open: float, settled: float, log: str) -> None:
    messages = [m for m in sim.messages(room) if m["u"]["username"] == BOT]
    roots = [m for m in messages if not m.get("tmid")]
    summaries = [m for m in roots if m["msg"].startswith("+")]
    texts = Counter(_texts(sim, room))
    missing = [t for h in hosts for t in (f"disk {h} full", f"{h} back") if texts[t] == 0]
    doubled = [t for t, n in texts.items() if n > 1 and not t.startswith("+")]
    # resolve -> edit
    own = {m["msg"].split("\n")[0].split()[1]: str(m["_id"]) for m in roots if m not in summaries}
    order = sorted(resolved.items(), key=lambda kv: kv[1])
    latencies, folded_rank = [], 0
    for host, answered in order:
        if host in own:
            seen = watch.resolved_at.get(own[host])
        else:
            folded_rank += 1
            seen = watch.summary_reached(folded_rank)
        if seen is not None:
            latencies.append(max(0.0, seen - answered) * 1000)
    cancel_ts = {m["msg"].split()[0]: _epoch(m["ts"]) for m in messages
                 if m.get("tmid") and m["msg"].endswith(" back")}
    thread_ms = [max(0.0, cancel_ts[h] - t) * 1000 for h, t in resolved.items() if h in cancel_ts]
    print(f"{len(hosts)} alerts opened by webhook in {opened:.1f} s (all open texts in Rocket.Chat "
          f"after {posted_open:.1f} s), then resolved; everything settled {settled:.1f} s after "
          "the last resolving webhook")
    print(f"room messages posted by the bot: {len(roots)} ({len(roots) - len(summaries)} alert "
          f"messages, {len(summaries)} summary) for a budget of 10/1m")
    print(f"texts: {len(hosts) * 2 - len(missing)} of {len(hosts) * 2} present, "
          f"{len(missing)} missing, {len(doubled)} doubled; outbox failures in the log: "
          f"{log.count(' failed: ')}")
    print(f"resolve -> edited message: {_stats(latencies)}  ({len(latencies)} alerts)")
    print(f"resolve -> cancel text in the thread: {_stats(thread_ms)}")
    print(f"the summary now reads: {summaries[0]['msg'][:160] if summaries else '-'}…")


def _texts(sim: Simulator, room: str) -> list[str]:
    found = []
    for m in sim.messages(room):
        if m["u"]["username"] != BOT:
            continue
        found.append(str(m["msg"]).split("\n")[0] if not m.get("tmid") else str(m["msg"]))
    return found


def _drained(store: Database) -> bool:
    """The service's outbox has nothing left to send (read beside it; the simulator's rooms
    are not polled while it works: copying them would slow the simulator down)."""
    with store.connect() as conn:
        return reports.outbox_backlog(conn)["depth"] == 0


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)  # polling with a deadline


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return (f"p50 {statistics.median(values):.0f} ms, p99 {p99:.0f} ms, "
            f"max {values[-1]:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    main(args.alerts, args.clients)
