"""What every view needs, in one object the service builds and ``create_app`` stores.

Each part the service hands over is a typed field: the store, the ingestor, the clock, and
the optional ones it runs (the rule engine and rule set for the rules API, the health report,
the edit stamp of Rocket.Chat edits, the bot's identity for the loop guard, the chat command
desk). The app's own
shared parts, the :class:`~webhook.auth.Authenticator` (whose throttle every request must
see) and the :class:`~webhook.requestlog.RequestLog` writer, are made here, once.

:func:`current_ctx` and :func:`require_role` read the context during a request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from rules.clock import Clock, SystemClock
from rules.definitions.rule_set import RuleSet
from rules.engine.rule_engine import RuleEngine
from rules.ingest import Ingestor
from rules.message_keys import BotIdentity, ChatCommands
from rules.store import Database
from webhook.auth import Authenticator
from webhook.requestlog import RequestLog
from webhook.settings import AppSettings

F = TypeVar("F", bound=Callable[..., Any])


def _healthy() -> Mapping[str, Any]:
    return {"status": "ok"}


@dataclass
class AppContext:
    settings: AppSettings
    db: Database
    ingestor: Ingestor
    clock: Clock = field(default_factory=SystemClock)
    # who the bot is (the loop guard drops its own messages); the realtime login may learn
    # it later, hence a callable. Default: nobody, and only the ``bot`` flag guards.
    bot_identity: Callable[[], BotIdentity] = BotIdentity
    engine: RuleEngine | None = None  # None: the alerts and rules APIs answer 503
    ruleset: RuleSet | None = None  # the loaded rule files, for /api/v1/rules and its errors
    health: Callable[[], Mapping[str, Any]] = _healthy  # the /healthz body
    # message id -> the stamp of its latest edit, for an edit's once-only key; None: every
    # edit of a message shares the key "edited" (the outgoing webhook carries no editedAt)
    edit_stamp: Callable[[str], str] | None = None
    # the chat command desk (bot/chat): addressed Rocket.Chat messages whose first word is a
    # command are answered there (once, over REST) instead of going to the rules
    chat_commands: ChatCommands | None = None
    authenticator: Authenticator = field(init=False)
    request_log: RequestLog = field(init=False)

    def __post_init__(self) -> None:
        self.authenticator = Authenticator(self.settings, self.db, self.clock)
        # The ingestor's write lock: log batches and ingest transactions take turns.
        self.request_log = RequestLog(self.db, self.clock, self.settings.webhook.request_log_size,
                                      write_lock=self.ingestor.write_lock)

    def use_settings(self, settings: AppSettings) -> None:
        """Serve with ``settings`` from the next request on (users, tokens, limits)."""
        self.authenticator.use_settings(settings)
        self.request_log.keep = settings.webhook.request_log_size
        self.settings = settings


def current_ctx() -> AppContext:
    """The context of the app serving the current request."""
    from flask import current_app

    ctx: AppContext = current_app.extensions["atsd"]
    return ctx


def require_role(*roles: str) -> Callable[[F], F]:
    """Decorator for API views: Basic auth with one of ``roles`` (``admin`` satisfies all).

    The user is available as ``flask.g.atsd_user`` inside the view.
    """
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import g, request

            g.atsd_user = current_ctx().authenticator.check_roles(request, roles)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
