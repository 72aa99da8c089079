"""The service's errors, split by who can fix what went wrong (the tree: :mod:`rules.errors`)."""

from __future__ import annotations

from rules.errors import AtsdBotError


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


class UsageError(AtsdBotError):
    """A command line or its input is malformed: one line naming what to fix, exit code 2."""


class StartError(AtsdBotError):
    """Something outside the configuration's syntax stops a command: the database cannot be
    used, the listen address is taken, a path cannot be written. The text says what failed
    and what to change; ``exit_code`` is its code in :mod:`bot.exit_codes`."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class StartCancelled(StartError):
    """A stop signal arrived while a command was still starting (waiting for the database or
    Rocket.Chat): not a failure; the command stops with ``exit_code``."""


class DemoError(AtsdBotError):
    """A step of the demo failed; the text says which and where the logs are."""


__all__ = ["AtsdBotError", "ChatRejected", "ChatUnavailable", "ConfigError", "DemoError",
           "ProtocolError", "StartCancelled", "StartError", "UsageError"]
