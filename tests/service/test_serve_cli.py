"""``atsd-bot serve`` as a process: signals, exit codes, log formats, redaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

SECRET = "very-secret-hook-pass"
ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, extra: str = "") -> Path:
    rules = tmp_path / "rules.d"
    rules.mkdir(exist_ok=True)
    config = tmp_path / "atsd.toml"
    config.write_text(f"""
[http]
port = 0
[database]
url = "sqlite:///{tmp_path / 'atsd.db'}"
[[users]]
name = "hook"
password = "{SECRET}"
roles = ["webhook"]
[rules]
paths = ["{rules}"]
{extra}
""")
    return config


class Served:
    def __init__(self, proc: subprocess.Popen[str], log: Path) -> None:
        self.proc = proc
        self.log = log

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, needle: str, seconds: float = 20.0) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text:
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)  # polling a log file for a condition, with a deadline
        raise AssertionError(f"{needle!r} not logged; log:\n{self.text()}")

    def base_url(self) -> str:
        text = self.wait_for("web UI at ")
        for line in text.splitlines():
            if "web UI at " in line:
                return line.split("web UI at ")[1].split("/ui/")[0]
        raise AssertionError(text)


Start = Callable[..., Served]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Start]:
    started: list[Served] = []

    def start(*args: str, config: Path | None = None) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        cmd = [sys.executable, "-m", "bot", "serve",
               "--config", str(config or write_config(tmp_path)), *args]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=open(log, "w"),  # noqa: SIM115
                                stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        served = Served(proc, log)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait()


def test_sigterm_stops_cleanly(serve: Start) -> None:
    served = serve()
    base = served.base_url()
    assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=15) == 0
    text = served.text()
    assert "received SIGTERM" in text and "stopped" in text


def test_sighup_reloads_rules(serve: Start) -> None:
    served = serve()
    served.base_url()
    served.proc.send_signal(signal.SIGHUP)
    served.wait_for("reloading rules (SIGHUP)")
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=15) == 0


def test_json_logs_with_secrets_redacted(serve: Start, tmp_path: Path) -> None:
    served = serve("--log-format", "json")
    base = served.base_url()
    # A client sends the secret where it might be logged: a wrong user with it as password,
    # and the secret itself in a path.
    requests.post(f"{base}/api/v1/messages/webhook/{SECRET}", auth=("nobody", SECRET),
                  json={}, timeout=5)
    served.proc.send_signal(signal.SIGTERM)
    served.proc.wait(timeout=15)
    lines = [line for line in served.text().splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(d) for d in docs)
    assert SECRET not in served.text()


def test_a_configuration_error_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[http2]\nport = 1\n')
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown section [http2]" in done.stderr


def test_a_busy_port_is_exit_code_4(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        config = write_config(tmp_path)
        config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
        done = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", str(config)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 7
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_refused_rocketchat_credentials_are_exit_code_3(tmp_path: Path) -> None:
    from tests.rocketchat_server import Simulator

    sim = Simulator().start()
    try:
        sim.create_user("atsd_bot", "right-password-1", roles=("bot",))
        config = write_config(tmp_path, f"""
[rocketchat]
url = "{sim.url}"
user = "atsd_bot"
password = "wrong-password-1"
""")
        done = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", str(config)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        sim.stop()
    assert done.returncode == 3, done.stderr
    assert "refused the login of atsd_bot; check rocketchat.user and rocketchat.password" \
        in done.stderr
    assert "wrong-password-1" not in done.stderr
