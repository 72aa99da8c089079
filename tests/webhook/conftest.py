"""A webhook app on a real store with a manual clock, and helpers to call it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from werkzeug.security import generate_password_hash

from bot.config import Settings, build_settings
from rules.clock import ManualClock
from rules.command import MessageCommand
from rules.ingest import Ingestor
from rules.message_keys import BotIdentity
from rules.notification import Notification
from rules.store import Database
from webhook.app import create_app
from webhook.context import AppContext

FIXTURES = Path(__file__).parent / "fixtures"
START = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
RC_TOKEN = "ir7hozblv4"
HASHED_PASSWORD = "hashed-secret-1"
_HASH = generate_password_hash(HASHED_PASSWORD, method="pbkdf2:sha256:1000")


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


HOOK = basic("hook", "hook-pass")
API = basic("api", "api-pass")
ADMIN = basic("admin", "admin-pass")


def rc_payload(name: str = "outgoing-webhook-sendmessage.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def make_settings(**webhook: Any) -> Settings:
    raw: dict[str, Any] = {
        "users": [
            {"name": "hook", "password": "hook-pass", "roles": ["webhook"]},
            {"name": "api", "password": "api-pass", "roles": ["api"]},
            {"name": "admin", "password": "admin-pass", "roles": ["admin"]},
            {"name": "hashed", "password_hash": _HASH, "roles": ["webhook"]},
            {"name": "limited", "password": "limited-pass", "roles": ["webhook"],
             "entities": ["jenkins*"], "paths": ["jenkins*", "ci/*"]},
        ],
        "webhook": {"tokens": {"rocket.chat": RC_TOKEN}, **webhook},
        "rocketchat": {"url": "http://127.0.0.1:3000", "user": "atsd_bot",
                       "password": "bot-pass"},
        "http": {"trusted_proxies": ["10.0.0.0/8"], "max_body_bytes": 65536},
    }
    return build_settings(raw)


@dataclass
class FakeEngine:
    """Replies synchronously to every command whose message starts with ``ping``."""

    seen: list[MessageCommand] = field(default_factory=list)

    def process(self, conn: Connection, command: MessageCommand, message_id: int | None,
                cause: str | None = None) -> list[Notification]:
        self.seen.append(command)
        if not command.message.startswith("ping"):
            return []
        return [Notification(rule="ping", endpoint="rocketchat", trigger="open", text="pong",
                             target={"sync_reply": True}),
                Notification(rule="ping2", endpoint="rocketchat", trigger="open",
                             text="second", target={"sync_reply": True}),
                Notification(rule="other", endpoint="log", trigger="open", text="not me")]

    def after_commit(self) -> None:
        pass

    def after_rollback(self) -> None:
        pass


@dataclass
class Harness:
    ctx: AppContext
    app: Flask
    client: FlaskClient
    clock: ManualClock
    engine: FakeEngine

    def flush(self) -> None:
        """Wait for the request log writer (it writes in the background)."""
        assert self.ctx.request_log.flush()

    def post(self, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.post(url, headers={**HOOK, **(headers or {})}, **kwargs)

    def get(self, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.get(url, headers={**HOOK, **(headers or {})}, **kwargs)

    def debug(self, url: str, **kwargs: Any) -> dict[str, Any]:
        """POST with debug=true; asserts 200 and returns the command."""
        sep = "&" if "?" in url else "?"
        response = self.post(f"{url}{sep}debug=true", **kwargs)
        assert response.status_code == 200, response.get_json()
        data: dict[str, Any] = response.get_json()
        return data


def make_harness(db: Database, settings: Settings | None = None) -> Harness:
    settings = settings or make_settings()
    clock = ManualClock(START)
    engine = FakeEngine()
    # the bot as [rocketchat] names it: the loop guard drops its messages
    ctx = AppContext(settings=settings, db=db, ingestor=Ingestor(db, engine, clock), clock=clock,
                     bot_identity=lambda: BotIdentity(username="atsd_bot"))
    app = create_app(ctx)
    return Harness(ctx=ctx, app=app, client=app.test_client(), clock=clock, engine=engine)


@pytest.fixture
def hx(sqlite_db: Database) -> Iterator[Harness]:
    harness = make_harness(sqlite_db)
    yield harness
    _close(harness)


@pytest.fixture
def hxdb(db: Database) -> Iterator[Harness]:
    """The harness on every store (SQLite, and PostgreSQL when reachable)."""
    harness = make_harness(db)
    yield harness
    _close(harness)


def _close(harness: Harness) -> None:
    harness.ctx.request_log.close()
