"""What every view needs, in one object the service builds and ``create_app`` stores.

``extras`` holds free slots other parts of the service fill in (``health``: a callable
returning ``{"status": "ok" | ...}``, ``outbox``, ``metrics``, ...), so that adding one does
not change this class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config.load import Settings
from rules.clock import Clock, SystemClock
from rules.ingest import Ingestor
from rules.message_keys import BotIdentity
from rules.store import Database


def identity_from_settings(settings: Settings) -> Callable[[], BotIdentity]:
    """The bot's identity as configured; the realtime client may replace it after login."""
    rc = settings.rocketchat
    identity = BotIdentity(
        user_id=rc.user_id if rc is not None else None,
        username=rc.user if rc is not None else None,
    )
    return lambda: identity


def _unset_identity() -> BotIdentity:  # replaced in __post_init__; never called
    raise RuntimeError("AppContext.bot_identity is not set")


@dataclass
class AppContext:
    settings: Settings
    db: Database
    ingestor: Ingestor
    clock: Clock = field(default_factory=SystemClock)
    # default: the identity configured in settings.rocketchat (user_id / user)
    bot_identity: Callable[[], BotIdentity] = _unset_identity
    engine: Any = None  # the rule engine, set by the service
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.bot_identity is _unset_identity:
            self.bot_identity = identity_from_settings(self.settings)


def current_ctx() -> AppContext:
    """The context of the app serving the current request."""
    from flask import current_app

    ctx: AppContext = current_app.extensions["atsd"]
    return ctx
