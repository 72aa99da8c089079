"""The root of atsd-bot's errors, defined in the lowest layer so every layer can extend it.

The tree (each error's text is meant for a person and says what to change)::

    AtsdBotError
    ├── ConfigError          bot/errors.py: the configuration file or environment is wrong
    ├── UsageError           bot/errors.py: a command line or chat command is malformed
    ├── DemoError            bot/errors.py: a step of ``atsd-bot demo`` failed
    ├── ChatUnavailable      bot/errors.py: Rocket.Chat unreachable or failing; retry later
    │   └── Dropped          bot/realtime/connection.py: the realtime link went away
    ├── ChatRejected         bot/errors.py: Rocket.Chat refused; retrying will not help
    ├── ProtocolError        bot/errors.py: the server spoke a protocol we did not expect
    ├── StartError           bot/errors.py: the database, listen address or a path is unusable
    ├── ApiError             webhook/errors.py: an HTTP request to the data API is wrong
    ├── Usage, Refused       bot/chat/commands.py: a chat command's arguments do not fit; a
    │                        clear refusal that changes nothing
    ├── DeliveryError        rules/notification.py: one delivery attempt failed
    ├── SchemaError          rules/store/db.py: the database's schema is newer than the code
    ├── RuleFault            rules/engine/compiled.py: a rule's first fault when compiling it
    ├── DurationError        rules/definitions/durations.py: a duration that does not fit
    │                        (also a ValueError)
    ├── MatcherError         rules/silences/matchers.py: a silence matcher that cannot be read
    │                        (also a ValueError)
    └── ExpressionError, EvaluationError   rules/expr/errors.py: rule syntax vs evaluation
"""

from __future__ import annotations


class AtsdBotError(Exception):
    """Root of every error atsd-bot raises on purpose; its text is meant for a person."""


__all__ = ["AtsdBotError"]
