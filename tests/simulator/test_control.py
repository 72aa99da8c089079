"""The control surface: /_sim/ over HTTP, the standalone command, the --state file, wait_for."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.rocketchat_server import Simulator
from tests.simulator.helpers import DDP, Receiver, outgoing, rest_login

ROOT = Path(__file__).resolve().parents[2]


def control(sim: Simulator, method: str, path: str, password: str = "admin",  # noqa: S107
            **kwargs: object) -> requests.Response:  # fmt: skip
    return requests.request(method, f"{sim.url}/_sim/{path}", headers={"X-Sim-Admin": password},
                            timeout=5, **kwargs)  # type: ignore[arg-type]  # fmt: skip


def test_control_http_needs_the_admin_password(sim: Simulator) -> None:
    assert control(sim, "GET", "deliveries", password="wrong").status_code == 401
    assert requests.get(f"{sim.url}/_sim/deliveries", timeout=5).status_code == 401


def test_control_http_posts_and_reads_messages_and_deliveries(
    sim: Simulator, receiver: Receiver
) -> None:
    outgoing(sim, rest_login(sim, "admin", "admin"), urls=[receiver.url])
    posted = control(
        sim, "POST", "messages", json={"username": "alice", "room": "@bot", "text": "hi"}
    )
    assert posted.status_code == 200
    rid = posted.json()["message"]["rid"]
    messages = control(sim, "GET", f"rooms/{rid}/messages").json()["messages"]
    assert [m["msg"] for m in messages] == ["hi"] and messages[0]["ts"].endswith("Z")
    sim.wait_for(lambda: sim.deliveries)
    deliveries = control(sim, "GET", "deliveries").json()["deliveries"]
    assert deliveries[0]["status"] == 200 and deliveries[0]["payload"]["text"] == "hi"
    bad = control(sim, "POST", "messages", json={"username": "nobody", "room": "@bot", "text": "x"})
    assert bad.status_code == 400


def test_control_http_faults(sim: Simulator) -> None:
    with DDP(sim.ws_url) as ddp:
        ddp.recv()
        assert control(sim, "POST", "drop").json()["dropped"] == 1
    assert control(sim, "POST", "rest-down", json={"seconds": 30}).status_code == 200
    assert requests.get(f"{sim.url}/api/info", timeout=5).status_code == 503
    sim.rest_down(0)
    assert control(sim, "POST", "pause", json={"seconds": 0}).status_code == 200
    assert control(sim, "POST", "pause", json={}).status_code == 400


def test_wait_for_returns_the_value_or_times_out(sim: Simulator) -> None:
    rid = sim.dm_room("alice", "bot")
    sim.post_message("alice", rid, "x")
    assert sim.wait_for(lambda: sim.messages(rid), timeout=1)[0]["msg"] == "x"
    with pytest.raises(TimeoutError):
        sim.wait_for(lambda: False, timeout=0.1)


def test_standalone_command_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.rocketchat_server", "--port", "0", "--admin-user", "root",
         "--admin-password", "s3cret"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" listening on ")[1].split()[0]
        login = requests.post(f"{url}/api/v1/login", json={"user": "root", "password": "s3cret"},
                              timeout=5)  # fmt: skip
        assert login.json()["data"]["me"]["roles"] == ["admin"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_standalone_refuses_a_busy_port(sim: Simulator) -> None:
    busy = subprocess.run(
        [sys.executable, "-m", "tests.rocketchat_server", "--port", str(sim.port)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (
        busy.returncode == 2 and "cannot listen" in busy.stderr and "Traceback" not in busy.stderr
    )


def test_state_file_survives_a_restart(rc_server_factory: Callable[..., Simulator],
                                       tmp_path: Path) -> None:  # fmt: skip
    state = str(tmp_path / "rc.json")
    first = rc_server_factory(state_file=state)
    first.create_user("bot", "bot-pw", roles=("bot",))
    first.create_user("alice", "alice-pw")
    outgoing(first, rest_login(first, "admin", "admin"), urls=["http://127.0.0.1:9/x"])
    rid = first.dm_room("alice", "bot")
    first.post_message("alice", rid, "kept")
    bot_id, token = first.login_token("bot")
    first.stop()
    second = rc_server_factory(state_file=state)
    me = requests.get(f"{second.url}/api/v1/me",
                      headers={"X-User-Id": bot_id, "X-Auth-Token": token}, timeout=5)  # fmt: skip
    assert me.json()["username"] == "bot"
    assert [m["msg"] for m in second.messages(rid)] == ["kept"]
    assert [i["name"] for i in second.world.integrations.values()] == ["hook"]
