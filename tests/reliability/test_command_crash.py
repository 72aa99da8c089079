"""A crash between receiving a chat command on the webhook path and answering it: the answer
goes out exactly once after the restart, and Rocket.Chat's retry of the same delivery changes
nothing (spec: conversation, section 1).

``atsd-bot serve`` runs as a real process with the Rocket.Chat REST API down, so the answer
cannot leave before the SIGKILL; it is in the outbox (committed with the message's once-only
key before the ``200``). After the restart, with REST up again, it is posted once: the row's
stable ``_id`` makes any resend a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests
from sqlalchemy import select

from rules.store import Database
from rules.store.tables.base import messages
from rules.store.tables.engine import outbox
from tests.reliability.harness import (
    BOT_PASSWORD,
    BOT_USER,
    HOOK_PASSWORD,
    HOOK_TOKEN,
    HOOK_USER,
    WEBHOOK_PATH,
    ServiceProcess,
    free_port,
    wait_until,
    write_config,
)
from tests.rocketchat_server.control import Simulator


def rows(db_url: str) -> list[tuple[str, str]]:
    db = Database(db_url)
    try:
        with db.connect() as conn:
            return [(r.trigger, r.status) for r in conn.execute(
                select(outbox.c.trigger, outbox.c.status).where(outbox.c.rule == "chat"))]
    finally:
        db.dispose()


def stored(db_url: str) -> int:
    db = Database(db_url)
    try:
        with db.connect() as conn:
            return len(conn.execute(select(messages.c.id)).all())
    finally:
        db.dispose()


def test_a_webhook_command_is_answered_once_across_a_crash(
        tmp_path: Path, rc_server_factory: Callable[..., Simulator]) -> None:
    sim = rc_server_factory()
    sim.create_user(BOT_USER, BOT_PASSWORD, roles=("user", "bot"), join_default_channels=False)
    sim.create_user("alice", "alice-pw-1")
    dm = sim.dm_room("alice", BOT_USER)
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'atsd.db'}"
    service = ServiceProcess(write_config(tmp_path, db_url=db_url, sim_url=sim.url, port=port),
                             port, tmp_path)
    body = {"token": HOOK_TOKEN, "bot": False, "channel_id": dm, "message_id": "CrashCmd0000001",
            "timestamp": "2026-01-02T03:04:05.000Z", "user_id": "alice-id",
            "user_name": "alice", "text": "help", "siteUrl": sim.url}

    def deliver() -> dict[str, str]:
        answer = requests.post(service.base_url + WEBHOOK_PATH, json=body,
                               auth=(HOOK_USER, HOOK_PASSWORD), timeout=10)
        assert answer.status_code == 200, answer.text
        found: dict[str, str] = answer.json()
        return found

    def answers() -> list[str]:
        return [m["msg"] for m in sim.messages(dm) if m["u"]["username"] == BOT_USER]

    service.start()  # serve starts only once Rocket.Chat has taken the bot's login
    sim.rest_down(600)  # the answer cannot be posted before the crash
    try:
        assert deliver() == {"status": "command"}  # answered over REST, never in this body
        assert [trigger for trigger, _ in rows(db_url)] == ["reply"]  # waiting in the outbox
        service.kill()
        assert answers() == []
        sim.rest_down(0)
        service.start()
        wait_until(lambda: answers(), 60, "the answer after the restart")
        wait_until(lambda: rows(db_url) == [("reply", "delivered")], 30, "the row delivered")
        # Rocket.Chat retries a delivery whose answer it did not get: no second answer
        assert deliver() == {"status": "duplicate"}
        assert rows(db_url) == [("reply", "delivered")]
        [text] = answers()
        assert text.startswith("I answer these commands")
        assert stored(db_url) == 0  # the command never reached the rules
    finally:
        service.terminate()
