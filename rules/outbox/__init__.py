"""The durable outbox: notifications written with the state change that caused them, then sent.

The engine calls :func:`write` inside the command's transaction. :class:`OutboxSender` later
claims due rows with a conditional ``UPDATE`` (so two instances never send the same row),
delivers each through its endpoint, records every attempt in ``outbox_attempts`` and either
marks the row delivered, schedules a retry (exponential backoff with jitter, or the
endpoint's ``retry_after``), or after ``max_attempts`` marks it ``failed`` with the error,
where the diagnostics API shows it and :meth:`OutboxSender.retry_now` can revive it.

The row id is the notification's stable id: the Rocket.Chat endpoint uses it as the chat
message ``_id``, so a send repeated after a crash is a no-op on the server.

**Decision:** rows of one alert and endpoint go out in order: a repeat or cancel waits while
an earlier row of the same alert is still pending (e.g. backing off), so a chat never shows a
cancel before its open.

The package is split by concern; every name callers use is re-exported here:

- :mod:`rules.store.outbox`: write, cancel_held, recent, attempts, prune (engine and API side);
- :mod:`rules.outbox.delivery`: :class:`OutboxSender`, one pass of claims and deliveries;
- :mod:`rules.store.outbox_sql`: the sender's SQL and its light (not fsync'd) transaction;
- :mod:`rules.outbox.loop`: :class:`SenderLoop`, the one loop that delivers, with ``wake()``.

To patch what the sender looks up (in a test), patch the submodule that uses it, e.g.
``rules.outbox.delivery.row_to_notification`` or ``rules.store.outbox_sql.RELEASE``: the
re-exports below are copies of the names, so patching them here changes nothing.
"""

from rules.outbox.delivery import MAX_ROUNDS, OutboxSender
from rules.outbox.loop import SenderLoop
from rules.store.outbox import (
    ACTIVE,
    FINISHED,
    attempts,
    cancel_held,
    prune,
    recent,
    row_to_notification,
    write,
)
from rules.store.outbox_sql import light_transaction as _light_transaction

__all__ = [
    "ACTIVE", "FINISHED", "MAX_ROUNDS", "OutboxSender", "SenderLoop", "_light_transaction",
    "attempts", "cancel_held", "prune", "recent", "row_to_notification", "write",
]
