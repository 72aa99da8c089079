"""docs/getting-started.md, run as written against the Rocket.Chat simulator, to its end.

The page's fenced blocks are taken in order, as a reader would:

- ``sh`` blocks run in bash; exported variables and the working folder carry over from one
  block to the next, as in one terminal. The block that starts ``atsd-bot serve`` runs in
  the background, as the reader leaves it running;
- ``toml`` blocks are added at the end of ``atsd-bot.toml`` in the current folder, as the
  page says;
- ``text`` blocks are what the reader sees. Before ``serve`` they are output shown as an
  example; the first one after ``serve`` is the bot's answer to the direct message, which the
  test then sends as a Rocket.Chat user would (the reader types it); each later one is a
  line the test waits for in serve's log.

A block after ``<!-- test: skip ... -->`` is not run (installing: the test runs this
checkout's ``atsd-bot``). Blocks indented under a list item count the same. Only what depends
on the site differs from the page, its placeholders (``PLACEHOLDERS`` and ``_dynamic``): the
Rocket.Chat address and admin password, atsd-bot's address (serve's, once it listens), the
process id of serve and the admin password ``atsd-bot init`` printed; and
``ATSD_BOT_HTTP_PORT=0`` in the environment, so that the test does not depend on port 8088
being free. After the page, a direct message sent while the bot's realtime stream is held
back is answered through the outgoing integration alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
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
# known once the page has run that far
ATSD_URL = "http://atsd-bot.example.com:8088"
SERVE_PID = "ATSD-BOT-PID"
UI_PASSWORD = "ADMIN-UI-PASSWORD"
T = TypeVar("T")


@dataclass(frozen=True)
class Block:
    lang: str  # sh | toml | text | "stop"
    body: str


def blocks(text: str) -> list[Block]:
    """The page's fenced blocks (indented ones too, dedented), skipped ones left out."""
    found: list[Block] = []
    skip = False
    lines = iter(text.splitlines())
    for line in lines:
        fence = line.lstrip()
        if fence.startswith("<!-- test: skip"):
            skip = True
        elif fence.startswith("```"):
            body = []
            for inner in lines:
                if inner.lstrip().startswith("```"):
                    break
                body.append(inner)
            if not skip:
                found.append(Block(fence[3:].strip(), textwrap.dedent("\n".join(body)) + "\n"))
            skip = False
    return found


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


class Reader:
    """What the test knows while it follows the page: the terminal, serve, the placeholders."""

    def __init__(self, sim: Simulator, home: Path, served: list[subprocess.Popen[str]]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ATSD_BOT_", "VIRTUAL"))}
        env.update(HOME=str(home), PYTHONUNBUFFERED="1", ATSD_BOT_HTTP_PORT="0",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
        self.sim = sim
        self.terminal = Terminal(home, env)
        self.log = home / "serve.log"
        self.served = served
        self.base = ""
        self.ui_password = ""
        self.room = ""
        self.answer = ""
        self.check: dict[str, Any] = {}

    def placeholders(self, body: str) -> str:
        """The block with what the reader fills in from their own site and earlier steps."""
        for placeholder, value in ((ATSD_URL, self.base), (UI_PASSWORD, self.ui_password),
                                   (SERVE_PID, str(self.served[-1].pid) if self.served else "")):
            if placeholder in body:
                assert value, f"{placeholder} is used before the page says where it comes from"
                body = body.replace(placeholder, value)
        return body

    def follow(self, block: Block) -> None:
        if block.lang == "toml":
            with (self.terminal.folder() / "atsd-bot.toml").open("a", encoding="utf-8") as f:
                f.write("\n" + block.body)
        elif block.lang == "sh" and block.body.lstrip().startswith("atsd-bot serve"):
            self.base = _start_serve(self.terminal, block.body, self.log, self.served)
        elif block.lang == "sh":
            done = self.terminal.run(self.placeholders(block.body))
            printed = re.search(r"^admin password: (\S+)$", done.stdout, re.M)
            if printed:
                self.ui_password = printed.group(1)
            if "atsd-bot setup check" in block.body:
                self.check = json.loads(done.stdout)
        elif block.lang == "text" and self.base and not self.answer:
            self.answer = block.body.splitlines()[0]
            self.talk()
        elif block.lang == "text" and self.base:
            for line in block.body.splitlines():
                self.logged(line)

    def logged(self, line: str) -> None:
        wait_for(lambda: line in self.log.read_text(), 30, f"{line!r} in serve's log")

    def talk(self) -> None:
        """Step 7: a user sends ``help`` in a direct message; the page shows the answer."""
        wait_for(lambda: _subscribed(self.base), 30, "the bot's realtime subscription")
        self.sim.create_user("you", "your-password-1")
        self.room = self.sim.dm_room("you", "atsd_bot")
        self.sim.post_message("you", self.room, "help")
        reply = self.answered(1)
        assert reply["msg"].startswith(self.answer), reply["msg"]

    def answered(self, count: int) -> dict[str, Any]:
        """The bot's ``count``-th message in the direct message, once it is there."""
        def mine() -> list[dict[str, Any]]:
            return [m for m in self.sim.messages(self.room)
                    if m.get("u", {}).get("username") == "atsd_bot"]
        return wait_for(lambda: len(mine()) >= count and mine()[count - 1], 30,
                        f"the bot's answer number {count} in the direct message")


def test_the_getting_started_page_runs_to_its_end(
        rc_server: Simulator, tmp_path: Path, served: list[subprocess.Popen[str]]) -> None:
    text = PAGE.read_text(encoding="utf-8").replace(SERVER, rc_server.url) \
        .replace(ADMIN_PASSWORD, "admin")
    assert "<!-- test: stop" not in text, "the test runs the whole page"
    reader = Reader(rc_server, tmp_path, served)
    page = blocks(text)
    assert [b.lang for b in page].count("sh") >= 8, page
    for block in page:
        reader.follow(block)
    assert reader.base and reader.answer, "the page runs serve and shows the bot's answer"
    # the last steps: the integration is in place and setup check saw the probe both ways
    assert reader.check["status"] == "ok", reader.check
    assert reader.check["paths"]["webhook"]["seen"] is True
    assert reader.check["paths"]["realtime"]["seen"] is True
    _answered_through_the_webhook(reader)
    log = reader.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log, log


def _answered_through_the_webhook(reader: Reader) -> None:
    """With the realtime stream held back, the outgoing integration alone brings the message
    and the bot answers it."""
    before = len([m for m in reader.sim.messages(reader.room)
                  if m.get("u", {}).get("username") == "atsd_bot"])
    reader.sim.pause_stream(60.0)
    sent = reader.sim.post_message("you", reader.room, "help")
    reply = reader.answered(before + 1)
    assert reply["msg"].startswith(reader.answer), reply["msg"]
    logged = requests.get(f"{reader.base}/api/v1/webhooks/requests", params={"limit": 100},
                          auth=("admin", reader.ui_password), timeout=10).json()
    mine = [e for e in logged if sent["_id"] in json.dumps(e, default=str)]
    assert mine and mine[-1]["status"] == 200, logged
