"""The service in one process: start on a free port, answer webhooks, health, metrics, UI; stop."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.config import build_settings
from bot.service.runtime import Runtime

SEED_RULE = """
rules:
  - name: echo
    source: [rocket.chat]
    window: length(1)
    severity: WARNING
    notifications:
      - endpoint: log
        open: {enabled: true, text: 'User @${tags.user_name} said "${message}"'}
        repeat: {enabled: true, text: 'again: ${message}'}
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / "echo.yml").write_text(SEED_RULE)
    settings = build_settings({
        "http": {"port": 0, "threads": 4},
        "database": {"url": f"sqlite:///{tmp_path / 'atsd.db'}"},
        "users": [{"name": "hook", "password": "hook-pass-1", "roles": ["webhook"]},
                  {"name": "boss", "password": "boss-pass-1", "roles": ["admin", "api"]}],
        "rules": {"paths": [str(rules)]},
    }, base_dir=tmp_path)
    service = Runtime(settings)
    service.start()
    yield service
    service.stop()


def auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def post_message(base: str, text: str) -> requests.Response:
    return requests.post(f"{base}/api/v1/messages/webhook/rocket.chat?command.message=text",
                         json={"text": text, "user_name": "alice", "message_id": text},
                         headers=auth("hook", "hook-pass-1"), timeout=10)


def test_healthz_is_ok_once_listening(runtime: Runtime) -> None:
    answer = requests.get(f"{runtime.base_url}/healthz", timeout=5)
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "ok"
    assert body["paths"]["webhook"]["listening"] == runtime.base_url
    assert body["paths"]["realtime"] == {"configured": False}
    assert body["outbox"]["depth"] == 0 and body["database"]["ok"] is True


def test_a_webhook_opens_an_alert_and_a_notification_is_delivered(runtime: Runtime) -> None:
    assert post_message(runtime.base_url, "hello").status_code == 200
    alerts = runtime.engine.open_alerts() if runtime.engine else []
    assert [a["rule"] for a in alerts] == ["echo"]
    # The sender delivers through the log endpoint; wait on the condition, not on time.
    assert _eventually(lambda: runtime._outbox_status()["depth"] == 0)


def test_metrics_count_requests_commands_and_alerts(runtime: Runtime) -> None:
    post_message(runtime.base_url, "one")
    post_message(runtime.base_url, "one")  # same message id: a duplicate
    # A request is counted once its answer has gone out, a moment after the client has it.
    pattern = re.compile(r'atsdbot_http_requests_total\{method="POST",route="webhook",'
                         r'status="200"\} 2\.0')
    assert _eventually(lambda: bool(pattern.search(
        requests.get(f"{runtime.base_url}/metrics", timeout=5).text)))
    text = requests.get(f"{runtime.base_url}/metrics", timeout=5).text
    assert 'atsdbot_ingest_commands_total{path="webhook"} 1.0' in text
    assert 'atsdbot_ingest_duplicates_total{path="webhook"} 1.0' in text
    assert 'atsdbot_alerts_open{status="unacknowledged"} 1.0' in text
    assert "atsdbot_ingest_seconds_bucket" in text
    assert "atsdbot_realtime_reconnects_total" in text
    # the whole page parses as the Prometheus text format, each family once
    from prometheus_client.parser import text_string_to_metric_families

    names = [family.name for family in text_string_to_metric_families(text)]
    assert len(names) == len(set(names)) and "atsdbot_ingest_seconds" in names


