"""What a ``SIGHUP`` may change in a running service, and what needs a restart.

:func:`plan` compares the running settings with the file read again: every changed key is
either applied (users, webhook tokens and paths, endpoints, the chat policy and admins, rule
folders, retention, ``http.public_url``) or, for the keys in :data:`RESTART_ONLY`, named in a
warning and kept at its running value. ``Runtime.reload`` (bot/service/runtime.py) applies the
plan's ``effective`` settings; a file that does not load changes nothing.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, replace

from bot.config import EndpointSettings, Settings
from bot.config.show import changed_keys

__all__ = ["RESTART_ONLY", "Plan", "needs_restart", "plan"]

log = logging.getLogger(__name__)

# Keys read once at start: the listening socket, the database and its lease, the Rocket.Chat
# login and realtime connection, the session key, the delivery policy of the sender.
RESTART_ONLY = ("http.host", "http.port", "http.threads", "http.max_body_bytes",
                "http.trusted_proxies", "http.secret_key", "database.*", "rocketchat",
                "rocketchat.url", "rocketchat.user_id", "rocketchat.token", "rocketchat.user",
                "rocketchat.password", "rocketchat.realtime", "delivery.*")
_CONNECTION = ("url", "user_id", "token", "user", "password", "realtime")


@dataclass(frozen=True)
class Plan:
    effective: Settings  # the new settings with every restart-only key at its running value
    applied: tuple[str, ...]  # changed keys that take effect now
    restart: tuple[str, ...]  # changed keys that wait for a restart

    def log(self) -> None:
        if self.applied:
            log.info("configuration reloaded; changed: %s", ", ".join(self.applied))
        else:
            log.info("configuration reloaded; no setting changed")
        if self.restart:
            log.warning("these settings need a restart and keep their running values until "
                        "then: %s", ", ".join(self.restart))


def needs_restart(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in RESTART_ONLY)


def plan(running: Settings, new: Settings) -> Plan:
    changed = changed_keys(running, new)
    effective = _keep_restart_only(running, new)
    restart = [k for k in changed if needs_restart(k)]
    applied = [k for k in changed_keys(running, effective) if not needs_restart(k)]
    return Plan(effective, tuple(applied), tuple(restart))


def _keep_restart_only(running: Settings, new: Settings) -> Settings:
    old_http = running.http
    http = replace(new.http, host=old_http.host, port=old_http.port, threads=old_http.threads,
                   max_body_bytes=old_http.max_body_bytes,
                   trusted_proxies=old_http.trusted_proxies, secret_key=old_http.secret_key)
    rocketchat = running.rocketchat
    if rocketchat is not None and new.rocketchat is not None:
        rocketchat = replace(new.rocketchat,
                             **{k: getattr(rocketchat, k) for k in _CONNECTION})
    endpoints = _endpoints(running, new, chat=rocketchat is not None)
    return replace(new, http=http, database=running.database, rocketchat=rocketchat,
                   endpoints=endpoints, delivery=running.delivery)


def _endpoints(running: Settings, new: Settings, *, chat: bool) -> dict[str, EndpointSettings]:
    """The new endpoints, less Rocket.Chat ones while the running service has no chat side
    (adding ``[rocketchat]`` needs a restart), plus the running ones while it keeps it."""
    found = {n: e for n, e in new.endpoints.items() if chat or e.kind != "rocketchat"}
    if chat and new.rocketchat is None:
        found.update({n: e for n, e in running.endpoints.items() if e.kind == "rocketchat"})
    return found
