"""`chat.getMessage` (RC `getSingleMessage`): the message, or the exact refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from tests.rocketchat_server import Simulator
from tests.simulator.living import auth, call, start


@pytest.fixture
def sim(rc_server_factory: Callable[..., Simulator]) -> Simulator:
    return start(rc_server_factory)


def get(sim: Simulator, username: str, **query: str) -> requests.Response:
    return requests.get(f"{sim.url}/api/v1/chat.getMessage", params=query,
                        headers=auth(sim, username), timeout=5)


def test_the_message_comes_back_with_its_edits(sim: Simulator) -> None:
    sent = sim.post_message("bot", "#general", "disk 91%")
    assert call(sim, "bot", "chat.update", roomId=sent["rid"], msgId=sent["_id"],
                text="disk 95%").status_code == 200
    answer = get(sim, "alice", msgId=sent["_id"])
    assert answer.status_code == 200 and answer.json()["success"] is True
    message = answer.json()["message"]
    assert (message["_id"], message["msg"], message["editedBy"]["username"]) == (
        sent["_id"], "disk 95%", "bot")


def test_missing_and_unknown_ids_are_plain_failures(sim: Simulator) -> None:
    missing = get(sim, "alice")
    assert (missing.status_code, missing.json()) == (
        400, {"success": False, "error": 'The "msgId" query parameter must be provided.'})
    unknown = get(sim, "alice", msgId="nope")
    assert (unknown.status_code, unknown.json()) == (400, {"success": False})


def test_a_room_the_caller_cannot_read_is_not_allowed(sim: Simulator) -> None:
    sim.create_channel("secret", members=["bob"], private=True)
    sent = sim.post_message("bob", "#secret", "private words")
    refused = get(sim, "alice", msgId=sent["_id"])
    assert refused.status_code == 400
    assert refused.json()["errorType"] == "error-not-allowed"
    assert "private words" not in refused.text
    assert get(sim, "bob", msgId=sent["_id"]).json()["message"]["msg"] == "private words"
