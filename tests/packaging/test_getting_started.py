"""docs/getting-started.md, run as written against the Rocket.Chat simulator.

The page's fenced blocks are taken in order, as a reader would:

- ``sh`` blocks run in bash; exported variables and the working folder carry over from one
  block to the next, as in one terminal. The block that starts ``atsd-bot serve`` runs in
  the background, as the reader leaves it running;
- ``toml`` blocks are added at the end of ``atsd-bot.toml`` in the current folder, as the
  page says;
- ``text`` blocks are what the reader sees; the one after ``serve`` is the bot's answer to
  the direct message, which the test sends as a Rocket.Chat user would (the reader types it).

A block after ``<!-- test: skip ... -->`` is not run (installing: the test runs this
checkout's ``atsd-bot``); the test ends at ``<!-- test: stop ... -->``, the bot having
answered. Only what depends on the site differs from the page: its Rocket.Chat address and
admin password (the placeholders below) and ``ATSD_BOT_HTTP_PORT=0`` in the environment, so
that the test does not depend on port 8088 being free.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from tests.rocketchat_server import Simulator

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "getting-started.md"
SERVER = "https://chat.example.com"
ADMIN_PASSWORD = "ADMIN-PASSWORD"
T = TypeVar("T")


@dataclass(frozen=True)
class Block:
    lang: str  # sh | toml | text | "stop"
    body: str


def blocks(text: str) -> list[Block]:
    """The page's fenced blocks up to the stop marker, skipped ones left out."""
    found: list[Block] = []
    skip = False
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("<!-- test: stop"):
            return found
        if line.startswith("<!-- test: skip"):
            skip = True
        elif line.startswith("```"):
            body = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                body.append(inner)
            if not skip:
                found.append(Block(line[3:].strip(), "\n".join(body) + "\n"))
            skip = False
    raise AssertionError(f"{PAGE.name} has no '<!-- test: stop -->' marker")


def wait_for(predicate: Callable[[], T | None], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)  # polling a condition, bounded by the deadline
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class Terminal:
    """One reader's terminal: bash blocks share exported variables and the folder."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.state = home / ".terminal-state"
        self.cwd = home / ".terminal-cwd"
        self.cwd.write_text(str(home))
        self.state.write_text("")

    def script(self, body: str, *, keep: bool = True) -> str:
        save = f'\ndeclare -px > "{self.state}"\npwd > "{self.cwd}"\n' if keep else ""
        return (f'set -euo pipefail\nsource "{self.state}"\ncd "$(cat "{self.cwd}")"\n'
                f"{body}{save}")

    def run(self, body: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", "-c", self.script(body)], env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{body}\n---\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, body: str, log: Path) -> subprocess.Popen[str]:
        with log.open("w") as out:
            return subprocess.Popen(["bash", "-c", self.script(f"exec {body.strip()}",
                                                              keep=False)],
                                    env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    text=True)

    def folder(self) -> Path:
        return Path(self.cwd.read_text().strip())


@pytest.fixture
def served() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for proc in processes:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _start_serve(terminal: Terminal, body: str, log: Path,
                 served: list[subprocess.Popen[str]]) -> str:
    """Start the page's ``serve`` in the background; its base URL once it listens."""
    proc = terminal.start(body, log)
    served.append(proc)
    line = wait_for(lambda: re.search(r"web UI at (http://\S+?)/ui/", log.read_text())
                    or proc.poll() is not None, 60, "serve to start")
    assert proc.poll() is None and isinstance(line, re.Match), log.read_text()
    return line.group(1)


def _subscribed(base: str) -> Any:
    try:
        realtime = requests.get(f"{base}/healthz", timeout=5).json()["paths"]["realtime"]
    except (requests.RequestException, ValueError, KeyError):
        return None
    return realtime.get("subscribed")


def test_the_getting_started_page_reaches_a_dm_answered_by_the_bot(
        rc_server: Simulator, tmp_path: Path, served: list[subprocess.Popen[str]]) -> None:
    text = PAGE.read_text(encoding="utf-8").replace(SERVER, rc_server.url) \
        .replace(ADMIN_PASSWORD, "admin")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATSD_BOT_", "VIRTUAL"))}
    env.update(HOME=str(tmp_path), PYTHONUNBUFFERED="1", ATSD_BOT_HTTP_PORT="0",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    terminal = Terminal(tmp_path, env)
    page = blocks(text)
    assert [b.lang for b in page].count("sh") >= 4, page
    answer: str | None = None
    base = ""
    for block in page:
        if block.lang == "toml":
            with (terminal.folder() / "atsd-bot.toml").open("a", encoding="utf-8") as file:
                file.write("\n" + block.body)
        elif block.lang == "sh" and block.body.lstrip().startswith("atsd-bot serve"):
            base = _start_serve(terminal, block.body, tmp_path / "serve.log", served)
        elif block.lang == "sh":
            terminal.run(block.body)
        elif block.lang == "text" and base and answer is None:
            answer = block.body.splitlines()[0]
    assert base and answer, "the page runs serve and shows the bot's answer"
    wait_for(lambda: _subscribed(base), 30, "the bot's realtime subscription")
    rc_server.create_user("you", "your-password-1")
    room = rc_server.dm_room("you", "atsd_bot")
    rc_server.post_message("you", room, "help")
    reply = wait_for(lambda: next((m for m in rc_server.messages(room)
                                   if m.get("u", {}).get("username") == "atsd_bot"), None),
                     30, "the bot's answer in the direct message")
    assert reply["msg"].startswith(answer), reply["msg"]
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log and "ERROR" not in log, log
