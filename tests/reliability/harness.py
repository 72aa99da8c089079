"""Run ``atsd-bot serve`` as a real process for the reliability tests, next to a simulator.

:class:`ServiceProcess` starts the service with a temporary configuration on a fixed port (so
a restarted process answers at the same address, as behind a load balancer), waits for it on
its log, kills it with SIGKILL and restarts it. :func:`write_config` writes the configuration
the crash, instance and security tests share: a Rocket.Chat endpoint on the simulator
(realtime off, replies over REST) and a rule grouping by ``channel_id``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BOT_USER, BOT_PASSWORD = "atsd_bot", "bot-password-Secret-1"
HOOK_USER, HOOK_PASSWORD = "hook", "hook-password-Secret-2"
HOOK_TOKEN = "rc-token-Secret-3"
WEBHOOK_PATH = "/api/v1/messages/webhook/rocket.chat"

RULE = """
rules:
  - name: chaos
    description: one alert per channel; 'resolved' closes it
    source: rocket.chat
    filter: "tags.bot != 'true'"
    window: length(1)
    group_by_entity: true
    group_by_tags: [channel_id]
    condition: "message != 'resolved'"
    severity: WARNING
    notifications:
      - endpoint: rocketchat
        name: reply
        open: 'open ${tags.message_id}'
        repeat: 'repeat ${tags.message_id}'
        cancel: 'cancel ${tags.message_id}'
        repeat_every: all
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], seconds: float, what: str,
               every: float = 0.05) -> Any:
    """Poll ``predicate`` until it is truthy; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")
        pause.wait(every)  # polling a condition with a deadline, not sleeping for an outcome


def write_config(directory: Path, *, db_url: str, sim_url: str, port: int,
                 extra: str = "", rule: str = RULE) -> Path:
    rules = directory / "rules.d"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "chaos.yml").write_text(rule)
    config = directory / f"atsd-{port}.toml"
    config.write_text(f"""
[http]
host = "127.0.0.1"
port = {port}
[database]
url = "{db_url}"
synchronous = "FULL"
lease_ttl = 3
[rules]
paths = ["{rules}"]
[rocketchat]
url = "{sim_url}"
user = "{BOT_USER}"
password = "{BOT_PASSWORD}"
realtime = false
[delivery]
max_attempts = 100
backoff_seconds = 0.2
max_backoff_seconds = 1.0
[[users]]
name = "{HOOK_USER}"
password = "{HOOK_PASSWORD}"
roles = ["webhook"]
[webhook.tokens]
"rocket.chat" = "{HOOK_TOKEN}"
{extra}
""")
    return config


class ServiceProcess:
    """One ``atsd-bot serve`` process that can be killed and started again on its port."""

    def __init__(self, config: Path, port: int, log_dir: Path, name: str = "serve") -> None:
        self.config, self.port, self.log_dir, self.name = config, port, log_dir, name
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self, wait: bool = True) -> ServiceProcess:
        log = self.log_dir / f"{self.name}-{len(self.logs)}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--config", str(self.config)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if wait:
            self.wait_ready()
        return self

    def text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def current_log(self) -> str:
        return self.logs[-1].read_text(errors="replace") if self.logs else ""

    def wait_ready(self, seconds: float = 60.0) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n"
                                     f"{self.current_log()[-3000:]}")
            return "atsd-bot is running" in self.current_log()

        wait_until(ready, seconds, f"{self.name} to start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def terminate(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
