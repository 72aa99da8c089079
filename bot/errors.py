"""The error hierarchy: one root, split by who can fix what went wrong."""

from __future__ import annotations


class AtsdBotError(Exception):
    """Root of every error atsd-bot raises on purpose; its text is meant for a person."""


class ConfigError(AtsdBotError):
    """The configuration file or environment is wrong; the text names the key."""


class ChatUnavailable(AtsdBotError):
    """Rocket.Chat could not be reached or answered with a server error; try again later."""


class ChatRejected(AtsdBotError):
    """Rocket.Chat refused the request (credentials, permission, validation).

    Retrying the same request won't help; the text says what to fix.
    """


class ProtocolError(AtsdBotError):
    """The server spoke a protocol we did not expect."""
