"""In one process: instances share UI sessions (the kept key, or one configured key); a reload's
plan."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from bot.service.reload import plan
from bot.service.runtime import Runtime
from tests.operations.conftest import runtime_settings
from tests.rocketchat_server import Simulator


def _login(base: str) -> requests.Session:
    ui = requests.Session()
    page = ui.get(f"{base}/ui/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    done = ui.post(f"{base}/ui/login", timeout=10, data={
        "csrf_token": token.group(1), "username": "boss", "password": "boss-pass-1"})
    assert "Log out" in done.text
    return ui


def test_instances_sharing_the_database_share_ui_sessions(tmp_path: Path,
                                                          runtimes: list[Runtime]) -> None:
    for _ in range(2):
        runtime = Runtime(runtime_settings(tmp_path))
        runtimes.append(runtime)
        runtime.start()
    first, second = runtimes
    assert first.ui_secret and first.ui_secret == second.ui_secret
    session = _login(first.base_url)
    page = session.get(f"{second.base_url}/ui/", timeout=10)
    assert "Log out" in page.text  # the cookie signed by one instance is good at the other
    again = Runtime(runtime_settings(tmp_path, http={"port": 0, "secret_key": "k" * 32}))
    runtimes.append(again)
    again.start()
    assert again.ui_secret == "k" * 32  # the configured key wins


def test_instances_with_their_own_databases_share_sessions_through_secret_key(
        tmp_path: Path, runtimes: list[Runtime]) -> None:
    """Two instances, two SQLite databases, one configured [http] secret_key: a login at
    one is good at the other (the user table is the configuration, the same in both)."""
    for db in ("one.db", "two.db"):
        runtime = Runtime(runtime_settings(tmp_path, db=db,
                                    http={"port": 0, "threads": 2, "secret_key": "s" * 40}))
        runtimes.append(runtime)
        runtime.start()
    first, second = runtimes
    assert first.db is not None and second.db is not None
    assert first.db.safe_url() != second.db.safe_url()
    session = _login(first.base_url)
    assert "Log out" in session.get(f"{second.base_url}/ui/", timeout=10).text
    stranger = Runtime(runtime_settings(tmp_path, db="three.db",
                                 http={"port": 0, "threads": 2, "secret_key": "t" * 40}))
    runtimes.append(stranger)
    stranger.start()
    page = session.get(f"{stranger.base_url}/ui/", timeout=10)
    assert "Log out" not in page.text  # another key: the cookie is worth nothing there


def test_a_reload_applies_the_chat_policy_and_keeps_the_connection(
        tmp_path: Path, runtimes: list[Runtime], rc_server: Simulator) -> None:
    rc_server.create_user("atsd_bot", "bot-pass-1", roles=("user", "bot"))
    chat = {"url": rc_server.url, "user": "atsd_bot",
            "password": "bot-pass-1", "realtime": False, "admins": ["ann"]}
    runtime = Runtime(runtime_settings(tmp_path, rocketchat=chat))
    runtimes.append(runtime)
    runtime.start()
    changed = {**chat, "url": "http://elsewhere:3000", "admins": ["ann", "bob"],
               "channel_messages": "all"}
    new = runtime_settings(tmp_path, rocketchat=changed,
                    endpoints={"oncall": {"kind": "http", "url": "http://hooks.test/x"}})
    assert runtime.reload(lambda: new)
    assert runtime.chat.listener.settings.channel_messages == "all"
    assert runtime.chat.commands.settings.admins == ("ann", "bob")
    assert runtime.settings.rocketchat.url == chat["url"]  # restart-only: kept
    assert "oncall" in runtime.sender.endpoints and "oncall" in runtime.engine.endpoint_names
    assert runtime.ruleset.endpoints == frozenset({"log", "rocketchat", "oncall"})


def test_the_plan_names_restart_keys_and_keeps_them(tmp_path: Path) -> None:
    running = runtime_settings(tmp_path)
    new = runtime_settings(tmp_path, http={"port": 9999, "threads": 2,
                                    "public_url": "https://bot.example.com"},
                    database={"url": "sqlite:///elsewhere.db"}, delivery={"max_attempts": 9},
                    webhook={"tokens": {"rocket.chat": "new-token-1"}})
    change = plan(running, new)
    assert change.restart == ("database.url", "delivery.max_attempts", "http.port")
    assert change.applied == ("http.public_url", "webhook.tokens")
    assert change.effective.http.port == 0 and change.effective.database == running.database
    assert change.effective.http.public_url == "https://bot.example.com"
    assert change.effective.webhook.tokens == {"rocket.chat": "new-token-1"}


def test_adding_the_chat_side_needs_a_restart(tmp_path: Path) -> None:
    running = runtime_settings(tmp_path)
    new = runtime_settings(tmp_path, rocketchat={"url": "http://rc:3000", "user": "b",
                                          "password": "p-123456"})
    change = plan(running, new)
    assert change.effective.rocketchat is None
    assert "rocketchat" in change.restart and "rocketchat" not in change.effective.endpoints
