"""Durable-ack throughput of the webhook endpoint against a trivial Flask endpoint.

Both apps run under waitress in this process with the same thread count (4), on loopback
ports; the load comes from ``wrk`` (16 keep-alive connections, a Lua script giving every
request a fresh ``message_id``) or, with ``--client python`` or without wrk, from a pool of
client processes with one keep-alive ``http.client`` connection each. Every request posts
the seed's Rocket.Chat payload and is a new message: auth, parse, once-only key, SQLite
commit with ``synchronous=FULL`` (shared by the requests waiting at that moment: group
commit), request-log row. Prints requests/s of each, the ratio (goal 1: >= 0.6) and how many
commands each commit carried on average.

``--engine on`` (the realistic case) loads the seed rule (``rules.d/seed.yml``) into a
RuleEngine, so each message also opens or repeats the alert, writes its window and a reply
into the outbox (not delivered: no sender runs); ``off`` stores only; ``both`` (default) runs
the two webhook apps in the same alternating rounds.

    .venv/bin/python bench/webhook.py [--seconds 3] [--rounds 5] [--connections 16]
        [--threads 4] [--client wrk|python] [--synchronous FULL|NORMAL|OFF] [--engine on|off|both]

``--cpu N`` measures instead the CPU one request costs, independent of the machine's load:
N requests, one at a time through Flask's test client (no server, no client), each app
warmed up first; ``time.process_time`` (every thread of the process: the request log's
writer too) per request, of the trivial endpoint and of the webhook store only and with the
seed rule. (Their ratio overstates the throughput ratio's room: the server's own CPU per
request, the same for both, is not in it.) ``--profile FILE`` also writes a
cProfile of the measured requests (the request thread only) per kind, ``FILE.<kind>``.

    .venv/bin/python bench/webhook.py --cpu 3000 [--engine on|off|both] [--profile FILE]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import logging
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, jsonify, request  # noqa: E402
from sqlalchemy import create_engine, event, func, select, text  # noqa: E402
from waitress.server import create_server  # noqa: E402

from bot.config import build_settings  # noqa: E402
from bot.service.http_server import quiet_channels  # noqa: E402
from rules.clock import SystemClock  # noqa: E402
from rules.definitions.loader import load_rules  # noqa: E402
from rules.engine.rule_engine import RuleEngine  # noqa: E402
from rules.ingest import Ingestor  # noqa: E402
from rules.store import Database  # noqa: E402
from rules.store.tables import base as schema  # noqa: E402
from webhook.app import create_app  # noqa: E402
from webhook.context import AppContext  # noqa: E402

PAYLOAD: dict[str, Any] = {
    "token": "ir7hozblv4", "bot": False, "channel_id": "ZpMw6XxSuZdpupcDa",
    "channel_name": "THANG-TEST-2", "message_id": "QSGJ9YqFkXuinmHAt",
    "timestamp": "2021-03-18T03:37:15.725Z", "user_id": "zk8ei6fZYTxnNdbWg",
    "user_name": "thangtm13", "text": "hi", "siteUrl": "http://localhost:3006/",
}
PATH = "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"
SYNC = "FULL"
NAMES = {"engine": "the seed rule in the engine", "store": "no engine (store only)"}
AUTH = "Basic " + base64.b64encode(b"rocketchat:bench-pass").decode()


def trivial_app() -> Flask:
    app = Flask("trivial")

    @app.post("/api/v1/messages/webhook/<path:rest>")
    def ok(rest: str) -> Any:
        request.get_data()
        return jsonify({"status": "ok"})

    return app


def real_app(workdir: Path, *, engine: bool = False, db_url: str | None = None) -> Any:
    settings = build_settings({
        "users": [{"name": "rocketchat", "password": "bench-pass", "roles": ["webhook"]}],
        "webhook": {"tokens": {"rocket.chat": PAYLOAD["token"]}},
        "database": {"url": db_url or f"sqlite:///{workdir / 'bench.db'}", "synchronous": SYNC},
    })
    db = Database(settings.database.url, synchronous=settings.database.synchronous)
    db.create_schema()
    clock = SystemClock()
    rules_engine = None
    if engine:
        rules, issues = load_rules(["rules.d"], endpoints={"rocketchat", "log"}, base_dir=ROOT)
        assert rules and not [i for i in issues if i.level == "error"], issues
        rules_engine = RuleEngine(db, clock, endpoints=("rocketchat", "log"),
                                  default_endpoint_targets={"rocketchat": {"room_id": None}})
        assert rules_engine.load(rules) == []
        rules_engine.restore()
    ctx = AppContext(settings=settings, db=db, ingestor=Ingestor(db, rules_engine, clock),
                     clock=clock, engine=rules_engine)
    return create_app(ctx), settings, db


def start(app: Any, threads: int) -> tuple[Any, int]:
    """``app`` under waitress as the service runs it (bot.service.http_server's channels),
    the same for the trivial endpoint and the real one."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           connection_limit=1000)
    quiet_channels(server)
    threading.Thread(target=server.run, daemon=True).start()
    return server, int(server.effective_port)


def client(args: tuple[int, int, float, str]) -> tuple[int, int]:
    """Post until the deadline; returns (ok, failed)."""
    port, worker, seconds, run = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ok = failed = 0
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        body = json.dumps({**PAYLOAD, "message_id": f"{run}-{worker}-{i}",
                           "text": f"status {i}"}).encode()
        conn.request("POST", PATH, body=body, headers={
            "Content-Type": "application/json", "Authorization": AUTH})
        response = conn.getresponse()
        data = response.read()
        if response.status == 200 and data:
            ok += 1
        else:
            failed += 1
    conn.close()
    return ok, failed


def drive_python(pool: Any, port: int, clients: int, seconds: float,
                 run: str) -> tuple[float, int]:
    started = time.monotonic()
    results = pool.map(client, [(port, w, seconds, run) for w in range(clients)])
    elapsed = time.monotonic() - started
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


WRK_SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  run = args[1] or "r"
  counter = 0
end
request = function()
  counter = counter + 1
  local body = string.format(%s, run, tid, counter, counter)
  return wrk.format("POST", %s, {["Content-Type"] = "application/json",
                                 ["Authorization"] = %s}, body)
end
"""


def wrk_script(workdir: Path) -> Path:
    body = json.dumps({**PAYLOAD, "message_id": "MID", "text": "TEXT"})
    body = body.replace("%", "%%").replace('"MID"', '"%s-%d-%d"').replace('"TEXT"',
                                                                        '"status %d"')
    path = workdir / "webhook.lua"
    path.write_text(WRK_SCRIPT % (json.dumps(body), json.dumps(PATH), json.dumps(AUTH)))
    return path


def drive_wrk(script: Path, port: int, connections: int, seconds: float,
              run: str) -> tuple[float, int]:
    """wrk for ``seconds``; (requests/s, requests that failed or were not 2xx)."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "30s",
         "-s", str(script), f"http://127.0.0.1:{port}/", "--", run],
        capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> tuple[float, int]:
    """(requests/s, failed or non-2xx requests) from wrk's report."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return rate, bad


class CommitCounter:
    """Ingest commits and stored messages of one database: how many commands a commit carried
    (the request log's own batches, written by its thread, are not counted)."""

    def __init__(self, db: Database) -> None:
        self.db, self.commits = db, 0
        event.listen(db.engine, "commit", self._count)

    def _count(self, _conn: Any) -> None:
        if threading.current_thread().name != "webhook-request-log":
            self.commits += 1

    def snapshot(self) -> tuple[int, int]:
        with self.db.connect() as conn:
            stored = int(conn.execute(select(func.count()).select_from(
                schema.messages)).scalar_one())
        return self.commits, stored


def fresh_postgres(admin_url: str) -> str:
    name = f"atsd_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def cpu_per_request(kind: str, requests: int, profile: str | None = None) -> float:
    """Milliseconds of CPU (the whole process) per webhook request, one request at a time
    through Flask's test client, after a warm-up of a tenth as many (at least 100)."""
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "trivial":
            app, ctx, db = trivial_app(), None, None
        else:
            app, _settings, db = real_app(Path(tmp), engine=kind == "engine")
            ctx = app.extensions["atsd"]
        headers = {"Authorization": AUTH}
        test = app.test_client()
        bodies = [json.dumps({**PAYLOAD, "message_id": f"{kind}-{i}", "text": f"status {i}"})
                  for i in range(max(requests // 10, 100) + requests)]
        warm, measured = bodies[:len(bodies) - requests], bodies[len(bodies) - requests:]

        def post(body: str) -> None:
            response = test.post(PATH, data=body, content_type="application/json",
                                 headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)

        for body in warm:
            post(body)
        if ctx is not None:
            ctx.request_log.flush()
        profiler = None
        if profile:
            import cProfile
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        started = time.process_time()
        for body in measured:
            post(body)
        if ctx is not None:
            ctx.request_log.flush()  # the writer thread's work on these rows counts too
        spent = time.process_time() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{kind}")
        if ctx is not None:
            ctx.request_log.close()
            db.dispose()
    return spent / requests * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds; the median ratio is reported, because the "
                             "machine's load moves between two back-to-back runs")
    parser.add_argument("--connections", type=int, default=16,
                        help="wrk connections, or client processes with --client python")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads")
    parser.add_argument("--client", default="wrk" if shutil.which("wrk") else "python",
                        choices=("wrk", "python"))
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL", "OFF"))
    parser.add_argument("--engine", default="both", choices=("on", "off", "both"),
                        help="the seed rule loaded in a RuleEngine (on), store only (off)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", default=None,
                        help="store on PostgreSQL: fresh databases made through this URL "
                             "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--cpu", type=int, metavar="N", default=0,
                        help="CPU per request over N requests through Flask's test client "
                             "instead of the throughput run")
    parser.add_argument("--profile", metavar="FILE", default=None,
                        help="with --cpu: cProfile of the measured requests to FILE.<kind>")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # waitress warns of its queue depth under this load; the request log's thread, and the
    # requests still queued when wrk stops, may still write after a PostgreSQL bench database
    # is dropped (wrk counts every failure it saw: "failed requests")
    for quiet in ("waitress.queue", "webhook.requestlog", "webhook.receiver"):
        logging.getLogger(quiet).setLevel(logging.CRITICAL)
    global SYNC
    SYNC = args.synchronous
    failed = 0
    kinds = {"on": ["engine"], "off": ["store"], "both": ["engine", "store"]}[args.engine]
    if args.cpu:
        trivial = cpu_per_request("trivial", args.cpu)
        print(f"CPU per request, trivial endpoint: {trivial:.3f} ms")
        for kind in kinds:
            ms = cpu_per_request(kind, args.cpu, args.profile)
            print(f"CPU per request, webhook with {NAMES[kind]}: {ms:.3f} ms, trivial/this "
                  f"{trivial / ms:.2f} ({args.cpu} requests, SQLite synchronous={SYNC})")
        return 0
    ratios: dict[str, list[float]] = {kind: [] for kind in kinds}
    counters: dict[str, CommitCounter] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        ports: dict[str, int] = {}
        for kind in kinds:
            workdir = Path(tmp) / kind
            workdir.mkdir()
            db_url = None
            if args.postgres:
                db_url = fresh_postgres(args.postgres)
                stack.callback(drop_postgres, args.postgres, db_url)
            app, _settings, db = real_app(workdir, engine=kind == "engine", db_url=db_url)
            stack.callback(db.dispose)
            counters[kind] = CommitCounter(db)
            ports[kind] = start(app, args.threads)[1]
        _, trivial_port = start(trivial_app(), args.threads)
        if args.client == "wrk":
            script = wrk_script(Path(tmp))

            def drive(port: int, seconds: float, run: str) -> tuple[float, int]:
                return drive_wrk(script, port, args.connections, seconds, run)
        else:
            pool = stack.enter_context(
                multiprocessing.get_context("spawn").Pool(args.connections))

            def drive(port: int, seconds: float, run: str) -> tuple[float, int]:
                return drive_python(pool, port, args.connections, seconds, run)
        print(f"waitress threads={args.threads} client={args.client} "
              f"connections={args.connections} seconds={args.seconds} rounds={args.rounds} "
              f"cpus={multiprocessing.cpu_count()} load average {os.getloadavg()[0]:.1f} "
              f"store {'PostgreSQL' if args.postgres else f'SQLite synchronous={SYNC}'}")
        drive(trivial_port, 1, "warm-t")
        for kind, port in ports.items():
            drive(port, 1, f"warm-{kind}")
        before = {kind: c.snapshot() for kind, c in counters.items()}
        # the servers' CPU per request (this process: every server thread; the clients are
        # other processes): where the ratio's gap is CPU, and how it compares with --cpu
        server_cpu: dict[str, list[float]] = {kind: [] for kind in ["trivial", *kinds]}

        def timed(kind: str, port: int, run: str) -> tuple[float, int]:
            started = os.times()
            rate, bad = drive(port, args.seconds, run)
            ended = os.times()
            spent = ended.user + ended.system - started.user - started.system
            server_cpu[kind].append(spent / max(rate * args.seconds, 1) * 1000)
            return rate, bad

        for n in range(args.rounds):
            trivial, bad = timed("trivial", trivial_port, f"t{n}")
            failed += bad
            line = f"round {n + 1}: trivial {trivial:6.1f} req/s"
            for kind, port in ports.items():
                real, bad = timed(kind, port, f"{kind}{n}")
                failed += bad
                ratios[kind].append(real / trivial if trivial else 0.0)
                line += f"   webhook+{kind} {real:6.1f} req/s ({ratios[kind][-1]:.2f})"
            print(line)
        after = {kind: c.snapshot() for kind, c in counters.items()}
        print("server CPU per request (median of the rounds): " + ", ".join(
            f"{kind} {statistics.median(ms):.3f} ms" for kind, ms in server_cpu.items()))
    for kind, found in ratios.items():
        commits = after[kind][0] - before[kind][0]
        stored = after[kind][1] - before[kind][1]
        print(f"goal 1, webhook with {NAMES[kind]}: median ratio "
              f"{statistics.median(found):.2f} (rounds {min(found):.2f}-{max(found):.2f}; "
              f"goal >= 0.6); {stored / max(commits, 1):.1f} commands per ingest commit "
              f"({stored} stored, {commits} commits; {args.threads} threads can share one)")
    print(f"failed requests: {failed}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
