"""The engine end to end through the insert API, beside the least a durable engine must do.

**atsd-bot**: the real application under waitress (``settings.http.threads`` threads), the
default durable store (an SQLite file, ``synchronous = FULL``) and 1,000 rules of which one
matches (a condition, a ``length(1)`` window grouped by entity, open and repeat texts to the
``log`` endpoint). ``--senders`` client processes post ``--messages`` messages for
``--entities`` entities to ``/api/v1/messages/insert`` in requests of ``--per-request``; a
request is answered after its messages are stored, run through the rules and their
notifications written to the outbox, all committed. Messages per second = messages / the
time from the first request to the last answer.

**floor**: a plain Python program doing the least a durable engine must for the same
messages in the same process: store the row, find the rule in a dict, upsert the alert,
write the outbox row, one transaction per ``--per-request`` messages, SQLite file with
``synchronous = FULL`` (WAL). Prints both, their ratio and the goal (>= 5,000 messages/s).

**--cpu**: instead, the CPU time atsd-bot spends per message, in this process: the same
application and requests through Flask's test client, one request at a time, timed with
``time.process_time`` after a warm-up (the first requests open the windows). Other work on
the machine moves that far less than the wall-clock rates above.

    .venv/bin/python bench/insert.py [--messages 20000] [--rounds 3] [--cpu]
"""

from __future__ import annotations

import argparse
import base64
import gc
import http.client
import importlib.util
import json
import logging
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from waitress.server import create_server  # noqa: E402

from bot.config import build_settings  # noqa: E402
from rules.clock import SystemClock  # noqa: E402
from rules.definitions.model import Rule  # noqa: E402
from rules.engine.rule_engine import RuleEngine  # noqa: E402
from rules.ingest import Ingestor  # noqa: E402
from rules.store import Database  # noqa: E402
from webhook.app import create_app  # noqa: E402
from webhook.context import AppContext  # noqa: E402

AUTH = "Basic " + base64.b64encode(b"bench:bench-pass").decode()
TEXT = 'Disk alert on ${entity}: "${message}" (${repeat_count})'


def make_rules(count: int) -> list[Rule]:
    """bench/rules.py's shapes: one rule matching source ``app`` (errors only), the others
    watching other sources (half by filter)."""
    spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "rules.py")
    assert spec is not None and spec.loader is not None
    shapes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shapes)
    made: list[Rule] = shapes.make_rules(count, text=TEXT, match_filter="tags.level = 'error'")
    return made


def payloads(messages: int, entities: int, per_request: int) -> list[bytes]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    items = [{"entity": f"host-{i % entities}", "type": "webhook", "source": "app",
              "message": f"disk {i % 7} is full", "date": now,
              "tags": {"level": "error", "mount": f"/data{i % 3}"}} for i in range(messages)]
    return [json.dumps(items[i:i + per_request]).encode()
            for i in range(0, messages, per_request)]


def application(workdir: Path, rules: int) -> tuple[Any, Any, Database]:
    """The application (Flask) on a fresh store in ``workdir``, its settings and the store."""
    settings = build_settings({
        "users": [{"name": "bench", "password": "bench-pass", "roles": ["api"]}],
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}", "synchronous": "FULL"},
        "http": {"max_body_bytes": 64 * 1024 * 1024},
    })
    db = Database(settings.database.url, synchronous=settings.database.synchronous)
    db.create_schema()
    clock = SystemClock()
    engine = RuleEngine(db, clock, endpoints=("log",))
    assert engine.load(make_rules(rules)) == []
    engine.restore()
    ctx = AppContext(settings=settings, db=db, ingestor=Ingestor(db, engine, clock),
                     clock=clock, engine=engine)
    return create_app(ctx), settings, db


def serve(workdir: Path, rules: int) -> tuple[Any, int, Database]:
    app, settings, db = application(workdir, rules)
    server = create_server(app, host="127.0.0.1", port=0,
                           threads=settings.http.threads, connection_limit=1000)
    threading.Thread(target=server.run, daemon=True).start()
    return server, int(server.effective_port), db


def cpu_per_message(args: argparse.Namespace, bodies: list[bytes]) -> float:
    """CPU microseconds per message through the insert API, one request at a time in this
    process (Flask's test client); the first fifth of the requests warm up, uncounted."""
    with tempfile.TemporaryDirectory() as tmp:
        app, _, db = application(Path(tmp), args.rules)
        client = app.test_client()
        warm = max(len(bodies) // 5, 1)
        headers = {"Content-Type": "application/json", "Authorization": AUTH}
        started = 0.0
        for n, body in enumerate(bodies):
            if n == warm:
                gc.collect()
                started = time.process_time()
            response = client.post("/api/v1/messages/insert", data=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"insert answered {response.status_code}")
        took = time.process_time() - started
        db.dispose()
    counted = sum(len(json.loads(body)) for body in bodies[warm:])
    return took / counted * 1e6


def sender(args: tuple[int, list[bytes]]) -> int:
    """One client process: post its requests one after another; returns messages stored."""
    port, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    stored = 0
    for body in bodies:
        conn.request("POST", "/api/v1/messages/insert", body=body, headers={
            "Content-Type": "application/json", "Authorization": AUTH})
        response = conn.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"insert answered {response.status}: {answer}")
        stored += int(answer["stored"])
    conn.close()
    return stored


