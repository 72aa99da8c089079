"""Two instances on one PostgreSQL database: combined webhook ingest against one instance.

Starts ``atsd-bot serve`` processes on a fresh PostgreSQL database (a rule like the seed's,
replying to the ``log`` endpoint so that no chat server is needed); one holds the lease and
runs the engine and the sender, the other stores what it receives and the holder processes
it. ``wrk`` (16 connections per instance, a fresh ``message_id`` per request) drives first
instance A alone, then A and B at once. Prints requests/s, the ratio two/one and the holder's
engine rate (commands processed per second while both take traffic, from the store).

    .venv/bin/python bench/instances.py [--seconds 10] [--admin-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select  # noqa: E402

from rules.store.tables import base as schema  # noqa: E402
from tests.reliability.harness import ServiceProcess, free_port, wait_until  # noqa: E402

RULE = """
rules:
  - name: reply
    source: rocket.chat
    filter: "tags.bot != 'true'"
    window: length(1)
    group_by_entity: true
    condition: "true"
    notifications:
      - endpoint: log
        open: 'User @${tags.user_name} said "${message}"'
        repeat: 'User @${tags.user_name} said "${message}"'
        repeat_every: all
"""
CONFIG = """
[http]
host = "127.0.0.1"
port = {port}
threads = {threads}
[database]
url = "{db_url}"
lease_ttl = 3
[rules]
paths = ["{rules}"]
[[users]]
name = "rocketchat"
password = "bench-pass"
roles = ["webhook"]
[webhook.tokens]
"rocket.chat" = "ir7hozblv4"
"""


def bench_webhook() -> Any:
    """bench/webhook.py as a module (its wrk script and driver)."""
    spec = importlib.util.spec_from_file_location("bench_webhook", ROOT / "bench" / "webhook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module




def start(workdir: Path, name: str, db_url: str, threads: int) -> ServiceProcess:
    directory = workdir / name
    (directory / "rules.d").mkdir(parents=True)
    (directory / "rules.d" / "reply.yml").write_text(RULE)
    port = free_port()
    config = directory / "atsd.toml"
    config.write_text(CONFIG.format(port=port, threads=threads, db_url=db_url,
                                    rules=directory / "rules.d"))
    return ServiceProcess(config, port, directory, name=name).start()


def processed(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.messages)).scalar_one()
        done = conn.execute(select(func.count()).select_from(schema.messages)
                            .where(schema.messages.c.processed.is_(True))).scalar_one()
    engine.dispose()
    return int(total), int(done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16, help="per instance")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads")
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                                               "postgres")
    args = parser.parse_args()
    hook = bench_webhook()
    db_url = hook.fresh_postgres(args.admin_url)
    services: list[ServiceProcess] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            script = hook.wrk_script(workdir)
            services = [start(workdir, name, db_url, args.threads) for name in ("a", "b")]
            wait_until(lambda: any("now runs the engine" in s.current_log() for s in services),
                       30, "one instance to hold the lease")
            holder = next(s.name for s in services if "now runs the engine" in s.current_log())
            for service in services:
                hook.drive_wrk(script, service.port, args.connections, 1, f"warm-{service.name}")
            one, bad = hook.drive_wrk(script, services[0].port, args.connections,
                                      args.seconds, "one")
            before = processed(db_url)
            started = time.monotonic()
            drivers = [subprocess.Popen(
                ["wrk", "-t", "1", "-c", str(args.connections), "-d", f"{args.seconds:g}s",
                 "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{s.port}/", "--",
                 f"two-{s.name}"], stdout=subprocess.PIPE, text=True) for s in services]
            outputs = [d.communicate()[0] for d in drivers]
            after = processed(db_url)
            took = time.monotonic() - started
            rates = [hook.parse_wrk(out) for out in outputs]
            both = sum(rate for rate, _ in rates)
            bad += sum(failed for _, failed in rates)
            backlog_at_end = after[0] - after[1]
            print(f"PostgreSQL, waitress threads={args.threads}, {args.connections} connections "
                  f"per instance, {args.seconds:g} s; load average {os.getloadavg()[0]:.1f} on "
                  f"{os.cpu_count()} CPUs; lease holder: {holder}")
            print(f"one instance: {one:7.0f} req/s")
            print(f"two instances: {both:7.0f} req/s combined "
                  f"({' + '.join(f'{r:.0f}' for r, _ in rates)}); ratio two/one {both / one:.2f}")
            print(f"holder's engine while both took traffic: {(after[1] - before[1]) / took:.0f} "
                  f"commands/s; {backlog_at_end} stored and not yet processed at the end")
            print(f"failed requests: {bad}")
            return 0 if bad == 0 else 1
    finally:
        for service in services:
            service.terminate()
        hook.drop_postgres(args.admin_url, db_url)


if __name__ == "__main__":
    raise SystemExit(main())
