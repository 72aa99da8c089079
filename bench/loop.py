"""The whole loop, measured: a user's message to the bot's reply in the room, through the
simulator, the outgoing webhook and the realtime stream, atsd-bot's store, engine and outbox.

Uses the demo's set-up (real provisioning scripts, ``atsd-bot serve`` as a process, SQLite,
the seed rule). Also times ``serve`` start-up (process start to /healthz ready with realtime
subscribed) and stop (SIGTERM to exit). Run: ``.venv/bin/python bench/loop.py [N]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.demo.run import BOT, USER  # noqa: E402
from bot.demo.setup import DemoProcesses, provision_and_start  # noqa: E402


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        processes = DemoProcesses(Path(tmp), lambda _text: None)
        began = time.perf_counter()
        try:
            state = provision_and_start(processes, bot=BOT, user=USER)
            ready = time.perf_counter() - began
            headers = {"X-Sim-Admin": state.sim_admin_password}
            latencies = []
            room = None
            for number in range(count):
                text = f"bench message {number}"
                sent = time.perf_counter()
                answer = requests.post(f"{state.sim_url}/_sim/messages", headers=headers,
                                       json={"username": USER, "room": f"@{BOT}",
                                             "text": text}, timeout=10)
                room = room or answer.json()["message"]["rid"]
                wanted = f'said "{text}"'
                while True:
                    found = requests.get(f"{state.sim_url}/_sim/rooms/{room}/messages",
                                         headers=headers, timeout=10).json()["messages"]
                    if any(wanted in m.get("msg", "") and m["u"]["username"] == BOT
                           for m in found[-5:]):
                        break
                    if time.perf_counter() - sent > 10:
                        raise SystemExit(f"no reply to message {number} within 10 s")
                latencies.append((time.perf_counter() - sent) * 1000)
            atsd = next(p for n, p, _ in processes.children if n == "atsd-bot")
            stop_began = time.perf_counter()
            atsd.terminate()
            atsd.wait(30)
            stopped = time.perf_counter() - stop_began
        finally:
            processes.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"set-up (simulator, provisioning, serve ready): {ready:.2f} s")
    print(f"message -> reply in the room, {count} messages one at a time: "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
          f"max {latencies[-1]:.1f} ms (includes this script's polling of the room)")
    print(f"SIGTERM -> exit: {stopped:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
