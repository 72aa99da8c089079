"""One delivery attempt's result, as :class:`rules.outbox.delivery.OutboxSender` records it.

An :class:`Outcome` says what the attempt did to its row (delivered, pending for a retry, or
failed) and carries the values of the row's ``FINISH`` update and of its attempt-log row, so a
whole round is written in one transaction.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

__all__ = ["Outcome"]


class Outcome:
    """What one delivery attempt did to its row, written by :meth:`OutboxSender._record`."""

    __slots__ = ("row", "status", "attempt_no", "at", "duration_ms", "code", "error",
                 "delivered_at", "detail", "next_at")

    def __init__(self, row: Any, status: str, attempt: int, at: datetime, started: float, *,
                 code: int | None = None, error: str | None = None,
                 delivered_at: datetime | None = None, detail: str | None = None,
                 next_at: datetime | None = None) -> None:
        self.row, self.status, self.attempt_no, self.at = row, status, attempt, at
        self.duration_ms = int((time.monotonic() - started) * 1000)
        self.code, self.error, self.delivered_at = code, error, delivered_at
        # None: the column keeps the row's value (FINISH coalesces)
        self.detail = detail if status == "delivered" else None
        self.next_at = next_at

    @property
    def note_id(self) -> int:
        return int(self.row.id)

    @property
    def outcome(self) -> str:
        return {"delivered": "delivered", "pending": "retry"}.get(self.status, "failed")

    def finish(self, instance: str) -> dict[str, Any]:
        return {"oid": self.note_id, "me": instance, "new_status": self.status,
                "n": self.attempt_no, "err": self.error, "code": self.code,
                "done_at": self.delivered_at, "det": self.detail,
                "next_at": self.next_at}

    def attempt(self) -> dict[str, Any]:
        return {"outbox_id": self.note_id, "at": self.at, "outcome": self.outcome,
                "status_code": self.code, "error": self.error, "duration_ms": self.duration_ms}


