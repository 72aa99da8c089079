"""Fixtures for the simulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import Receiver, receiver_fixture


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_fixture()


@pytest.fixture
def sim(rc_server: Simulator) -> Simulator:
    """A simulator with the users most tests talk as: alice, and a bot (role ``bot``)."""
    rc_server.create_user("alice", "alice-pw")
    rc_server.create_user("bot", "bot-pw", roles=("bot",))
    return rc_server
