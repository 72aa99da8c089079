"""``make run`` non-interactively: the same steps, and the bot's reply in the simulator's room.

``atsd-bot demo run --once`` starts the simulator, provisions with the real scripts, starts
``atsd-bot serve`` and posts "hello @atsd_bot"; it stops after the bot's first reply. The
reply is then checked independently, in the room the simulator keeps (its control API), and
the service's own view (the stored command, the open alert) through atsd-bot's API.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bot.demo.run import BOT, FIRST_MESSAGE, USER, run_demo

ROOT = Path(__file__).resolve().parents[2]
REPLY = f'User /@{USER} said "{FIRST_MESSAGE}"'


def test_demo_shows_the_whole_loop(tmp_path: Path) -> None:
    printed: list[str] = []
    conversation = run_demo(tmp_path / "demo", once=True, timeout=60, out=printed.append)
    assert conversation is not None
    kinds = [line.kind for line in conversation.lines]
    # the user's message, the command, the alert and the reply, in the order they happen
    assert kinds[:4] == ["said", "command", "alert", "reply"], printed
    assert conversation.replies()[0].data["msg"] == REPLY
    assert conversation.replies()[0].data["u"]["username"] == BOT
    command = next(line.data for line in conversation.lines if line.kind == "command")
    assert command["entity"] == "rocket.chat" and command["message"] == FIRST_MESSAGE
    assert command["tags"]["user_name"] == USER
    # one message arrived on two paths (webhook and realtime): one command, one alert
    assert kinds.count("command") == 1 and kinds.count("alert") == 1
    banner = "\n".join(printed)
    assert "/ui/" in banner and "log in as admin / " in banner


def test_demo_run_command_and_the_room(tmp_path: Path) -> None:
    """The CLI as ``make run`` calls it; afterwards the room (saved state) holds the reply."""
    directory = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "run", "--once",
                           "--dir", str(directory), "--timeout", "60"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"@{BOT} replies in the room: {REPLY}" in done.stdout
    # the second act: one alert's life as a living message in #ops, printed as seen there
    act = done.stdout.split("the living alert message, in #ops:")[1]
    assert "disk /var is" not in act and "db1 /var is 97 % full  (edited)" in act
    # a click carries no reason; the alert lasted the act's few seconds, not "0s"
    assert re.search(r"— acknowledged by @alice · resolved after [3-9]s\n", act), act
    assert "3 replies in the thread:" in act and "db1 /var is back to 42 %" in act
    # the demo's state is gone with it ('say' then says there is no demo) ...
    assert not (directory / "demo.json").exists()
    # ... and the simulator and the service it started no longer answer
    urls = re.findall(r"(http://127\.0\.0\.1:\d+)", done.stdout)
    assert len(set(urls)) >= 2
    for url in set(urls):
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/", timeout=2)
    # the config written for serve is private to its owner
    assert (directory / "atsd-bot.toml").stat().st_mode & 0o077 == 0


def test_demo_say_without_a_running_demo_explains(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "say", "hi",
                           "--dir", str(tmp_path / "none")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no running demo found" in done.stderr


def test_demo_keeps_running_and_prints_each_further_exchange(tmp_path: Path) -> None:
    import threading
    import time

    directory = tmp_path / "demo"
    printed: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=run_demo, args=(directory,),
                              kwargs={"out": printed.append, "stop": stop}, daemon=True)
    worker.start()

    def wait_for(needle: str) -> None:
        deadline = time.monotonic() + 60
        while not any(needle in line for line in printed):
            assert time.monotonic() < deadline, "\n".join(printed)
            assert worker.is_alive(), "\n".join(printed)
            stop.wait(0.05)

    try:
        wait_for(f"replies in the room: {REPLY}")
        said = subprocess.run([sys.executable, "-m", "bot", "demo", "say", "disk full on db1",
                               "--dir", str(directory)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert said.returncode == 0, said.stderr
        wait_for(f'replies in the room: User /@{USER} said "disk full on db1"')
        assert any("alert #1 repeated (1)" in line for line in printed), "\n".join(printed)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
