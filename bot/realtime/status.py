"""What the realtime path reports about itself (``/healthz``, the ``status`` chat command)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.errors import ChatRejected
from bot.realtime.protocol import MethodError
from rules.command import format_iso_date

_FATAL_LOGIN_CODES = {"403", "401", "totp-required", "totp-invalid", "totp-max-attempts"}


class RealtimeFatal(ChatRejected):
    """The realtime login can never succeed as configured (bad credentials, 2FA required)."""


def login_failure(error: MethodError, how: str) -> RealtimeFatal | None:
    """The fatal error for a refused DDP login, or None when trying again may help.

    Current servers answer any bad login with 401 "Incorrect login or password", older ones
    with 403 "User not found" / "Incorrect password"; two-factor errors start with ``totp``.
    """
    if error.error.startswith("totp"):
        return RealtimeFatal(
            "the bot account has two-factor authentication on; use a personal access token "
            "(rocketchat.user_id + rocketchat.token) created with 'Ignore Two Factor "
            "Authentication'")
    reason = error.reason.lower()
    if error.error in _FATAL_LOGIN_CODES or "password" in reason or "not found" in reason:
        hint = ("check rocketchat.user_id and rocketchat.token" if how == "token"
                else "check rocketchat.user and rocketchat.password")
        return RealtimeFatal(f"Rocket.Chat refused the login ({error.reason}); {hint}")
    return None  # e.g. too-many-requests: the reconnect backoff waits


@dataclass
class RealtimeStatus:
    """Plain fields, written by the client's loop and read from any thread."""

    connected: bool = False
    logged_in: bool = False
    subscribed: bool = False
    last_event_at: datetime | None = None
    reconnects: int = 0
    sessions: int = 0  # connections that got as far as subscribed
    user_id: str | None = None
    username: str | None = None
    last_error: str | None = None

    def touch(self, now: datetime) -> None:
        self.last_event_at = now

    def down(self) -> None:
        self.connected = self.logged_in = self.subscribed = False

    def as_dict(self) -> dict[str, Any]:
        """The ``paths.realtime`` part of ``/healthz``."""
        return {
            "configured": True,
            "connected": self.connected,
            "logged_in": self.logged_in,
            "subscribed": self.subscribed,
            "last_event": format_iso_date(self.last_event_at) if self.last_event_at else None,
            "reconnects": self.reconnects,
            "user": self.username,
            "last_error": self.last_error,
        }
