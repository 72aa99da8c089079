"""Prometheus counters for the Rocket.Chat side, on one module-level registry others import.

``REGISTRY`` is a private :class:`prometheus_client.CollectorRegistry` (not the library's global
one) so tests and a second service instance in one process never collide; the ``/metrics``
route renders it with ``prometheus_client.generate_latest(REGISTRY)``. Other parts (the webhook
receiver, the outbox sender) may add their own metrics to it or increment these.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES_IN = Counter(
    "atsdbot_messages_in_total",
    "Rocket.Chat messages received, by inbound path (webhook, realtime, backfill)",
    ["path"], registry=REGISTRY)
MESSAGES_IGNORED = Counter(
    "atsdbot_messages_ignored_total",
    "Messages not run through the rules: own, bot, system, edit, not addressed to the bot",
    ["path", "reason"], registry=REGISTRY)
COMMANDS_MADE = Counter(
    "atsdbot_commands_made_total",
    "Message commands stored and handed to the rule engine, by inbound path",
    ["path"], registry=REGISTRY)
DUPLICATES_DROPPED = Counter(
    "atsdbot_duplicates_dropped_total",
    "Messages already accepted once (same message id and edit stamp), by inbound path",
    ["path"], registry=REGISTRY)
CHAT_COMMANDS = Counter(
    "atsdbot_chat_commands_total",
    "Chat commands (help, alerts, ack, ...) by command and outcome (ok, refused, error)",
    ["command", "outcome"], registry=REGISTRY)
NOTIFICATIONS = Counter(
    "atsdbot_notifications_total",
    "Notification delivery attempts, by endpoint and result (sent, retry, failed)",
    ["endpoint", "result"], registry=REGISTRY)
RECONNECTS = Counter(
    "atsdbot_realtime_reconnects_total",
    "Realtime (DDP) connections re-established after a drop", registry=REGISTRY)
REALTIME_CONNECTED = Gauge(
    "atsdbot_realtime_connected",
    "1 while the realtime connection is logged in and subscribed", registry=REGISTRY)


def counter_value(counter: Counter, **labels: str) -> float:
    """The current value of one counter series (for tests and the status command)."""
    metric = counter.labels(**labels) if labels else counter
    return float(metric._value.get())
