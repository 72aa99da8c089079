"""The domain: message commands, rule definitions, expressions, the engine, the outbox, the store.

Both inbound paths hand a :class:`~rules.command.MessageCommand` to
:class:`~rules.ingest.Ingestor`, which stores it and runs the engine; the engine's
:class:`~rules.notification.Notification` rows go out through :mod:`rules.outbox`;
:mod:`rules.silences` holds alerts back by matchers. Nothing here imports Flask, Rocket.Chat or
the service: see docs/architecture.md.
"""

__all__ = ["chat_text", "clock", "command", "definitions", "engine", "errors", "expr", "ingest",
           "message_keys", "notification", "outbox", "silences", "store"]
