"""A protocol-faithful Rocket.Chat simulator (REST + DDP + outgoing integrations) for tests.

`Simulator` (control.py) is the entry point; README.md says what is covered and what is not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Simulator", "SimulatorOptions"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m tests.rocketchat_server` and light imports stay cheap.
    if name == "Simulator":
        from tests.rocketchat_server.control import Simulator

        return Simulator
    if name == "SimulatorOptions":
        from tests.rocketchat_server.runtime import SimulatorOptions

        return SimulatorOptions
    raise AttributeError(name)
