"""One REST ``chat.sendMessage`` round trip: the bot's client CPU and wall time per call.

The Rocket.Chat simulator runs in this process; the client runs in a child process, so that
``time.process_time`` there counts the client's CPU only (the simulator's is in the parent).
The child logs in through :class:`bot.rest.client.RestClient` and makes ``--count`` sequential
``chat.sendMessage`` calls into one room, each with its own ``_id`` as the outbox sends them;
then, as floors, the same calls through a bare ``requests.Session().post`` (``trust_env`` off)
and a raw ``http.client`` keep-alive POST (same body, headers and JSON parsing of the answer).

    .venv/bin/python bench/rest_call.py [--count 3000] [--repeat 3] [--profile restclient]
                                        [--instructions]

Prints, per way of calling, the median over ``--repeat`` passes of the client CPU per call
(µs) and the wall time per call (µs). CPU per call is the figure to compare between commits;
it still grows when other work shares the cores (caches, clock); wall time does more so.
``--instructions`` adds user-space instructions per call counted by valgrind, which do not
depend on the load at all.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WAYS = ("restclient", "requests", "http.client")


def _message(rid: str, way: str, run: int, i: int) -> dict[str, Any]:
    # unique over every client process of a run (the simulator refuses a repeated _id)
    return {"rid": rid, "msg": f"reply {i}",
            "_id": f"b{os.getpid():07d}{way[:4]}{run:02d}{i:07d}"}


def _restclient(url: str, user: str, password: str) -> Callable[[dict[str, Any]], Any]:
    from bot.rest.client import RestClient

    client = RestClient.with_password(url, user, password)
    return client.chat_send_message


def _requests(url: str, user: str, password: str) -> Callable[[dict[str, Any]], Any]:
    import requests

    session = requests.Session()
    session.trust_env = False  # no os.environ walk per call, as the bot's session
    login = session.post(url + "/api/v1/login", json={"username": user, "password": password})
    data = login.json()["data"]
    headers = {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}
    endpoint = url + "/api/v1/chat.sendMessage"

    def send(message: dict[str, Any]) -> Any:
        answer = session.post(endpoint, json={"message": message}, headers=headers, timeout=10)
        answer.raise_for_status()
        return answer.json()
    return send


def _http_client(url: str, user: str, password: str) -> Callable[[dict[str, Any]], Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                            timeout=10)

    def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        payload = json.dumps(body).encode("utf-8")
        connection.request("POST", path, payload,
                           {"Content-Type": "application/json", **headers})
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"HTTP {answer.status}: {data[:200]!r}")
        return json.loads(data)

    data = post("/api/v1/login", {"username": user, "password": password}, {})["data"]
    auth = {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}
    return lambda message: post("/api/v1/chat.sendMessage", {"message": message}, auth)


MAKERS = {"restclient": _restclient, "requests": _requests, "http.client": _http_client}


def client_main(url: str, user: str, password: str, rid: str, count: int, repeat: int,
                profile: str, ways: list[str]) -> None:
    """Child process: time each way; one JSON line of results on stdout."""
    results: dict[str, dict[str, list[float]]] = {}
    for run in range(repeat):
        for way in ways:
            send = MAKERS[way](url, user, password)
            for i in range(50):  # warm-up: connection open, caches filled
                send(_message(rid, way, run, count + i))
            messages = [_message(rid, way, run, i) for i in range(count)]
            profiler = cProfile.Profile() if way == profile and run == 0 else None
            if profiler is not None:
                profiler.enable()
            cpu, wall = time.process_time(), time.perf_counter()
            for message in messages:
                send(message)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiler is not None:
                profiler.disable()
                stats = pstats.Stats(profiler, stream=sys.stderr)
                stats.sort_stats("tottime").print_stats(30)
                stats.sort_stats("cumulative").print_stats(40)
            figures = results.setdefault(way, {"cpu_us": [], "wall_us": []})
            figures["cpu_us"].append(cpu / count * 1e6)
            figures["wall_us"].append(wall / count * 1e6)
    print(json.dumps(results), flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client"]:
        url, user, password, rid, count, repeat, profile, ways = argv[1:9]
        client_main(url, user, password, rid, int(count), int(repeat), profile,
                    ways.split(","))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="sequential calls per pass")
    parser.add_argument("--repeat", type=int, default=3, help="passes (median reported)")
    parser.add_argument("--profile", default="", choices=("", *WAYS),
                        help="cProfile the first pass of this way (to stderr)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count the client's instructions per call under valgrind "
                             "(cachegrind): a figure that does not move with the machine's load")
    args = parser.parse_args(argv)

    from tests.rocketchat_server.control import Simulator

    with Simulator(rest_rate_limit=None) as sim:
        sim.create_user("alice", "bench-alice-pw")
        sim.create_user("atsd_bot", "bench-bot-pw", roles=("bot",), join_default_channels=False)
        rid = sim.dm_room("alice", "atsd_bot")
        client = [__file__, "--client", sim.url, "atsd_bot", "bench-bot-pw", rid]
        done = subprocess.run(
            [sys.executable, *client, str(args.count), str(args.repeat), args.profile,
             ",".join(WAYS)], stdout=subprocess.PIPE, text=True, check=True)
        results = json.loads(done.stdout.strip().splitlines()[-1])
        expected = args.repeat * len(WAYS) * (args.count + 50)
        if args.instructions:
            counts = instruction_counts(client)
            expected += len(WAYS) * (2 * 50 + sum(INSTRUCTION_CALLS))
        stored = len(sim.messages(rid))
    print(f"{args.count} sequential chat.sendMessage calls x {args.repeat} passes; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"messages stored {stored} of {expected}")
    print(f"{'client':14} {'CPU µs/call':>12} {'(min-max)':>14} {'wall µs/call':>13} "
          f"{'(min-max)':>14}")
    for way in WAYS:
        cpu, wall = results[way]["cpu_us"], results[way]["wall_us"]
        print(f"{way:14} {statistics.median(cpu):12.0f} {min(cpu):6.0f}-{max(cpu):<7.0f} "
              f"{statistics.median(wall):13.0f} {min(wall):6.0f}-{max(wall):<7.0f}")
    if args.instructions:
        print(f"instructions per call (valgrind, {INSTRUCTION_CALLS[1]} calls less "
              f"{INSTRUCTION_CALLS[0]}):")
        for way in WAYS:
            print(f"{way:14} {counts[way]:12,.0f}")
    return 0 if stored == expected else 1


# Two runs of the client per way under valgrind; the difference of their instruction counts
# over the difference of their calls leaves out start-up, login and warm-up.
INSTRUCTION_CALLS = (100, 600)
_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instruction_counts(client: list[str]) -> dict[str, float]:
    """User-space instructions per call of each way, counted by valgrind's cachegrind."""
    counts: dict[str, float] = {}
    for way in WAYS:
        refs = []
        for calls in INSTRUCTION_CALLS:
            done = subprocess.run(
                ["valgrind", "--tool=cachegrind", "--cache-sim=no",
                 "--cachegrind-out-file=/dev/null", sys.executable, *client, str(calls), "1",
                 "", way], capture_output=True, text=True, check=True)
            found = _IREFS.search(done.stderr)
            if found is None:
                raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
            refs.append(int(found.group(1).replace(",", "")))
        counts[way] = (refs[1] - refs[0]) / (INSTRUCTION_CALLS[1] - INSTRUCTION_CALLS[0])
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
