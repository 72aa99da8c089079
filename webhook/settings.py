"""The settings the webhook app reads: HTTP limits, users and their roles, the webhook section.

They are defined here, beside the code that reads them, so that ``webhook/`` needs nothing
from the service above it. The service's configuration (:mod:`bot.config`) holds these very
types in its ``Settings``, which therefore is an :class:`AppSettings`: the view of the whole
configuration the app is given. Secrets are fields with ``repr=False`` so that a logged
settings object never shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ROLES", "AppSettings", "HttpSettings", "UserSettings", "WebhookSettings"]

# webhook: may post to the webhook; api: the data and alerts APIs; admin: all, and the web UI
ROLES = ("webhook", "api", "admin")


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8088
    max_body_bytes: int = 1048576
    trusted_proxies: tuple[str, ...] = ()
    threads: int = 8
    # signs web UI sessions; unset: generated once and kept in the database (bot/service)
    secret_key: str | None = field(default=None, repr=False)
    # where people reach the web UI (https://atsd-bot.example.com); links in chat use it
    public_url: str | None = None


@dataclass(frozen=True)
class UserSettings:
    name: str
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    roles: tuple[str, ...] = ("webhook",)
    # optional limits: entity names/patterns and webhook paths this user may write
    entities: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookSettings:
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # webhook paths (after /webhook/) whose bodies are Rocket.Chat outgoing-webhook payloads
    rocketchat_paths: tuple[str, ...] = ("rocket.chat",)
    request_log_size: int = 100
    body_capture_bytes: int = 16384


class AppSettings(Protocol):
    """What the app reads of the configuration (``bot.config.Settings`` is one)."""

    @property
    def http(self) -> HttpSettings: ...

    @property
    def users(self) -> tuple[UserSettings, ...]: ...

    @property
    def webhook(self) -> WebhookSettings: ...

    def secrets(self) -> list[str]:
        """Every secret value in the whole configuration, masked wherever text is kept."""
        ...
