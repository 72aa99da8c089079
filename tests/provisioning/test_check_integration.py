"""check_integration with `responses` standing in for Rocket.Chat and for atsd-bot's APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from scripts.check_integration import main
from tests.provisioning.conftest import Outcome, admin_args, calls
from tests.provisioning.fakerc import FakeRocketChat

RC = tuple[FakeRocketChat, responses.RequestsMock]
ATSD = "http://atsd.test"
ARGS = ["--bot-username", "atsd_bot", "--atsd-url", ATSD, "--api-user", "ops",
        "--api-password", "ops-pw", "--poll-interval", "0.01"]


@dataclass
class FakeAtsd:
    """atsd-bot's request log and message store, as the check sees them.

    The probe shows up in the request log from poll ``webhook_at`` on (as ``webhook_entry``)
    and in the message store from query ``stored_at`` on; None means never.
    """

    rc: FakeRocketChat
    webhook_at: int | None = None  # poll number from which the request log shows the probe
    webhook_entry: dict[str, Any] = field(default_factory=lambda: {"outcome": "stored",
                                                                   "status": 200})
    stored_at: int | None = None  # poll number from which the query finds the command
    polls: dict[str, int] = field(default_factory=lambda: {"log": 0, "query": 0})
    realtime: dict[str, Any] = field(default_factory=lambda: {
        "configured": True, "connected": True, "subscribed": True})
    last_event_now: bool = True  # /healthz reports a realtime event at the time it is asked

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.GET, f"{ATSD}/api/v1/webhooks/requests",
                          callback=self._log)
        mock.add_callback(responses.POST, f"{ATSD}/api/v1/messages/query",
                          callback=self._query)
        mock.add_callback(responses.GET, f"{ATSD}/healthz", callback=self._health)

    def _health(self, request: Any) -> tuple[int, dict[str, str], str]:
        realtime = dict(self.realtime)
        if self.last_event_now:
            realtime["last_event"] = datetime.now(UTC).isoformat()
        return 200, {}, json.dumps({"status": "ok", "paths": {"realtime": realtime}})

    def _probe_id(self) -> str | None:
        return f"msg{self.rc.counter:014d}" if self.rc.posted else None

    def _log(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.polls["log"] += 1
        entries = [{"id": 1, "path": "/api/v1/messages/webhook/x", "body": "{}",
                    "outcome": "stored", "status": 200}]
        probe = self._probe_id()
        if probe and self.webhook_at is not None and self.polls["log"] >= self.webhook_at:
            entries.insert(0, {"id": 2, "body": json.dumps({"message_id": probe}),
                               **self.webhook_entry})
        return 200, {}, json.dumps(entries)

    def _query(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.polls["query"] += 1
        query = json.loads(request.body)
        probe = self._probe_id()
        found = (probe is not None and query[0]["tags"] == {"message_id": probe}
                 and self.stored_at is not None and self.polls["query"] >= self.stored_at)
        return 200, {}, json.dumps([{"tags": {"message_id": probe}}] if found else [])


@pytest.fixture
def atsd(rc: RC) -> FakeAtsd:
    fake, mock = rc
    fake.add_user("atsd_bot", "pw", roles=["bot"])
    atsd = FakeAtsd(fake)
    atsd.install(mock)
    return atsd


def test_webhook_first_is_timed_and_realtime_heard_untimed(
        rc: RC, atsd: FakeAtsd, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    atsd.webhook_at = 3
    result = run_script(main, admin_args(*ARGS, "--realtime", "require"))
    assert result.code == 0, result.err
    doc = result.doc
    (posted,) = fake.posted
    assert posted["text"].startswith("atsd-bot self-test ")
    assert posted["roomId"] == doc["probe"]["room_id"]
    webhook = doc["paths"]["webhook"]
    assert webhook["seen"] is True and webhook["outcome"] == "stored" and webhook["rtt_ms"] >= 0
    realtime = doc["paths"]["realtime"]
    assert realtime["seen"] is True and realtime["rtt_ms"] is None
    assert "not timed" in realtime["note"]
    assert realtime["health"]["subscribed"] is True
    # atsd-bot is asked with Basic credentials, and its log is read before posting
    first = calls(mock)[0]
    assert first.path == "/api/v1/webhooks/requests?limit=100"
    assert first.headers["Authorization"].startswith("Basic ")
    dm = next(c for c in calls(mock) if c.path == "/api/v1/dm.create")
    assert dm.body == {"username": "atsd_bot"}


def test_realtime_first_is_credited(rc: RC, atsd: FakeAtsd,
                                    run_script: Callable[..., Outcome]) -> None:
    atsd.stored_at = 2
    atsd.webhook_at = 4
    atsd.webhook_entry = {"outcome": "duplicate", "status": 200}
    result = run_script(main, admin_args(*ARGS, "--realtime", "require"))
    assert result.code == 0, result.err
    paths = result.doc["paths"]
    assert paths["realtime"]["seen"] is True and paths["webhook"]["outcome"] == "duplicate"
    assert "realtime: arrived in" in result.err and "webhook: arrived in" in result.err


def test_realtime_off_skips_it(rc: RC, atsd: FakeAtsd, run_script: Callable[..., Outcome]) -> None:
    atsd.webhook_at = 1
    result = run_script(main, admin_args(*ARGS, "--realtime", "off"))
    assert result.code == 0
    assert list(result.doc["paths"]) == ["webhook"]
    assert atsd.polls["query"] == 0


def _error(result: Outcome) -> str:
    assert result.out == "" and "Traceback" not in result.err
    return result.err.splitlines()[-1]


def test_refused_webhook_request_names_the_fix(rc: RC, atsd: FakeAtsd,
                                               run_script: Callable[..., Outcome]) -> None:
    atsd.webhook_at = 1
    atsd.webhook_entry = {"outcome": "rejected", "status": 401, "error": "wrong password"}
    result = run_script(main, admin_args(*ARGS))
    assert result.code == 3
    assert "HTTP 401: wrong password" in _error(result)
    assert "[[users]]" in _error(result)


def test_probe_not_seen(rc: RC, atsd: FakeAtsd, run_script: Callable[..., Outcome]) -> None:
    result = run_script(main, admin_args(*ARGS, "--wait", "0.05", "--realtime", "require"))
    assert result.code == 6
    line = _error(result)
    assert "webhook path did not see the probe" in line and "realtime path" in line


def test_api_user_refused(rc: RC, atsd: FakeAtsd, run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    mock.replace(responses.GET, f"{ATSD}/api/v1/webhooks/requests", status=401,
                 json={"error": "unauthorized"})
    result = run_script(main, admin_args(*ARGS))
    assert result.code == 3 and "--api-user" in _error(result)
    assert fake.posted == []  # nothing was posted


def test_atsd_unreachable(rc: RC, run_script: Callable[..., Outcome]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _, mock = rc
    mock.add_passthru(f"http://127.0.0.1:{port}")
    argv = [a if a != ATSD else f"http://127.0.0.1:{port}" for a in ARGS]
    result = run_script(main, admin_args(*argv))
    assert result.code == 4 and "cannot reach atsd-bot" in _error(result)


def test_dry_run_posts_nothing(rc: RC, atsd: FakeAtsd,
                               run_script: Callable[..., Outcome]) -> None:
    fake, mock = rc
    result = run_script(main, admin_args(*ARGS, "--dry-run"))
    assert result.code == 0 and result.doc["status"] == "planned"
    assert fake.posted == []
    assert not any(c.path in ("/api/v1/dm.create", "/api/v1/chat.postMessage")
                   for c in calls(mock))


def test_realtime_not_running(rc: RC, atsd: FakeAtsd,
                              run_script: Callable[..., Outcome]) -> None:
    atsd.webhook_at = 1
    atsd.realtime = {"configured": False}
    atsd.last_event_now = False
    auto = run_script(main, admin_args(*ARGS))
    assert auto.code == 0, auto.err
    assert auto.doc["paths"]["realtime"] == {"seen": False, "health": {"configured": False},
                                             "note": "realtime is not running (see health)"}
    required = run_script(main, admin_args(*ARGS, "--realtime", "require"))
    assert required.code == 6 and "realtime path did not see" in _error(required)


def test_an_old_realtime_event_does_not_count(rc: RC, atsd: FakeAtsd,
                                              run_script: Callable[..., Outcome]) -> None:
    atsd.webhook_at = 1
    atsd.last_event_now = False
    atsd.realtime["last_event"] = "2020-01-01T00:00:00.000Z"
    result = run_script(main, admin_args(*ARGS, "--wait", "0.1", "--realtime", "require"))
    assert result.code == 6 and "realtime path did not see" in _error(result)
