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

__all__ = ["CHAT_COMMAND", "MESSAGE", "STORED", "Accepted", "CommandEngine", "IngestHook",
           "wake_on_notifications"]

# What an Accepted stands for (its ``kind``):
MESSAGE = "message"  # a message command through Ingestor.accept
CHAT_COMMAND = "chat command"  # a chat command answered through Ingestor.once
STORED = "stored"  # stored commands run later by Ingestor.process_pending (one per batch)


class CommandEngine(Protocol):
    """What the ingestor needs of the rule engine.

    ``process`` runs inside the caller's transaction and must write its state changes and
    outbox rows through ``conn`` only; in-memory state is made final by ``after_commit`` and
    thrown away by ``after_rollback``. ``cause``, the message's once-only key, goes into the
    target of each chat row it writes (``target["cause"]``): the reply's chat id derives from
    it (:func:`bot.rest.endpoint.reply_message_id`), so the same message processed again after
    its transaction was lost makes the same reply id.
    """

    def process(
        self, conn: Connection, command: MessageCommand, message_id: int | None,
        cause: str | None = None,
    ) -> list[Notification]: ...

    def after_commit(self) -> None: ...

    def after_rollback(self) -> None: ...


@dataclass(slots=True)
class Accepted:
    """What happened to one inbound message (``kind`` :data:`MESSAGE`), to one chat command
    (:data:`CHAT_COMMAND`: no ``command``; ``duplicate`` when it was answered before) or to a
    batch of stored commands the engine ran later (:data:`STORED`: no ``command``).

    ``notifications`` are the outbox rows the commit wrote that the sender may take at once.
    """

    command: MessageCommand | None
    message_id: int | None = None
    duplicate: bool = False
    processed: bool = False
    notifications: list[Notification] = field(default_factory=list)
    kind: str = MESSAGE


IngestHook = Callable[[Accepted, str, float], None]
"""Called after each commit of the ingestor: the result, the inbound path (``pending`` for
:data:`STORED`), the seconds it took."""


def wake_on_notifications(wake: Callable[[Sequence[Notification]], None]) -> IngestHook:
    """A hook that hands a commit's new notifications to ``wake`` (the sender loop's) right
    after it, so the sender delivers those rows without looking for them.

    An answered chat command also wakes it without rows: a change it made through the engine
    may have written rows it does not list (a living message's note and edit), which the
    sender then finds with its due query at once."""
    def hook(result: Accepted, _path: str, _seconds: float) -> None:
        if result.notifications:
            wake(result.notifications)
        if result.kind == CHAT_COMMAND and not result.duplicate:
            wake(())
    return hook
