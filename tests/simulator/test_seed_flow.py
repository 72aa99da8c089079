"""The seed's flow end to end: a user's DM to the bot reaches Flask through the seed script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import SEED_SCRIPT, rest_login


@pytest.fixture
def flask_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    app = Flask("receiver")
    seen: list[dict[str, Any]] = []

    @app.post("/api/v1/messages/webhook/rocket.chat")
    def webhook() -> Any:
        auth = request.authorization
        seen.append({
            "args": request.args.to_dict(flat=False),
            "user": auth.username if auth else None,
            "password": auth.password if auth else None,
            "json": request.get_json(silent=True),
        })  # fmt: skip
        return jsonify({"text": f"got: {request.args.get('message')}"})

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1/messages/webhook/rocket.chat", seen
    server.shutdown()
    server.server_close()


def test_dm_to_the_bot_reaches_flask_through_the_seed_script(
    rc_server: Simulator, flask_receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, seen = flask_receiver
    admin = rest_login(rc_server, "admin", "admin")
    for username, roles in (("atsd_bot", ["bot"]), ("jane", ["user"])):
        body = {"username": username, "email": f"{username}@example.com", "name": username,
                "password": f"{username}-pw", "roles": roles}  # fmt: skip
        created = requests.post(f"{rc_server.url}/api/v1/users.create", json=body,
                                headers=admin, timeout=5)  # fmt: skip
        assert created.status_code == 200, created.text
    integration = {
        "type": "webhook-outgoing", "name": "ATSD", "event": "sendMessage", "enabled": True,
        "channel": "@atsd_bot", "urls": [url], "username": "atsd_bot", "scriptEnabled": True,
        "script": SEED_SCRIPT,
    }  # fmt: skip
    hook = requests.post(f"{rc_server.url}/api/v1/integrations.create", json=integration,
                         headers=admin, timeout=5).json()["integration"]  # fmt: skip

    jane = rest_login(rc_server, "jane", "jane-pw")
    typed = requests.post(f"{rc_server.url}/api/v1/chat.postMessage",
                          json={"channel": "@atsd_bot", "text": "cpu high on nurswgvml007"},
                          headers=jane, timeout=5).json()  # fmt: skip
    rid = typed["message"]["rid"]

    rc_server.wait_for(lambda: seen, timeout=5)
    arrived = seen[0]
    assert arrived["args"] == {"message": ["cpu high on nurswgvml007"], "exclude": ["text"]}
    assert (arrived["user"], arrived["password"]) == ("user", "password")
    assert arrived["json"]["text"] == "cpu high on nurswgvml007"
    assert arrived["json"]["user_name"] == "jane" and arrived["json"]["bot"] is False
    assert arrived["json"]["channel_id"] == rid

    rc_server.wait_for(lambda: len(rc_server.messages(rid)) == 2, timeout=5)
    reply = rc_server.messages(rid)[1]
    assert reply["u"]["username"] == "atsd_bot"
    assert reply["msg"] == "got: cpu high on nurswgvml007"
    assert reply["bot"] == {"i": hook["_id"]}
