"""pytest fixtures for the Rocket.Chat simulator (loaded from tests/conftest.py).

* `rc_server`: a fresh simulator per test (real defaults) with admin "admin"/"admin".
* `rc_server_factory(**options)`: start simulators with `SimulatorOptions` overrides, e.g.
  `rc_server_factory(ping_interval=0.2, ping_timeout=0.2, retry_scale=0.001)`; all are
  stopped after the test.
* `rocketchat_async_python`: the python of a cached venv holding `rocketchat-async==4.3.0`
  (it pins websockets<11, so it cannot live in the project venv). Created once under
  `.cache/venvs/rocketchat-async`; skips the test when it cannot be created (no index).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rocketchat_server.control import Simulator

ROOT = Path(__file__).resolve().parents[2]
ASYNC_VENV = ROOT / ".cache" / "venvs" / "rocketchat-async"
ASYNC_REQUIREMENT = "rocketchat-async==4.3.0"


@pytest.fixture
def rc_server_factory() -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def factory(**overrides: Any) -> Simulator:
        simulator = Simulator(**overrides).start()
        started.append(simulator)
        return simulator

    yield factory
    for simulator in started:
        simulator.stop()


@pytest.fixture
def rc_server(rc_server_factory: Callable[..., Simulator]) -> Simulator:
    return rc_server_factory()


def ensure_rocketchat_async_venv() -> Path:
    """Create (once, under a file lock) the venv with rocketchat-async; returns its python."""
    python = ASYNC_VENV / "bin" / "python"
    marker = ASYNC_VENV / ".installed"
    ASYNC_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(ASYNC_VENV.parent / ".rocketchat-async.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(ASYNC_VENV)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", ASYNC_REQUIREMENT],
                check=True, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            marker.write_text(ASYNC_REQUIREMENT + "\n")
    return python


@pytest.fixture(scope="session")
def rocketchat_async_python() -> Path:
    try:
        return ensure_rocketchat_async_venv()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        pytest.skip(f"cannot create the rocketchat-async venv: {detail.strip()[-300:]}")
