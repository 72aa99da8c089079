"""Durable-ack throughput of the webhook endpoint against a trivial Flask endpoint.

Both apps run under waitress in this process with the same thread count, on loopback ports;
clients run in other processes (a multiprocessing pool, one keep-alive ``http.client``
connection each) and post the seed's Rocket.Chat payload (a fresh ``message_id`` per request,
so every request is a new message: auth, parse, once-only key, SQLite commit with
``synchronous=FULL``, request-log row). Prints requests/s of each and the ratio (goal >= 0.5).

    .venv/bin/python bench/webhook.py [--seconds 2] [--rounds 5] [--clients 4] [--threads 8]
        [--synchronous FULL|NORMAL|OFF]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, jsonify, request  # noqa: E402
from waitress.server import create_server  # noqa: E402

from bot.config import build_settings  # noqa: E402
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
AUTH = "Basic " + base64.b64encode(b"rocketchat:bench-pass").decode()


def trivial_app() -> Flask:
    app = Flask("trivial")

    @app.post("/api/v1/messages/webhook/<path:rest>")
    def ok(rest: str) -> Any:
        request.get_data()
        return jsonify({"status": "ok"})

    return app


def real_app(workdir: Path) -> Any:
    settings = build_settings({
        "users": [{"name": "rocketchat", "password": "bench-pass", "roles": ["webhook"]}],
        "webhook": {"tokens": {"rocket.chat": PAYLOAD["token"]}},
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}", "synchronous": SYNC},
    })
    db = Database(settings.database.url, synchronous=settings.database.synchronous)
    db.create_schema()
    return create_app(AppContext(settings=settings, db=db, ingestor=Ingestor(db))), settings


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
    args = parser.parse_args()
    global SYNC
    SYNC = args.synchronous
    failed = 0
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        app, settings = real_app(Path(tmp))
        threads = args.threads or settings.http.threads
        _, real_port = start(app, threads)
        _, trivial_port = start(trivial_app(), threads)
        print(f"waitress threads={threads} clients={args.clients} seconds={args.seconds} "
              f"rounds={args.rounds} cpus={multiprocessing.cpu_count()} "
              f"sqlite synchronous={SYNC}")
        with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
            drive(pool, trivial_port, args.clients, 0.5, "warm-t")
            drive(pool, real_port, args.clients, 0.5, "warm-r")
            for n in range(args.rounds):
                trivial, bad_t = drive(pool, trivial_port, args.clients, args.seconds, f"t{n}")
                real, bad_r = drive(pool, real_port, args.clients, args.seconds, f"r{n}")
                failed += bad_t + bad_r
                ratios.append(real / trivial if trivial else 0.0)
                print(f"round {n + 1}: trivial {trivial:7.1f} req/s   webhook (durable ack) "
                      f"{real:7.1f} req/s   ratio {ratios[-1]:.2f}")
    print(f"median ratio: {statistics.median(ratios):.2f} (goal >= 0.5); failed requests: "
          f"{failed}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
