"""A UI app over a real store, with fakes for the engine-side callables the pages use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from bot.config import build_settings
from rules.clock import SystemClock
from rules.command import MessageCommand, utcnow
from rules.engine.rule_engine import RuleEngine
from rules.silences import facts_of
from rules.store import Database
from rules.store.tables import base as schema
from rules.store.tables import engine as es
from webhook.ui import RuleFileCheck, UiServices, install

ADMIN = ("operator", "op-secret-pass")
SECRET_TOKEN = "tok-s3cr3t-value-42"


@dataclass
class Calls:
    replayed: list[int] = field(default_factory=list)
    acked: list[tuple[int, bool]] = field(default_factory=list)
    dry: list[tuple[str, list[MessageCommand]]] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    resolved: list[tuple[int, str, str]] = field(default_factory=list)


def settings() -> Any:
    return build_settings({
        "users": [
            {"name": ADMIN[0], "password": ADMIN[1], "roles": ["admin"]},
            {"name": "rocketchat", "password": "webhook-pass-9", "roles": ["webhook"]},
        ],
        "webhook": {"tokens": {"rocket.chat": SECRET_TOKEN}},
    })


def seed(db: Database) -> dict[str, int]:
    now = utcnow()
    with db.begin() as conn:
        msg = conn.execute(insert(schema.messages).values(
            received_at=now, date=now, entity="rocket.chat", type="webhook",
            source="rocket.chat", severity=None, message="hello <b>@atsd_bot</b>",
            tags={"user_name": "alice", "channel_id": "GENERAL"}, path="webhook",
            processed=True)).inserted_primary_key[0]  # type: ignore[index]
        req = conn.execute(insert(schema.webhook_requests).values(
            received_at=now, method="POST",
            path="/api/v1/messages/webhook/rocket.chat?command.message=text"
                 f"&token={SECRET_TOKEN}",
            remote_addr="127.0.0.1", user="rocketchat", content_type="application/json",
            size=80, body=json.dumps({"text": "hello", "token": SECRET_TOKEN}),
            headers={"Authorization": "Basic cm9ja2V0Y2hhdDp3ZWJob29rLXBhc3MtOQ==",
                     "Content-Type": "application/json"},
            command={"entity": "rocket.chat", "message": "hello", "tags": {}},
            message_id=msg, outcome="stored", status=200)).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(insert(schema.security_incidents).values(
            at=now, remote_addr="10.0.0.9", path="/api/v1/messages/webhook/x",
            user="mallory", reason="wrong password"))
        alert = conn.execute(insert(es.alerts).values(
            rule="rocketchat-reply", window_key="k1", entity="rocket.chat",
            tags={"channel_id": "GENERAL"}, metric="message", severity=3, open_time=now,
            last_event_time=now, repeat_count=0, acknowledged=False,
            text_value="hello @atsd_bot")).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(insert(es.alerts).values(
            rule="rocketchat-reply", window_key="k0", entity="old", tags={},
            metric="message", severity=5, open_time=now - timedelta(hours=2),
            last_event_time=now - timedelta(hours=1), close_time=now - timedelta(minutes=50),
            repeat_count=2, text_value="bye", close_reason="CANCEL"))
        conn.execute(insert(es.rule_windows).values(
            rule="rocketchat-reply", key="k1", fingerprint="f", entity="rocket.chat",
            tags={}, status="OPEN", count=1, repeat_count=0, alert_id=alert,
            last_command={"message": "hello @atsd_bot"}, entries=[], counters={},
            updated_at=now))
        out = conn.execute(insert(es.outbox).values(
            created_at=now, due_at=now, next_attempt_at=now, rule="rocketchat-reply",
            endpoint="rocketchat", trigger="open", alert_id=alert, text="User /@alice said",
            target={"room_id": "GENERAL"}, status="failed", attempts=5,
            last_error="HTTP 500 from Rocket.Chat")).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(insert(es.outbox_attempts).values(
            outbox_id=out, at=now, outcome="failed", status_code=500, error="boom",
            duration_ms=12))
    return {"message": int(msg), "request": int(req), "alert": int(alert), "outbox": int(out)}


def make_services(db: Database, calls: Calls) -> UiServices:
    def acknowledge(alert_id: int, value: bool, **_who: str) -> bool:
        calls.acked.append((alert_id, value))
        with db.begin() as conn:
            done = conn.execute(update(es.alerts).where(es.alerts.c.id == alert_id)
                                .where(es.alerts.c.close_time.is_(None))
                                .values(acknowledged=value)).rowcount
        return bool(done)

    def resolve(alert_id: int, *, by: str, reason: str = "") -> bool:
        with db.begin() as conn:
            done = conn.execute(update(es.alerts).where(es.alerts.c.id == alert_id)
                                .where(es.alerts.c.close_time.is_(None))
                                .values(close_time=utcnow(), close_reason="RESOLVED")).rowcount
        if done:
            calls.resolved.append((alert_id, by, reason))
        return bool(done)

    def check(name: str, content: bytes) -> RuleFileCheck:
        if b"length(0)" in content:
            return RuleFileCheck(ok=False, errors=[f"{name}: rule 'bad': window: length(0)"])
        return RuleFileCheck(ok=True, rules=["good"])

    def import_rules(name: str, content: bytes) -> RuleFileCheck:
        calls.imported.append(name)
        result = check(name, content)
        return RuleFileCheck(ok=result.ok, rules=result.rules, errors=result.errors,
                             imported=result.ok, path=f"rules.d/{name}")

    def dry_run(rule: str, commands: Any) -> Any:
        if rule != "rocketchat-reply":
            raise LookupError(f"no rule named {rule!r}")
        calls.dry.append((rule, list(commands)))
        return {"steps": [{"command": c.to_json(),
                           "stages": [{"stage": "filter", "decision": "passed"}],
                           "notifications": [{"trigger": "open", "endpoint": "rocketchat",
                                              "text": f"User said \"{c.message}\""}]}
                          for c in commands]}

    def retry(outbox_id: int) -> bool:
        calls.retried.append(outbox_id)
        with db.connect() as conn:
            row = conn.execute(select(es.outbox.c.status).where(es.outbox.c.id == outbox_id)
                               ).first()
        return row is not None and row.status != "delivered"

    def replay(request_id: int) -> dict[str, Any]:
        calls.replayed.append(request_id)
        return {"status": 200, "outcome": "duplicate", "request_id": request_id}

    # silences are the real engine's: a store-backed engine without rules
    engine = RuleEngine(db, SystemClock())
    return UiServices(
        db=db, settings=settings(), replay=replay, acknowledge=acknowledge, resolve=resolve,
        list_silences=lambda ended: engine.list_silences(include_ended=ended),
        create_silence=lambda matchers, span, author, comment: engine.create_silence(
            matchers, span, author=author, comment=comment),
        expire_silence=lambda silence_id, by: engine.expire_silence(silence_id, by=by)[0],
        silence_of=lambda row: getattr(engine.silence_covering(facts_of(row), utcnow()), "id",
                                       None),
        list_rules=lambda: [{"name": "rocketchat-reply", "enabled": True, "window": "length(1)",
                             "condition": "true", "severity": "WARNING", "origin": "seed.yml"}],
        validate_rules=check, import_rules=import_rules,
        export_rules=lambda: "<rules><rule><name>rocketchat-reply</name></rule></rules>",
        dry_run=dry_run, retry_notification=retry,
        health=lambda: {"status": "ok", "degraded": [], "paths": {
            "webhook": {"ready": True, "listening": "http://127.0.0.1:1"},
            "realtime": {"configured": False}}, "outbox": {"depth": 0}, "database": {"ok": True}},
        versions={"atsd-bot": "0.1.0"},
    )


@pytest.fixture
def calls() -> Calls:
    return Calls()


def make_app(db: Database, calls: Calls) -> Flask:
    app = Flask("ui-test")
    install(app, make_services(db, calls), secret_key="test-only-key")
    app.extensions["seed"] = seed(db)
    return app


@pytest.fixture
def ui_app(sqlite_db: Database, calls: Calls) -> Flask:
    """Pages over SQLite; ``pg_client`` runs the store-reading pages on PostgreSQL too
    (one database for the module: creating one per test costs seconds)."""
    return make_app(sqlite_db, calls)


@pytest.fixture(scope="module")
def pg_app() -> Iterator[Flask]:
    from tests.conftest import _fresh_postgres_url, postgres_available

    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    for url in _fresh_postgres_url():
        database = Database(url)
        database.create_schema()
        yield make_app(database, Calls())
        database.dispose()


@pytest.fixture
def pg_client(pg_app: Flask) -> FlaskClient:
    return pg_app.test_client()


@pytest.fixture
def client(ui_app: Flask) -> FlaskClient:
    return ui_app.test_client()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: FlaskClient) -> str:
    page = client.get("/ui/login").get_data(as_text=True)
    answer = client.post("/ui/login", data={"username": ADMIN[0], "password": ADMIN[1],
                                            "csrf_token": csrf_of(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return csrf_of(client.get("/ui/").get_data(as_text=True))