def atsd_bot(pool: Any, args: argparse.Namespace, bodies: list[bytes]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        server, port, db = serve(Path(tmp), args.rules)
        try:
            shares = [(port, bodies[i::args.senders]) for i in range(args.senders)]
            started = time.perf_counter()
            stored = sum(pool.map(sender, shares))
            took = time.perf_counter() - started
        finally:
            server.close()
            db.dispose()
    if stored != args.messages:
        raise RuntimeError(f"{stored} of {args.messages} messages stored")
    return args.messages / took


FLOOR_SCHEMA = """
CREATE TABLE messages (id INTEGER PRIMARY KEY, entity TEXT, type TEXT, source TEXT,
    message TEXT, tags TEXT, date TEXT, received TEXT);
CREATE TABLE alerts (id INTEGER PRIMARY KEY, rule TEXT, entity TEXT, repeats INTEGER,
    last TEXT, UNIQUE (rule, entity));
CREATE TABLE outbox (id INTEGER PRIMARY KEY, alert_id INTEGER, rule TEXT, trigger TEXT,
    text TEXT, status TEXT, created TEXT);
"""


def floor(args: argparse.Namespace, bodies: list[bytes]) -> float:
    """The least a durable engine does per message, timed from the parsed requests."""
    batches = [json.loads(body) for body in bodies]
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(f"{tmp}/floor.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(FLOOR_SCHEMA)
        rules = {"app": "match"} | {f"src-{i}": f"other-{i}" for i in range(1, args.rules)}
        alerts: dict[tuple[str, str], int] = {}
        started = time.perf_counter()
        for batch in batches:
            now = datetime.now(UTC).isoformat()
            db.execute("BEGIN")
            for m in batch:
                db.execute("INSERT INTO messages (entity, type, source, message, tags, date, "
                           "received) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (m["entity"], m["type"], m["source"], m["message"],
                            json.dumps(m["tags"]), m["date"], now))
                rule = rules.get(m["source"])
                if rule is None:
                    continue
                key = (rule, m["entity"])
                alert = alerts.get(key)
                if alert is None:
                    alert = alerts[key] = int(db.execute(
                        "INSERT INTO alerts (rule, entity, repeats, last) VALUES (?, ?, 0, ?)",
                        (rule, m["entity"], now)).lastrowid or 0)
                    trigger = "open"
                else:
                    db.execute("UPDATE alerts SET repeats = repeats + 1, last = ? WHERE id = ?",
                               (now, alert))
                    trigger = "repeat"
                db.execute("INSERT INTO outbox (alert_id, rule, trigger, text, status, created) "
                           "VALUES (?, ?, ?, ?, 'pending', ?)",
                           (alert, rule, trigger,
                            f"Disk alert on {m['entity']}: {m['message']!r}", now))
            db.execute("COMMIT")
        took = time.perf_counter() - started
        db.close()
    return args.messages / took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--entities", type=int, default=2_000)
    parser.add_argument("--per-request", type=int, default=1_000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--rules", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", action="store_true",
                        help="CPU time per message in this process instead (see above)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # a waitress thread may still pull its trigger after the round's server is closed
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    bodies = payloads(args.messages, args.entities, args.per_request)
    if args.cpu:
        cpu = [cpu_per_message(args, bodies) for _ in range(args.rounds)]
        print(f"{args.messages} messages, {args.entities} entities, {args.per_request} per "
              f"request, {args.rules} rules; CPU per message through the insert API, one "
              f"request at a time: {', '.join(f'{c:.1f}' for c in cpu)} us (median "
              f"{statistics.median(cpu):.1f}); load average {os.getloadavg()[0]:.1f}")
        return 0
    print(f"{args.messages} messages, {args.entities} entities, {args.per_request} per "
          f"request, {args.senders} senders, {args.rules} rules; SQLite file, synchronous=FULL; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ours: list[float] = []
    floors: list[float] = []
    with multiprocessing.get_context("spawn").Pool(args.senders) as pool:
        for n in range(args.rounds):
            ours.append(atsd_bot(pool, args, bodies))
            floors.append(floor(args, bodies))
            print(f"round {n + 1}: atsd-bot {ours[-1]:8,.0f} messages/s   "
                  f"floor {floors[-1]:9,.0f} messages/s   ({ours[-1] / floors[-1]:.3f})")
    best, median_floor = statistics.median(ours), statistics.median(floors)
    print(f"goal 4: atsd-bot {best:,.0f} messages/s end to end (>= 5,000: "
          f"{'met' if best >= 5000 else 'NOT met'}); the minimal durable engine "
          f"{median_floor:,.0f}/s; ratio {best / median_floor:.3f} (medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
