"""``GET /healthz``: liveness plus readiness of each path, for probes and for operators.

The answer is JSON::

    {"status": "ok" | "degraded" | "starting" | "stopping", "live": true, "ready": true,
     "uptime_seconds": 12.5, "version": "0.1.0",
     "database": {"ok": true},
     "paths": {"webhook": {"ready": true, "listening": "http://127.0.0.1:8088"},
               "realtime": {"configured": true, "connected": true, "logged_in": true,
                            "subscribed": true, "last_event": "2026-...Z"}},
     "outbox": {"depth": 0, "failed": 0}}

**Decision:** ``status`` is ``ok`` (and the code ``200``) when the service can accept
messages: the webhook server listens and the database answers. A realtime connection that is
down is listed under ``degraded`` but keeps ``ok``: messages still arrive through the outgoing
webhook and replies still go out over REST, so a load balancer must not take the instance
out. Otherwise ``status`` is ``starting``, ``stopping`` or ``unavailable`` and the code is
``503``. The route itself is ``webhook/app.py``'s; it calls ``AppContext.health``, which the
service sets to :meth:`HealthState.report`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import __version__
from rules.store import Database

log = logging.getLogger(__name__)



@dataclass
class HealthState:
    """What the running service knows about itself; the service updates it as parts start."""

    db: Database | None = None
    started_at: float = field(default_factory=time.monotonic)
    webhook_url: str | None = None
    webhook_ready: bool = False
    stopping: bool = False
    # Each returns a small JSON-able dict; set by the service when the part exists.
    realtime_status: Callable[[], dict[str, Any]] | None = None
    outbox_status: Callable[[], dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def mark_webhook_ready(self, url: str) -> None:
        with self._lock:
            self.webhook_url = url
            self.webhook_ready = True

    def report(self) -> dict[str, Any]:
        """The body of ``/healthz``; ``status == "ok"`` means ready."""
        database = self._database()
        webhook = {"ready": self.webhook_ready, "listening": self.webhook_url}
        realtime = _call(self.realtime_status, {"configured": False})
        outbox = _call(self.outbox_status, {"depth": None})
        ready = self.webhook_ready and bool(database["ok"]) and not self.stopping
        degraded = []
        # "active": false on an instance that does not hold the lease: not a fault there
        if realtime.get("configured") and realtime.get("active", True) and not (
            realtime.get("connected") and realtime.get("logged_in")
        ):
            degraded.append("realtime")
        return {
            "status": _overall(ready, self.stopping, self.webhook_ready),
            "live": True,
            "ready": ready,
            "degraded": degraded,
            "uptime_seconds": round(time.monotonic() - self.started_at, 3),
            "version": __version__,
            "database": database,
            "paths": {"webhook": webhook, "realtime": realtime},
            "outbox": outbox,
        }

    def _database(self) -> dict[str, Any]:
        if self.db is None:
            return {"ok": False, "error": "not opened"}
        try:
            self.db.ping()
        except Exception as exc:  # the probe reports any failure; it must never raise
            return {"ok": False, "error": type(exc).__name__}
        return {"ok": True, "dialect": self.db.dialect}


def _overall(ready: bool, stopping: bool, webhook_ready: bool) -> str:
    if ready:
        return "ok"
    if stopping:
        return "stopping"
    return "starting" if not webhook_ready else "unavailable"


def _call(provider: Callable[[], dict[str, Any]] | None, default: dict[str, Any]) -> dict[str, Any]:
    if provider is None:
        return default
    try:
        return provider()
    except Exception as exc:  # a broken provider shows up in the body, not as a 500
        log.warning("health provider failed: %s", exc)
        return {**default, "error": type(exc).__name__}
