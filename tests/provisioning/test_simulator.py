"""Both provisioning scripts against the Rocket.Chat simulator, then a DM reaching atsd-bot.

The receiver is atsd-bot's real webhook app (``webhook.app.create_app``) on an ephemeral
port, configured from the lines the integration script printed: the test proves that what an
admin copies from the JSON summary is what makes the integration work.
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from bot.config import build_settings
from bot.rest.client import RestClient
from rules.ingest import Ingestor
from rules.store import Database
from rules.store.tables import base as schema
from scripts import check_integration, create_bot_user, create_outgoing_integration
from tests.provisioning.conftest import Outcome
from tests.rocketchat_server.control import Simulator
from webhook.app import create_app
from webhook.context import AppContext

BOT = "atsd_bot"


@dataclass
class Receiver:
    """A WSGI server whose app is plugged in once the config lines are known."""

    server: BaseWSGIServer
    app: Any = None
    db: Database | None = None
    hits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.hits.append(environ.get("PATH_INFO", ""))
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": "not configured yet"}']
        return self.app(environ, start_response)

    def configure(self, config_lines: dict[str, str], db_path: Path) -> None:
        raw = tomllib.loads(config_lines["users"] + config_lines["webhook.tokens"])
        raw["users"].append({"name": "ops", "password": "ops-pw", "roles": ["api"]})
        raw["database"] = {"url": f"sqlite:///{db_path}"}
        settings = build_settings(raw)
        self.db = Database(settings.database.url)
        self.db.create_schema()
        ctx = AppContext(settings=settings, db=self.db, ingestor=Ingestor(self.db))
        self.app = create_app(ctx)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["r"](e, s), threaded=True)
    holder["r"] = receiver = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    thread.join(timeout=10)
    if receiver.db is not None:
        receiver.db.dispose()


def _admin(sim: Simulator, *extra: str) -> list[str]:
    return ["--server", sim.url, "--admin-user", "admin", "--admin-password", "admin", *extra]


def _stored(db: Database, message_id: str) -> list[Any]:
    with db.connect() as conn:
        rows = conn.execute(select(schema.messages)).all()
    return [r for r in rows if (r.tags or {}).get("message_id") == message_id]


def _wait(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll a condition against a deadline (the receiver runs in another thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def test_provision_twice_then_a_dm_reaches_atsd_bot(
        rc_server: Simulator, receiver: Receiver, tmp_path: Path,
        run_script: Callable[..., Outcome]) -> None:
    sim = rc_server
    user_argv = _admin(sim, "--bot-username", BOT, "--bot-password", "bot-pw-1")
    first = run_script(create_bot_user.main, user_argv)
    assert first.code == 0, first.err
    assert first.doc["status"] == "created"
    second = run_script(create_bot_user.main, user_argv)
    assert second.code == 0, second.err
    assert (second.doc["status"], second.doc["changes"]) == ("unchanged", [])
    bot_id = first.doc["user"]["_id"]
    bot = RestClient.with_password(sim.url, "admin", "admin").users_info(username=BOT)
    assert bot is not None and bot["_id"] == bot_id and bot["roles"] == ["bot"]
    assert bot["active"] is True and bot["emails"][0]["verified"] is True
    RestClient.with_password(sim.url, BOT, "bot-pw-1")  # the bot can log in

    hook_argv = _admin(sim, "--bot-username", BOT, "--webhook-url", receiver.url,
                       "--webhook-user", "rocketchat", "--webhook-password", "hook&pw#1")
    created = run_script(create_outgoing_integration.main, hook_argv)
    assert created.code == 0, created.err
    assert created.doc["status"] == "created"
    again = run_script(create_outgoing_integration.main, hook_argv)
    assert again.code == 0, again.err
    assert (again.doc["status"], again.doc["changes"]) == ("unchanged", [])
    assert again.doc["atsd_bot_config"]["webhook.tokens"] == \
        created.doc["atsd_bot_config"]["webhook.tokens"]
    stored = sim.integration(created.doc["integration"]["_id"])
    assert stored["channel"] == [f"@{BOT}"] and stored["username"] == BOT
    assert not stored.get("scriptError")

    receiver.configure(created.doc["atsd_bot_config"], tmp_path / "atsd.db")
    sim.create_user("alice", "alice-pw")
    text = "disk full on db-1 & 50% #ops"
    posted = sim.post_message("alice", f"@{BOT}", text)
    assert receiver.db is not None
    db = receiver.db
    rows = _wait(lambda: _stored(db, posted["_id"]))
    assert len(rows) == 1, (receiver.hits, sim.deliveries[-1:])
    row = rows[0]
    assert (row.entity, row.type, row.source) == ("rocket.chat", "webhook", "rocket.chat")
    assert row.message == text  # intact: the text never travelled in the URL
    assert row.path == "webhook"
    assert row.tags["user_name"] == "alice" and row.tags["channel_id"] == posted["rid"]
    assert "text" not in row.tags and "token" not in row.tags
    (delivery,) = sim.wait_for(lambda: [d for d in sim.deliveries if d.get("status")])
    assert delivery["status"] == 200 and delivery["method"] == "POST"
    assert delivery["url"] == created.doc["integration"]["url"]  # nothing added to the URL
    assert "hook&pw" not in delivery["url"]  # Basic credentials, never in the URL
    assert delivery["auth"] == "rocketchat:hook&pw#1"

    # the self-test sees the same path work
    check = run_script(check_integration.main, _admin(
        sim, "--bot-username", BOT, "--atsd-url", receiver.url, "--api-user", "ops",
        "--api-password", "ops-pw", "--realtime", "off", "--wait", "10",
        "--poll-interval", "0.05"))
    assert check.code == 0, check.err
    assert check.doc["paths"]["webhook"]["seen"] is True
    assert check.doc["paths"]["webhook"]["outcome"] == "stored"


def test_token_needs_the_permission_and_a_rerun_finishes(
        rc_server: Simulator, run_script: Callable[..., Outcome]) -> None:
    sim = rc_server
    argv = _admin(sim, "--bot-username", BOT, "--bot-password", "bot-pw",
                  "--token-name", "atsd-bot")
    failed = run_script(create_bot_user.main, argv)
    assert failed.code == 3, failed.err
    assert "create-personal-access-tokens" in failed.err.splitlines()[-1]
    # the user exists now; once the bot may create tokens (here: the user role, which has
    # the permission by default), a re-run finishes the job
    admin = RestClient.with_password(sim.url, "admin", "admin")
    user = admin.users_info(username=BOT)
    assert user is not None
    admin.users_update(user["_id"], roles=["bot", "user"])
    done = run_script(create_bot_user.main, argv)
    assert done.code == 0, done.err
    token = done.doc["token"]["token"]
    as_bot = RestClient.with_token(sim.url, user["_id"], token)
    assert as_bot.users_info(username=BOT) is not None  # the token authenticates
    assert run_script(create_bot_user.main, argv).doc["status"] == "unchanged"


def test_two_factor_admin_and_wrong_password(rc_server: Simulator,
                                             run_script: Callable[..., Outcome]) -> None:
    sim = rc_server
    sim.create_user("boss", "boss-pw", roles=("admin",), two_factor=True)
    result = run_script(create_bot_user.main, [
        "--server", sim.url, "--admin-user", "boss", "--admin-password", "boss-pw",
        "--bot-username", BOT])
    assert result.code == 3 and "two-factor" in result.err.splitlines()[-1]
    wrong = run_script(create_bot_user.main, [
        "--server", sim.url, "--admin-user", "admin", "--admin-password", "nope",
        "--bot-username", BOT])
    assert wrong.code == 3 and "credentials" in wrong.err.splitlines()[-1]


def test_admin_without_permission(rc_server: Simulator,
                                  run_script: Callable[..., Outcome]) -> None:
    sim = rc_server
    sim.create_user("carol", "carol-pw")
    result = run_script(create_bot_user.main, [
        "--server", sim.url, "--admin-user", "carol", "--admin-password", "carol-pw",
        "--bot-username", BOT])
    assert result.code == 3, result.err
    assert "permission" in result.err.splitlines()[-1]
    hook = run_script(create_outgoing_integration.main, [
        "--server", sim.url, "--admin-user", "carol", "--admin-password", "carol-pw",
        "--bot-username", "carol", "--webhook-url", "http://127.0.0.1:9",
        "--webhook-user", "u", "--webhook-password", "p"])
    assert hook.code == 3 and "permission" in hook.err.splitlines()[-1]


def test_two_factor_admin_with_a_code(rc_server: Simulator,
                                      run_script: Callable[..., Outcome]) -> None:
    sim = rc_server
    sim.create_user("boss", "boss-pw", roles=("admin",), two_factor=True)

    def as_boss() -> list[str]:
        return ["--server", sim.url, "--admin-user", "boss", "--admin-password", "boss-pw",
                "--admin-2fa-code", sim.totp_code("boss"), "--bot-username", BOT]

    assert run_script(create_bot_user.main, as_boss()).doc["status"] == "created"
    admin = RestClient.with_password(sim.url, "admin", "admin")
    user = admin.users_info(username=BOT)
    assert user is not None
    admin.users_update(user["_id"], active=False)  # answered by the password fallback
    result = run_script(create_bot_user.main, as_boss())  # users.update is a 2FA route
    assert result.code == 0, result.err
    assert result.doc["changes"] == ["set active"]
    assert admin.users_info(username=BOT)["active"] is True  # type: ignore[index]


def test_the_script_works_on_a_current_server(
        rc_server_factory: Callable[..., Simulator], receiver: Receiver, tmp_path: Path,
        run_script: Callable[..., Outcome]) -> None:
    """Current servers throw when the script returns no headers and ignore `content`."""
    sim = rc_server_factory(strict_script_result=True)
    assert run_script(create_bot_user.main, _admin(sim, "--bot-username", BOT)).code == 0
    created = run_script(create_outgoing_integration.main, _admin(
        sim, "--bot-username", BOT, "--webhook-url", receiver.url, "--webhook-user", "rc",
        "--webhook-password", "pw"))
    assert created.code == 0, created.err
    receiver.configure(created.doc["atsd_bot_config"], tmp_path / "atsd.db")
    sim.create_user("alice", "alice-pw")
    posted = sim.post_message("alice", f"@{BOT}", "hello & welcome")
    assert receiver.db is not None
    db = receiver.db
    rows = _wait(lambda: _stored(db, posted["_id"]))
    assert [r.message for r in rows] == ["hello & welcome"], sim.deliveries


def test_random_password_then_token_refused_is_finished_by_a_rerun(
        rc_server: Simulator, run_script: Callable[..., Outcome]) -> None:
    """The random first password is lost; the re-run sets the given one, then the token."""
    sim = rc_server
    failed = run_script(create_bot_user.main, _admin(sim, "--bot-username", BOT,
                                                     "--token-name", "t"))
    assert failed.code == 3
    assert failed.err.splitlines()[-1].endswith("re-run with --bot-password")
    admin = RestClient.with_password(sim.url, "admin", "admin")
    user = admin.users_info(username=BOT)
    assert user is not None
    admin.users_update(user["_id"], roles=["bot", "user"])
    done = run_script(create_bot_user.main, _admin(sim, "--bot-username", BOT,
                                                   "--bot-password", "new-pw",
                                                   "--token-name", "t"))
    assert done.code == 0, done.err
    assert done.doc["changes"] == ["set password"] and done.doc["token"]["created"] is True
