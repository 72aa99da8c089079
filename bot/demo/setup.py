"""The demo's set-up: processes (simulator, ``atsd-bot serve``), provisioning, configuration.

Provisioning runs the real scripts as separate processes, exactly as an admin would, with
the secrets in ``ATSD_BOT_PROVISION_*`` environment variables. Logs go to files under the
demo directory; their last lines are shown when a step fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import requests

from bot.demo.living import create_channel, write_rule
from bot.errors import DemoError

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
SIMULATOR = "tests.rocketchat_server"  # run as a child process; shipped code never imports it


def require_checkout(root: Path = ROOT) -> Path:
    """The checkout the demo runs in; the simulator is test code, not part of the package."""
    if not (root / SIMULATOR.replace(".", "/") / "__main__.py").is_file():
        raise DemoError("atsd-bot demo needs a checkout of atsd-bot (it runs the Rocket.Chat "
                        "simulator under tests/): clone the repository and run 'make run' there")
    return root


@dataclass
class DemoState:
    sim_url: str
    sim_admin_password: str
    atsd_url: str
    ui_user: str
    ui_password: str
    room_id: str | None = None
    ops_room: str | None = None  # the living-message act's channel
    monitor_password: str | None = None  # its monitoring webhook user

    def save(self, directory: Path) -> None:
        path = directory / "demo.json"
        # created 0600 before anything is written: throw-away passwords, but passwords
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(asdict(self), indent=2))

    @staticmethod
    def forget(directory: Path) -> None:
        (directory / "demo.json").unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path) -> DemoState:
        return cls(**json.loads((directory / "demo.json").read_text()))


class DemoProcesses:
    """Starts and stops the demo's child processes; each logs to a file in ``directory``."""

    def __init__(self, directory: Path, out: Callable[[str], None]) -> None:
        self.dir = directory.resolve()
        self.out = out
        self.children: list[tuple[str, subprocess.Popen[bytes], TextIO]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Path:
        log_path = self.dir / f"{name}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        self.children.append((name, proc, log))
        return log_path

    def run_script(self, module: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
        """Run a provisioning script; its one JSON document on stdout is the result."""
        done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, **env})
        (self.dir / f"{module.rsplit('.', 1)[-1]}.log").write_text(done.stderr)
        if done.returncode != 0:
            raise DemoError(f"{module} failed (exit {done.returncode}): "
                            f"{done.stderr.strip().splitlines()[-1:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def wait_http(self, name: str, url: str, ok: Callable[[requests.Response], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        proc = next(p for n, p, _ in self.children if n == name)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if ok(requests.get(url, timeout=2)):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # waiting for a child process to listen, with a deadline
        tail = (self.dir / f"{name}.log").read_text().strip().splitlines()[-5:]
        raise DemoError(f"{name} did not start; last lines of {self.dir / (name + '.log')}:\n  "
                        + "\n  ".join(tail))

    def stop(self) -> None:
        # atsd-bot first, then the simulator: the bot sees a clean stop, not a dead server.
        for name, proc, log in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.out(f"{name} did not stop on SIGTERM; killing it")
                proc.kill()
                proc.wait()
            log.close()
        self.children.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def provision_and_start(p: DemoProcesses, *, bot: str, user: str) -> DemoState:
    p.dir.mkdir(parents=True, exist_ok=True)
    for old in p.dir.glob("atsd-bot.db*"):
        old.unlink()  # a fresh store for a fresh simulator
    # Hex: a demo password is typed and passed on command lines, where a leading "-" (possible
    # in token_urlsafe) reads as an option.
    admin_pw, bot_pw, hook_pw, monitor_pw = (secrets.token_hex(12) for _ in range(4))
    ui_pw, user_pw = secrets.token_hex(8), secrets.token_hex(12)
    sim_port, atsd_port = free_port(), free_port()
    sim_url, atsd_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{atsd_port}"

    p.out(f"▶ starting the Rocket.Chat simulator on {sim_url}")
    p.start("simulator", ["-m", SIMULATOR, "--host", "127.0.0.1", "--port",
                          str(sim_port), "--admin-user", "admin",
                          # "=" form: a generated password may start with "-"
                          f"--admin-password={admin_pw}"])
    p.wait_http("simulator", f"{sim_url}/api/info", lambda r: r.status_code == 200)

    admin_env = {"ATSD_BOT_PROVISION_ADMIN_USER": "admin",
                 "ATSD_BOT_PROVISION_ADMIN_PASSWORD": admin_pw,
                 "ATSD_BOT_PROVISION_SERVER": sim_url}
    p.out(f"▶ provisioning the bot user @{bot}  (python -m scripts.create_bot_user)")
    made = p.run_script("scripts.create_bot_user", ["--bot-username", bot],
                        {**admin_env, "ATSD_BOT_PROVISION_BOT_PASSWORD": bot_pw})
    p.out(f"  bot user: {made.get('status', 'done')}")
    p.out("▶ provisioning the outgoing integration  "
          "(python -m scripts.create_outgoing_integration)")
    integration = p.run_script(
        "scripts.create_outgoing_integration",
        ["--bot-username", bot, "--webhook-url", atsd_url, "--webhook-user", "rocketchat"],
        {**admin_env, "ATSD_BOT_PROVISION_WEBHOOK_PASSWORD": hook_pw})
    p.out(f"  integration: {integration.get('status', 'done')} → "
          f"{(integration.get('integration') or {}).get('url', atsd_url)}")

    create_user(sim_url, admin_pw, user, user_pw)
    ops = create_channel(sim_url, admin_pw, [user, bot])
    config = write_config(p.dir, atsd_port=atsd_port, sim_url=sim_url, bot=bot, bot_pw=bot_pw,
                          ui_pw=ui_pw, lines=integration.get("atsd_bot_config") or {},
                          admins=(user,), living=(write_rule(p.dir, ops), monitor_pw))
    shown = config.relative_to(ROOT) if config.is_relative_to(ROOT) else config
    p.out(f"▶ starting atsd-bot serve --config {shown}")
    p.start("atsd-bot", ["-m", "bot", "serve", "--config", str(config)])
    p.wait_http("atsd-bot", f"{atsd_url}/healthz", _realtime_up)
    return DemoState(sim_url=sim_url, sim_admin_password=admin_pw, atsd_url=atsd_url,
                     ui_user="admin", ui_password=ui_pw, ops_room=ops,
                     monitor_password=monitor_pw)


def _realtime_up(answer: requests.Response) -> bool:
    if answer.status_code != 200:
        return False
    realtime = answer.json().get("paths", {}).get("realtime", {})
    return bool(realtime.get("subscribed"))


def write_config(directory: Path, *, atsd_port: int, sim_url: str, bot: str, bot_pw: str,
                 ui_pw: str, lines: dict[str, str], admins: tuple[str, ...] = (),
                 living: tuple[Path, str] | None = None) -> Path:
    """The demo's configuration; ``living`` = (the living-message act's rules folder, its
    monitoring webhook's password)."""
    users = lines.get("users", "")
    tokens = lines.get("webhook.tokens", "")
    paths = [str(ROOT / "rules.d")] + ([str(living[0])] if living else [])
    monitor = "" if living is None else f"""
# the living-message act's monitoring system
[[users]]
name = "monitor"
password = {json.dumps(living[1])}
roles = ["webhook"]
"""
    text = f"""# Written by 'atsd-bot demo run' for the simulator at {sim_url}; throw-away secrets.
[http]
host = "127.0.0.1"
port = {atsd_port}
public_url = "http://127.0.0.1:{atsd_port}"

[database]
url = "sqlite:///{directory / 'atsd-bot.db'}"
synchronous = "NORMAL"

[rules]
paths = {json.dumps(paths)}

[rocketchat]
url = {json.dumps(sim_url)}
user = {json.dumps(bot)}
password = {json.dumps(bot_pw)}
realtime = true
# the demo user may run the chat commands that change state (ack, silence ...)
admins = {json.dumps(list(admins))}

# the web UI and API user of the demo
[[users]]
name = "admin"
password = {json.dumps(ui_pw)}
roles = ["admin", "api"]
{monitor}
# from scripts.create_outgoing_integration:
{users}
{tokens}"""
    path = directory / "atsd-bot.toml"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # secrets: owner only
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return path


def create_user(sim_url: str, admin_pw: str, username: str, password: str) -> None:
    from bot.rest.client import RestClient

    admin = RestClient.with_password(sim_url, "admin", admin_pw)
    if admin.users_info(username=username) is None:
        admin.users_create(email=f"{username}@demo.invalid", name=username.title(),
                           password=password, username=username, verified=True,
                           joinDefaultChannels=False)
