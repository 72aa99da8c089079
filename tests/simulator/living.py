"""Shared set-up for the living-alert-message tests (edits, reactions, buttons, threads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from tests.rocketchat_server import Simulator

# An alert as the bot would post it: text plus an attachment with two kinds of buttons.
ACK = {"type": "button", "text": "Acknowledge", "msg": "ack 42", "msg_in_chat_window": True,
       "msg_processing_type": "sendMessage"}  # fmt: skip
RUNBOOK = {"type": "button", "text": "Runbook", "url": "https://wiki.example/runbook",
           "is_webview": False}  # fmt: skip
ALERT_ATTACHMENTS = [{"text": "disk 91% on db1", "color": "#ff0000",
                      "button_alignment": "horizontal", "actions": [ACK, RUNBOOK]}]  # fmt: skip


def start(factory: Callable[..., Simulator], **options: Any) -> Simulator:
    """A simulator without the REST rate limit (these tests call one route many times), with
    alice and bob (role user) and bot (role bot)."""
    sim = factory(rest_rate_limit=None, retry_scale=0.001, **options)
    sim.create_user("alice", "alice-pw")
    sim.create_user("bob", "bob-pw")
    sim.create_user("bot", "bot-pw", roles=("bot",))
    return sim


def auth(sim: Simulator, username: str) -> dict[str, str]:
    user_id, token = sim.login_token(username)
    return {"X-User-Id": user_id, "X-Auth-Token": token}


def call(sim: Simulator, username: str, route: str, **body: Any) -> requests.Response:
    """POST /api/v1/<route> as `username` with a JSON body."""
    return requests.post(f"{sim.url}/api/v1/{route}", json=body, headers=auth(sim, username),
                         timeout=5)  # fmt: skip


def control(sim: Simulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"X-Sim-Admin": sim.options.admin_password}
    return requests.request(method, f"{sim.url}/_sim/{path}", headers=headers, timeout=5, **kwargs)
