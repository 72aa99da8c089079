"""The status table: ATSD's OPEN / REPEAT / CANCEL and the trigger each change fires.

| before          | condition | after  | trigger   |
|-----------------|-----------|--------|-----------|
| CANCEL          | true      | OPEN   | open      |
| OPEN or REPEAT  | true      | REPEAT | repeat    |
| OPEN or REPEAT  | false     | CANCEL | cancel    |
| CANCEL          | false     | CANCEL | (none)    |

:func:`rules.engine.windows.apply_transition` updates a window's alert fields for the new
status; what the trigger then sends is decided in :mod:`rules.engine.triggers`.
"""

from __future__ import annotations

import enum

from rules.definitions.model import Trigger


class Status(enum.StrEnum):
    OPEN = "OPEN"
    REPEAT = "REPEAT"
    CANCEL = "CANCEL"

    @property
    def is_open(self) -> bool:
        return self is not Status.CANCEL


def transition(before: Status, condition: bool) -> tuple[Status, Trigger | None]:
    """One row of the status table."""
    if condition:
        return (Status.REPEAT, "repeat") if before.is_open else (Status.OPEN, "open")
    return (Status.CANCEL, "cancel") if before.is_open else (Status.CANCEL, None)
