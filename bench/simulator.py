"""Rocket.Chat simulator figures: start-up time and message throughput.

Usage: .venv/bin/python bench/simulator.py [--runs 5]

* standalone start: spawn `python -m tests.rocketchat_server --port 0` and time until
  GET /api/info answers (includes the Python interpreter's own start-up);
* in-process start: `Simulator().start()` until it listens;
* throughput: messages per second through `Simulator.post_message` with one DDP client
  subscribed to `__my_messages__` receiving every event.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rocketchat_server import Simulator  # noqa: E402


def standalone_start_ms() -> tuple[float, float]:
    """(wall ms until /api/info answers, CPU ms the child used in total)."""
    cpu_before = _children_cpu()
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.rocketchat_server", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" listening on ")[1].split()[0]
        requests.get(f"{url}/api/info", timeout=5).raise_for_status()
        wall = (time.perf_counter() - began) * 1000
    finally:
        process.terminate()
        process.wait(timeout=10)
    return wall, (_children_cpu() - cpu_before) * 1000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def in_process_start_ms() -> float:
    began = time.perf_counter()
    simulator = Simulator().start()
    took = (time.perf_counter() - began) * 1000
    simulator.stop()
    return took


def throughput(count: int) -> float:
    simulator = Simulator().start()
    try:
        simulator.create_user("alice", "pw")
        simulator.create_user("bot", "pw", roles=("bot",))
        rid = simulator.dm_room("alice", "bot")
        received = threading.Event()
        with connect(simulator.ws_url) as ws:
            ws.send(json.dumps({"msg": "connect", "version": "1", "support": ["1"]}))
            ws.send(json.dumps({"msg": "method", "method": "login", "id": "1", "params": [
                {"user": {"username": "bot"}, "password": "pw"}]}))  # fmt: skip
            ws.send(json.dumps({"msg": "sub", "id": "s", "name": "stream-room-messages",
                                "params": ["__my_messages__", False]}))  # fmt: skip
            while json.loads(ws.recv()).get("msg") != "ready":
                pass

            def reader() -> None:
                seen = 0
                while seen < count:
                    frame = json.loads(ws.recv())
                    if frame.get("fields", {}).get("eventName") == "__my_messages__":
                        seen += 1
                received.set()

            thread = threading.Thread(target=reader)
            thread.start()
            began = time.perf_counter()
            for i in range(count):
                simulator.post_message("alice", rid, f"m{i}")
            received.wait(60)
            took = time.perf_counter() - began
            thread.join(5)
        return count / took
    finally:
        simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    runs = [standalone_start_ms() for _ in range(args.runs)]
    standalone = [wall for wall, _ in runs]
    cpu = [used for _, used in runs]
    in_process = [in_process_start_ms() for _ in range(args.runs)]
    print("standalone start (spawn -> /api/info answers):"
          f" median {statistics.median(standalone):.0f} ms,"
          f" max {max(standalone):.0f} ms over {args.runs} runs; CPU used by the process"
          f" (start-up + shutdown) median {statistics.median(cpu):.0f} ms;"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"in-process Simulator().start(): median {statistics.median(in_process):.1f} ms,"
          f" max {max(in_process):.1f} ms")  # fmt: skip
    print(f"post_message -> __my_messages__ event: {throughput(args.messages):.0f} messages/s")


if __name__ == "__main__":
    main()
