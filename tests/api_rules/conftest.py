"""An app with the real engine, rules loaded by a RuleSet, the alerts/rules API and the
silences / explain API."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.config import build_settings
from rules.clock import ManualClock
from rules.command import MessageCommand
from rules.definitions.rule_set import RuleSet
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Accepted, Ingestor
from rules.store import Database
from webhook.api import conversation_api
from webhook.api import rules as api_rules
from webhook.app import create_app
from webhook.context import AppContext

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SEED = Path(__file__).resolve().parents[2] / "rules.d" / "seed.yml"

FLIP = """
rules:
  - name: flip
    source: monitor
    condition: "message != 'ok'"
    severity: CRITICAL
    notifications:
      - endpoint: log
        open: 'down: ${message}'
        cancel: 'up again'
  - name: broken_text
    source: broken
    notifications:
      - endpoint: log
        open: 'ratio ${1 / repeat_count}'
"""


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


API = basic("api", "api-pass")
HOOK = basic("hook", "hook-pass")


@dataclass
class Service:
    client: FlaskClient
    engine: RuleEngine
    ruleset: RuleSet
    ingestor: Ingestor
    clock: ManualClock
    rules_dir: Path

    def say(self, message: str, *, source: str = "rocket.chat", entity: str = "rocket.chat",
            **tags: str) -> Accepted:
        command = MessageCommand(entity=entity, type="webhook", source=source,
                                 date=self.clock.now(), message=message,
                                 tags={"channel_id": "ROOM1", "user_name": "alice", **tags})
        return self.ingestor.accept(command, path="api")

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(path, json=body, headers=API if headers is None else headers)

    def get(self, path: str) -> Any:
        return self.client.get(path, headers=API)

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=API)


@pytest.fixture
def service(sqlite_db: Database, tmp_path: Path) -> Service:
    """The app on SQLite (most tests: the API layer does not depend on the store)."""
    return make_service(sqlite_db, tmp_path)


@pytest.fixture
def any_service(db: Database, tmp_path: Path) -> Service:
    """The app on SQLite and on PostgreSQL when reachable (tests that read stored alerts)."""
    return make_service(db, tmp_path)


def make_service(db: Database, tmp_path: Path) -> Service:
    settings = build_settings({
        "users": [{"name": "api", "password": "api-pass", "roles": ["api"]},
                  {"name": "hook", "password": "hook-pass", "roles": ["webhook"]}],
        "rocketchat": {"url": "http://127.0.0.1:3000", "user": "atsd_bot",
                       "password": "bot-pass"},
    }, base_dir=tmp_path)
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    (rules_dir / "seed.yml").write_bytes(SEED.read_bytes())
    (rules_dir / "flip.yml").write_text(FLIP)
    clock = ManualClock(START)
    engine = RuleEngine(db, clock, endpoints=settings.endpoints.keys())
    ruleset = RuleSet([rules_dir], endpoints=settings.endpoints.keys(), engine=engine)
    assert ruleset.reload().ok
    ingestor = Ingestor(db, engine, clock)
    ctx = AppContext(settings=settings, db=db, ingestor=ingestor, clock=clock,
                     engine=engine, ruleset=ruleset)
    app = create_app(ctx, blueprints=[api_rules.bp, conversation_api])
    return Service(app.test_client(), engine, ruleset, ingestor, clock, rules_dir)
