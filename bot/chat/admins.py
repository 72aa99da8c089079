"""Who is a bot admin: ``[rocketchat] admins`` (user names) and ``admin_roles`` (Rocket.Chat
roles, read with ``users.info`` and kept for five minutes)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from bot.config import RocketChatSettings
from bot.errors import ChatRejected, ChatUnavailable
from rules.clock import Clock, SystemClock

log = logging.getLogger(__name__)

ROLE_CACHE_SECONDS = 300.0


class UsersApi(Protocol):
    def users_info(self, *, username: str | None = None,
                   user_id: str | None = None) -> dict[str, Any] | None: ...


class AdminCheck:
    def __init__(self, settings: RocketChatSettings, rest: Callable[[], UsersApi],
                 clock: Clock | None = None) -> None:
        self.settings = settings
        self._rest = rest
        self.clock = clock or SystemClock()  # how old a user's cached roles are
        self._roles: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, user_id: str | None, username: str | None) -> bool:
        admins = {a.lower() for a in self.settings.admins}
        if username and username.lower() in admins:
            return True
        wanted = set(self.settings.admin_roles)
        return bool(wanted and user_id and wanted & self.roles_of(user_id))

    def roles_of(self, user_id: str) -> frozenset[str]:
        now = self.clock.monotonic()
        with self._lock:
            cached = self._roles.get(user_id)
            if cached is not None and now - cached[0] < ROLE_CACHE_SECONDS:
                return cached[1]
        try:
            user = self._rest().users_info(user_id=user_id) or {}
        except (ChatRejected, ChatUnavailable) as exc:
            log.warning("cannot read the roles of %s: %s", user_id, exc)
            return frozenset()  # not cached: asked again next time
        roles = frozenset(str(r) for r in user.get("roles") or ())
        with self._lock:
            self._roles[user_id] = (now, roles)
        return roles