def test_root_and_ui_over_http(runtime: Runtime) -> None:
    session = requests.Session()
    first = session.get(f"{runtime.base_url}/", timeout=5)
    assert first.url.endswith("/ui/login?next=/ui/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.text)
    assert token
    answer = session.post(first.url, data={"username": "boss", "password": "boss-pass-1",
                                           "csrf_token": token.group(1)}, timeout=5)
    assert answer.status_code == 200 and "Overview" in answer.text


def test_ui_login_checks_hashed_passwords_through_the_authenticator(tmp_path: Path) -> None:
    from werkzeug.security import generate_password_hash

    settings = build_settings({
        "http": {"port": 0}, "database": {"url": f"sqlite:///{tmp_path / 'a.db'}"},
        "users": [{"name": "boss", "password_hash": generate_password_hash("h-pass-12"),
                   "roles": ["admin"]}],
        "rules": {"paths": [str(tmp_path)]}}, base_dir=tmp_path)
    service = Runtime(settings)
    service.start()
    try:
        session = requests.Session()
        page = session.get(f"{service.base_url}/ui/login", timeout=5)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        answer = session.post(page.url, data={"username": "boss", "password": "h-pass-12",
                                              "csrf_token": token.group(1)}, timeout=5)
        assert "Overview" in answer.text
    finally:
        service.stop()


def test_stop_drains_and_reports_stopping(runtime: Runtime) -> None:
    post_message(runtime.base_url, "bye")
    runtime.stop()
    assert runtime.health.report()["status"] == "stopping"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{runtime.base_url}/healthz", timeout=2)


def test_a_failing_stop_step_does_not_keep_the_rest_from_stopping(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    assert runtime.server is not None and runtime.db is not None
    server = runtime.server

    def broken() -> None:
        server.__class__.stop(server)  # the sockets close, then the step fails
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(server, "stop", broken)
    disposed: list[bool] = []
    real_dispose = runtime.db.dispose
    monkeypatch.setattr(runtime.db, "dispose", lambda: (disposed.append(True), real_dispose()))
    runtime.stop()
    assert disposed == [True]
    assert "stopping the HTTP server failed" in caplog.text


def test_reload_rules_picks_up_a_new_file(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "rules.d" / "more.yml").write_text(SEED_RULE.replace("name: echo",
                                                                     "name: echo2"))
    runtime.reload_rules()
    assert runtime.ruleset is not None
    assert {r.name for r in runtime.ruleset.rules()} == {"echo", "echo2"}


def _eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll ``check`` until it holds or ``seconds`` pass (a deadline, never a fixed sleep)."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        if check():
            return True
        pause.wait(0.05)
    return check()


def _settings(tmp_path: Path, url: str) -> Any:
    rules = tmp_path / "rules.d"
    rules.mkdir(exist_ok=True)
    (rules / "echo.yml").write_text(SEED_RULE)
    return build_settings({
        "http": {"port": 0, "threads": 2}, "database": {"url": url},
        "users": [{"name": "hook", "password": "hook-pass-1", "roles": ["webhook"]}],
        "rules": {"paths": [str(rules)]}}, base_dir=tmp_path)


@pytest.mark.postgres
def test_two_instances_share_one_postgresql_database(tmp_path: Path, postgres_url: str) -> None:
    first = Runtime(_settings(tmp_path, postgres_url))
    first.start()
    second = Runtime(_settings(tmp_path, postgres_url))
    second.start()
    try:
        assert first.ingestor.runs_engine and not second.ingestor.runs_engine
        # the follower stores; the lease holder processes what it stored
        assert post_message(second.base_url, "via follower").status_code == 200
        assert first.engine is not None
        assert _eventually(lambda: len(first.engine.open_alerts()) == 1)  # type: ignore[union-attr]
        # the holder stops; the follower takes over within its renewal interval
        first.stop()
        assert _eventually(lambda: second.ingestor.runs_engine, seconds=20)
        assert post_message(second.base_url, "after takeover").status_code == 200
        assert second.engine is not None
        alerts = second.engine.open_alerts()
        assert [a["repeatCount"] for a in alerts] == [1]
    finally:
        first.stop()
        second.stop()


def test_health_report_degraded_and_states() -> None:
    from bot.service.health import HealthState

    state = HealthState()
    assert state.report()["status"] == "starting"
    state.mark_webhook_ready("http://x")
    assert state.report()["status"] == "unavailable"  # no database
    state.db = None
    state.realtime_status = lambda: {"configured": True, "connected": False}
    state.webhook_ready = True
    report = state.report()
    assert report["degraded"] == ["realtime"]
    state.realtime_status = lambda: {"configured": True, "active": False}
    assert state.report()["degraded"] == []
    state.realtime_status = lambda: 1 / 0  # type: ignore[assignment]
    assert state.report()["paths"]["realtime"]["error"] == "ZeroDivisionError"
    state.stopping = True
    assert state.report()["status"] == "stopping"
