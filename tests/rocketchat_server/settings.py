"""Workspace settings the simulator honours, with Rocket.Chat's defaults.

Only the settings that change behaviour here are known; tests change them with
`Simulator.set_settings(...)` or `POST /_sim/settings` (what an admin does under
Administration → Settings). Unknown names and wrong types are refused with one clear line.
"""

from __future__ import annotations

from typing import Any

# name -> (default, expected type). Defaults from RC `server/settings/message.ts`, `threads.ts`.
KNOWN: dict[str, tuple[Any, type]] = {
    "Message_AllowEditing": (True, bool),
    # 0 = no limit. Counted in whole minutes since the message's `ts` (moment().diff).
    "Message_AllowEditing_BlockEditInMinutes": (0, int),
    "Threads_enabled": (True, bool),
}


def defaults() -> dict[str, Any]:
    return {name: default for name, (default, _) in KNOWN.items()}


def checked(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` after validation; raises ValueError naming the first bad entry."""
    for name, value in changes.items():
        if name not in KNOWN:
            raise ValueError(f"unknown setting {name!r}; known: {', '.join(sorted(KNOWN))}")
        wanted = KNOWN[name][1]
        # bool is an int in Python: refuse True for a number and 1 for a boolean.
        if type(value) is not wanted:
            raise ValueError(f"setting {name!r} must be {wanted.__name__}, got {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"setting {name!r} must not be negative, got {value!r}")
    return dict(changes)
