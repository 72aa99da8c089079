"""The outbox's behaviour: the endpoint contract, delivery of due rows, the one sender loop.

Notifications are written by the engine in the transaction of the state change that caused
them (:mod:`rules.store.outbox` holds that table's SQL). :class:`OutboxSender` later claims
due rows with a conditional ``UPDATE`` (so two instances never send the same row), delivers
each through its endpoint, records every attempt in ``outbox_attempts`` and either marks the
row delivered, schedules a retry (exponential backoff with jitter, or the endpoint's
``retry_after``), or after ``max_attempts`` marks it ``failed`` with the error, where the
diagnostics API shows it and :meth:`OutboxSender.retry_now` can revive it.
:class:`SenderLoop` delivers the rows a commit hands over in memory at once (no due query on
the hot path) and looks for due rows when a retry or a delayed row comes due, at the latest
every second.

The row id is the notification's stable id: the Rocket.Chat endpoint uses it as the chat
message ``_id``, so a send repeated after a crash is a no-op on the server.

**Decision:** rows of one alert and endpoint go out in order: a repeat or cancel waits while
an earlier row of the same alert is still pending (e.g. backing off), so a chat never shows a
cancel before its open.

- :mod:`rules.notification` (re-exported here): :class:`Notification`, :class:`Endpoint`;
- :mod:`rules.outbox.endpoints`: the log and HTTP endpoints, built from the configuration;
- :mod:`rules.outbox.delivery`: :class:`OutboxSender`, rounds of claims and deliveries;
- :mod:`rules.outbox.lanes`: rows of different rooms and alerts delivered side by side;
- :mod:`rules.outbox.outcome`: what one attempt did to its row, recorded per round;
- :mod:`rules.outbox.loop`: :class:`SenderLoop`, the one loop that delivers, with ``wake()``.

To patch what the sender looks up (in a test), patch the submodule that uses it, e.g.
``rules.outbox.delivery.row_to_notification``: the names below are copies.
"""

from rules.notification import DeliveryError, DeliveryResult, Endpoint, Notification
from rules.outbox.delivery import MAX_ROUNDS, OutboxSender
from rules.outbox.endpoints import build_endpoints, endpoint_targets
from rules.outbox.loop import SenderLoop

__all__ = [
    "MAX_ROUNDS", "DeliveryError", "DeliveryResult", "Endpoint", "Notification", "OutboxSender",
    "SenderLoop", "build_endpoints", "endpoint_targets",
]
