"""The typed settings (frozen dataclasses), one per section of the TOML configuration.

Built and validated by :mod:`bot.config.sections`; import them from :mod:`bot.config`.
``[http]``, ``[[users]]`` and ``[webhook]`` are the webhook app's own types
(:mod:`webhook.settings`), composed here: :class:`Settings` is the app's ``AppSettings``.
Secrets are fields with ``repr=False`` so that a logged settings object never shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from webhook.settings import ROLES, HttpSettings, UserSettings, WebhookSettings

__all__ = ["FOREVER", "ROLES", "DatabaseSettings", "DeliverySettings", "EndpointSettings",
           "HttpSettings", "RetentionSettings", "RocketChatSettings", "RulesSettings", "Settings",
           "UserSettings", "WebhookSettings"]

FOREVER = "forever"  # a [retention] value that keeps that kind of record for good


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/atsd-bot.db"
    # SQLite only: FULL survives a power cut, NORMAL a process crash.
    synchronous: str = "FULL"
    # PostgreSQL: instances sharing the database elect the engine runner through a lease
    # (bot/service/lease.py); single_instance = true skips the lease altogether.
    single_instance: bool = False
    lease_ttl: int = 10  # seconds; a dead holder is replaced within about this long


@dataclass(frozen=True)
class RulesSettings:
    paths: tuple[str, ...] = ("rules.d",)


@dataclass(frozen=True)
class RocketChatSettings:
    url: str
    user_id: str | None = None
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    realtime: bool = True
    ignore_bots: bool = True  # drop messages with ``bot`` set (integrations, other bots)
    edits: str = "ignore"  # ignore | process
    # channels: "mention" (only messages that mention the bot) or "all"; DMs are always heard
    channel_messages: str = "mention"
    admins: tuple[str, ...] = ()  # usernames allowed to run state-changing chat commands
    admin_roles: tuple[str, ...] = ("admin",)
    # living alert messages: "N/DURATION", at most N new alert messages per room within the
    # duration (sliding); past it new alerts fold into one summary (bot.config.room_budget)
    room_budget: str = "10/1m"


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    kind: str  # rocketchat | http | log
    url: str | None = None
    room: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 300.0


@dataclass(frozen=True)
class RetentionSettings:
    """How long each kind of record is kept: a duration (``"30d"``) or ``"forever"``.

    Open alerts, the windows they belong to and anything the outbox still has to send are
    never pruned, whatever these say (rules/store/retention.py).
    """

    messages: str = "30d"
    webhook_requests: str = "7d"
    security_incidents: str = "90d"
    alerts: str = "90d"  # closed alerts (history)
    notifications: str = "30d"  # delivered, failed or cancelled outbox rows and their attempts
    rule_errors: str = "30d"


@dataclass(frozen=True)
class Settings:
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    users: tuple[UserSettings, ...] = ()
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    rocketchat: RocketChatSettings | None = None
    endpoints: Mapping[str, EndpointSettings] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    base_dir: Path = field(default_factory=Path.cwd)

    def secrets(self) -> list[str]:
        """Every secret value in the configuration (for redaction and for tests that grep)."""
        return list(self._secrets)

    @cached_property
    def _secrets(self) -> tuple[str, ...]:
        # Once per settings object (they are frozen): the webhook masks with these on every
        # request, and building the list each time was a measurable part of one.
        found = [u.password for u in self.users if u.password]
        found += [self.http.secret_key] if self.http.secret_key else []
        found += list(self.webhook.tokens.values())
        if self.rocketchat is not None:
            found += [s for s in (self.rocketchat.token, self.rocketchat.password) if s]
        for endpoint in self.endpoints.values():
            found += list(endpoint.headers.values())
        return tuple(s for s in found if s)
