"""``SIGHUP`` reloads the configuration: users come and go without a restart; what needs a
restart is named and keeps its value; a configuration that does not load changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.operations.conftest import CLEAN_ENV, ROOT

HOOK = "/api/v1/messages/webhook/ops?command.message=text"
BASE = """
[http]
port = 0
[database]
url = "sqlite:///atsd.db"
[[users]]
name = "ops"
password = "ops-pass-1"
roles = ["admin"]
"""
NEWBIE = """
[[users]]
name = "newbie"
password = "newbie-pass-1"
roles = ["webhook"]
"""


class Served:
    def __init__(self, config: Path) -> None:
        self.log = config.parent / "serve.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--config", str(config)], cwd=ROOT,
                stdout=out, stderr=subprocess.STDOUT, env={**CLEAN_ENV, "PYTHONUNBUFFERED": "1"})
        text = self.wait_for("web UI at ")
        self.base = text.split("web UI at ")[1].split("/ui/")[0]

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, needle: str, count: int = 1, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.text()
            if text.count(needle) >= count:
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)  # polling the log for a condition, with a deadline
        raise AssertionError(f"{needle!r} not logged:\n{self.text()}")

    def post(self, user: str, password: str) -> int:
        return requests.post(self.base + HOOK, auth=(user, password), json={"text": "hi"},
                             timeout=10).status_code


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    (tmp_path / "rules.d").mkdir()
    config = tmp_path / "atsd-bot.toml"
    config.write_text(BASE)
    served = Served(config)
    yield served, config
    served.proc.send_signal(signal.SIGTERM)
    try:
        assert served.proc.wait(timeout=20) == 0, served.text()
    finally:
        if served.proc.poll() is None:
            served.proc.kill()


def test_sighup_adds_a_user_without_a_restart(served: tuple[Served, Path]) -> None:
    service, config = served
    assert service.post("newbie", "newbie-pass-1") == 401
    config.write_text(BASE.replace("port = 0", "port = 1") + NEWBIE
                      + '[retention]\nmessages = "10d"\n')
    service.proc.send_signal(signal.SIGHUP)
    text = service.wait_for("reloading rules (SIGHUP)")
    assert "configuration reloaded; changed: retention.messages, users.newbie (added)" in text
    assert "these settings need a restart and keep their running values until then: " \
           "http.port" in text
    assert service.post("newbie", "newbie-pass-1") == 200  # same process, same port
    assert "newbie-pass-1" not in service.text()  # a reloaded secret is masked too


def test_a_configuration_that_does_not_load_changes_nothing(
        served: tuple[Served, Path]) -> None:
    service, config = served
    config.write_text(BASE + NEWBIE)
    service.proc.send_signal(signal.SIGHUP)
    service.wait_for("reloading rules (SIGHUP)")
    config.write_text(BASE + NEWBIE.replace('roles = ["webhook"]', 'roles = ["boss"]'))
    service.proc.send_signal(signal.SIGHUP)
    text = service.wait_for("configuration not reloaded, the running one stays in force: "
                            "users[1].roles: unknown role 'boss'")
    assert text.count("reloading rules (SIGHUP)") == 1  # the rules were not touched either
    assert service.post("newbie", "newbie-pass-1") == 200


def test_start_warns_about_what_nobody_can_use(tmp_path: Path) -> None:
    config = tmp_path / "atsd-bot.toml"
    config.write_text('[http]\nport = 0\n[database]\nurl = "sqlite:///atsd.db"\n')
    service = Served(config)
    try:
        text = service.text()
    finally:
        service.proc.send_signal(signal.SIGTERM)
        service.proc.wait(timeout=20)
    assert "no [[users]]: nobody can log in to the web UI and every webhook is refused" in text
    assert f"no rules loaded from {tmp_path / 'rules.d'}" in text
    assert f"{tmp_path / 'rules.d'}: file or folder not found" in text
    assert "no [rocketchat] section: the bot is not in Rocket.Chat" in text
    assert (tmp_path / "atsd.db").exists()  # beside the file, not in the working folder
