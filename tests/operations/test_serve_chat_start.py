"""``serve`` and Rocket.Chat at start: tried again while it does not answer, given up with exit
4 (one line) after ``Runtime.chat_start_seconds``; refused credentials are exit 3 at once.

In service the process gives up within 30 s of its start; these tests set a short give-up
time on their runtime.
"""

from __future__ import annotations

import importlib
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from bot.cli.serve import _start
from bot.config import Settings
from bot.exit_codes import EXIT_OK, EXIT_REJECTED, EXIT_UNAVAILABLE
from bot.service.runtime import CHAT_START_SECONDS, Runtime
from tests.operations.conftest import runtime_settings
from tests.rocketchat_server import Simulator


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(tmp_path: Path, chat: dict[str, Any]) -> Settings:
    return runtime_settings(tmp_path, rocketchat={
        "user": "atsd_bot", "password": "bot-pass-1", "realtime": False, **chat})


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # the module, not the function bot.rest exports under the same name
    monkeypatch.setattr(importlib.import_module("bot.rest.probe"), "RETRY_SECONDS", 0.2)


def test_the_give_up_time_leaves_the_process_start_inside_30_seconds() -> None:
    assert 25.0 <= CHAT_START_SECONDS <= 28.0
    assert Runtime.chat_start_seconds == CHAT_START_SECONDS


def test_an_unreachable_rocketchat_is_given_up_with_exit_4(
        tmp_path: Path, runtimes: list[Runtime], quick_retries: None,
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    settings = _settings(tmp_path, {"url": url})
    runtime = Runtime(settings)
    runtimes.append(runtime)
    runtime.chat_start_seconds = 1.5
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        code = _start(runtime, settings, debug=False)
    assert code == EXIT_UNAVAILABLE
    assert time.monotonic() - started < 10
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith(f"Rocket.Chat at {url} does not answer (connection refused); "
                                "gave up after ")
    assert errors[0].endswith("attempts; start Rocket.Chat or fix rocketchat.url (or remove "
                              "[rocketchat] to run without the chat side)")
    assert "bot-pass-1" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)
    # the first failure said it would try again; the HTTP server was stopped again
    assert "trying again for up to" in caplog.text
    assert runtime.server is not None and runtime._stopped


def test_a_rocketchat_that_answers_later_lets_the_start_go_on(
        tmp_path: Path, runtimes: list[Runtime], quick_retries: None,
        rc_server: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    rc_server.create_user("atsd_bot", "bot-pass-1", roles=("user", "bot"))
    rc_server.force_rate_limit("login", 2)  # as after a few quick restarts: 429, 429, then in
    settings = _settings(tmp_path, {"url": rc_server.url})
    runtime = Runtime(settings)
    runtimes.append(runtime)
    with caplog.at_level(logging.INFO):
        assert _start(runtime, settings, debug=False) is None
    assert "answered 429 to login; credentials not checked now; trying again" in caplog.text
    assert f"at {rc_server.url}: logged in as atsd_bot" in caplog.text


def test_refused_credentials_are_exit_3_without_waiting(
        tmp_path: Path, runtimes: list[Runtime], rc_server: Simulator,
        caplog: pytest.LogCaptureFixture) -> None:
    rc_server.create_user("atsd_bot", "right-password-1", roles=("user", "bot"))
    settings = _settings(tmp_path, {"url": rc_server.url})
    runtime = Runtime(settings)
    runtimes.append(runtime)
    started = time.monotonic()
    assert _start(runtime, settings, debug=False) == EXIT_REJECTED
    assert time.monotonic() - started < runtime.chat_start_seconds / 3
    assert "refused the login of atsd_bot; check rocketchat.user and rocketchat.password" \
        in caplog.text


def test_a_stop_signal_ends_the_wait_for_rocketchat_at_once(
        tmp_path: Path, runtimes: list[Runtime], caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(tmp_path, {"url": f"http://127.0.0.1:{_closed_port()}"})
    runtime = Runtime(settings)
    runtimes.append(runtime)
    waits: list[float] = []

    def stop_during_the_wait(record: logging.LogRecord) -> bool:
        if "trying again for up to" in record.getMessage():
            waits.append(time.monotonic())
            runtime.cancel_start()  # what serve's SIGTERM handler does
        return True

    handler = logging.getLogger("bot.rest.probe")
    handler.addFilter(stop_during_the_wait)
    try:
        with caplog.at_level(logging.INFO):
            code = _start(runtime, settings, debug=False)
    finally:
        handler.removeFilter(stop_during_the_wait)
    assert code == EXIT_OK
    assert waits and time.monotonic() - waits[0] < runtime.chat_start_seconds / 3
    assert "stopped before the start finished" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert runtime._stopped
