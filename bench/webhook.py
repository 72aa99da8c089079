"""Durable-ack throughput of the webhook endpoint against a trivial Flask endpoint.

Both apps run under waitress in this process with the same thread count, on loopback ports;
clients run in other processes (a multiprocessing pool, one keep-alive ``http.client``
connection each) and post the seed's Rocket.Chat payload (a fresh ``message_id`` per request,
so every request is a new message: auth, parse, once-only key, SQLite commit with
``synchronous=FULL``, request-log row). Prints requests/s of each and the ratio (goal >= 0.5).

``--engine on`` (the realistic case) loads the seed rule (``rules.d/seed.yml``) into a
RuleEngine, so each message also opens or repeats the alert, writes its window and a reply
into the outbox (not delivered: no sender runs); ``off`` stores only; ``both`` (default) runs
the two webhook apps in the same alternating rounds.

    .venv/bin/python bench/webhook.py [--seconds 2] [--rounds 5] [--clients 4] [--threads 8]
        [--synchronous FULL|NORMAL|OFF] [--engine on|off|both]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, jsonify, request  # noqa: E402
from waitress.server import create_server  # noqa: E402

from bot.config.load import build_settings  # noqa: E402
from rules.clock import SystemClock  # noqa: E402
from rules.definitions.loader import load_rules  # noqa: E402
from rules.engine.rule_engine import RuleEngine  # noqa: E402
from rules.ingest import Ingestor  # noqa: E402
from rules.store import Database  # noqa: E402
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


def real_app(workdir: Path, *, engine: bool = False) -> Any:
    settings = build_settings({
        "users": [{"name": "rocketchat", "password": "bench-pass", "roles": ["webhook"]}],
        "webhook": {"tokens": {"rocket.chat": PAYLOAD["token"]}},
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}", "synchronous": SYNC},
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
    return create_app(ctx), settings


def start(app: Any, threads: int) -> tuple[Any, int]:
    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           connection_limit=1000)
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


def drive(pool: Any, port: int, clients: int, seconds: float, run: str) -> tuple[float, int]:
    started = time.monotonic()
    results = pool.map(client, [(port, w, seconds, run) for w in range(clients)])
    elapsed = time.monotonic() - started
    return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds; the median ratio is reported, because the "
                             "machine's load moves between two back-to-back runs")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None,
                        help="waitress threads (default: settings.http.threads)")
    parser.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL", "OFF"))
    parser.add_argument("--engine", default="both", choices=("on", "off", "both"),
                        help="the seed rule loaded in a RuleEngine (on), store only (off)")
    args = parser.parse_args()
    global SYNC
    SYNC = args.synchronous
    failed = 0
    kinds = {"on": ["engine"], "off": ["store"], "both": ["engine", "store"]}[args.engine]
    ratios: dict[str, list[float]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        ports: dict[str, int] = {}
        threads = args.threads
        for kind in kinds:
            workdir = Path(tmp) / kind
            workdir.mkdir()
            app, settings = real_app(workdir, engine=kind == "engine")
            threads = threads or settings.http.threads
            ports[kind] = start(app, threads)[1]
        _, trivial_port = start(trivial_app(), threads)
        print(f"waitress threads={threads} clients={args.clients} seconds={args.seconds} "
              f"rounds={args.rounds} cpus={multiprocessing.cpu_count()} "
              f"sqlite synchronous={SYNC}")
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            drive(pool, trivial_port, args.clients, 0.5, "warm-t")
            for kind, port in ports.items():
                drive(pool, port, args.clients, 0.5, f"warm-{kind}")
            for n in range(args.rounds):
                trivial, bad = drive(pool, trivial_port, args.clients, args.seconds, f"t{n}")
                failed += bad
                line = f"round {n + 1}: trivial {trivial:6.1f} req/s"
                for kind, port in ports.items():
                    real, bad = drive(pool, port, args.clients, args.seconds, f"{kind}{n}")
                    failed += bad
                    ratios[kind].append(real / trivial if trivial else 0.0)
                    line += f"   webhook+{kind} {real:6.1f} req/s ({ratios[kind][-1]:.2f})"
                print(line)
    for kind, found in ratios.items():
        print(f"median ratio, webhook with {NAMES[kind]}: {statistics.median(found):.2f} "
              f"(runs {min(found):.2f}-{max(found):.2f}; goal >= 0.5)")
    print(f"failed requests: {failed}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
