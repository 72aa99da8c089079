"""What the ingestor returns and calls: :class:`Accepted`, the engine it drives, its hooks.

Kept apart from :mod:`rules.ingest` so that the batch (:mod:`rules.ingest.batch`) and the
adapters' hooks share these names without importing the ingestor itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection

from rules.command import MessageCommand
from rules.notification import Notification

__all__ = ["Accepted", "CommandEngine", "IngestHook", "wake_on_notifications"]


class CommandEngine(Protocol):
    """What the ingestor needs of the rule engine.

    ``process`` runs inside the caller's transaction and must write its state changes and
    outbox rows through ``conn`` only; in-memory state is made final by ``after_commit`` and
    thrown away by ``after_rollback``.
    """

    def process(
        self, conn: Connection, command: MessageCommand, message_id: int | None
    ) -> list[Notification]: ...

    def after_commit(self) -> None: ...

    def after_rollback(self) -> None: ...


@dataclass(slots=True)
class Accepted:
    """What happened to one inbound message."""

    command: MessageCommand
    message_id: int | None = None
    duplicate: bool = False
    processed: bool = False
    notifications: list[Notification] = field(default_factory=list)


IngestHook = Callable[[Accepted, str, float], None]
"""Called after each accepted command: the result, the inbound path, seconds ``accept`` took."""


def wake_on_notifications(wake: Callable[[Sequence[Notification]], None]) -> IngestHook:
    """A hook that hands a command's new notifications to ``wake`` (the sender loop's) right
    after their commit, so the sender delivers those rows without looking for them."""
    def hook(result: Accepted, _path: str, _seconds: float) -> None:
        if result.notifications:
            wake(result.notifications)
    return hook
