"""The self-test against a running `atsd-bot serve` (webhook and realtime) and the simulator.

The service is started the way the demo starts it (real provisioning scripts, config from
their output); the check then has to see its probe through the webhook path and report the
realtime path: timed when realtime stored it first, heard but untimed when the webhook did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.demo.setup import DemoProcesses, DemoState, provision_and_start
from scripts import check_integration
from tests.provisioning.conftest import Outcome


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DemoState]:
    processes = DemoProcesses(tmp_path, out=lambda line: None)
    try:
        yield provision_and_start(processes, bot="atsd_bot", user="alice")
    finally:
        processes.stop()


def test_check_sees_both_paths_of_a_running_service(
        service: DemoState, run_script: Callable[..., Outcome]) -> None:
    result = run_script(check_integration.main, [
        "--server", service.sim_url, "--admin-user", "admin",
        "--admin-password", service.sim_admin_password, "--bot-username", "atsd_bot",
        "--atsd-url", service.atsd_url, "--api-user", service.ui_user,
        "--api-password", service.ui_password, "--wait", "20", "--poll-interval", "0.05"])
    assert result.code == 0, result.err
    paths = result.doc["paths"]
    assert paths["webhook"]["seen"] is True and paths["webhook"]["status"] == 200
    realtime = paths["realtime"]
    assert realtime["health"]["subscribed"] is True
    assert realtime["seen"] is True  # the service runs realtime, so it must be heard
    if paths["webhook"]["outcome"] == "duplicate":  # realtime stored it first: timed
        assert realtime["rtt_ms"] > 0
    else:  # the webhook stored it first: realtime only heard, untimed
        assert paths["webhook"]["outcome"] == "stored"
        assert realtime["rtt_ms"] is None and "not timed" in realtime["note"]
