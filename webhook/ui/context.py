"""What the web UI needs from the running service, as plain callables.

The UI never reaches into the engine's internals: the service (bot/service/ui_wiring.py)
builds a :class:`UiServices` from whatever parts it runs and hands it to
:func:`webhook.ui.install`. A ``None`` callable means the part is not running; the page then
says so instead of failing. Tests give fakes. Pages get it with :func:`services`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules.clock import SystemClock
from rules.command import MessageCommand
from rules.silences import Matcher, Silence
from rules.store import Database
from webhook.settings import AppSettings
from webhook.throttle import Throttle

EXTENSION = "atsd_ui"  # the key of the app's UiServices in ``app.extensions``


@dataclass(frozen=True)
class RuleFileCheck:
    """The result of validating (and maybe importing) one uploaded rule file."""

    ok: bool
    rules: Sequence[str] = ()  # names of the rules the file holds
    errors: Sequence[str] = ()  # each names the file, the rule and the fault
    imported: bool = False
    path: str | None = None  # where it was saved when imported


@dataclass
class UiServices:
    db: Database
    settings: AppSettings
    # (username, password) -> True when they match a configured user (constant time).
    verify_password: Callable[[str, str], bool] | None = None
    # webhook request id -> what the replay made: {"status": int, "outcome": str, ...}
    replay: Callable[[int], Mapping[str, Any]] | None = None
    # (alert id, acknowledged, by=who) -> False when there is no such open alert
    acknowledge: Callable[..., bool] | None = None
    # (alert id, by=who, reason=why) -> False when there is no such open alert
    resolve: Callable[..., bool] | None = None
    # () -> whether this instance runs the engine now (with several instances, one does)
    runs_engine: Callable[[], bool] = lambda: True
    # () -> loaded rules as dicts with at least name, enabled, origin, and a `text` export
    list_rules: Callable[[], Sequence[Mapping[str, Any]]] | None = None
    # (file name, content) -> check; ``import_rules`` also saves and reloads on success
    validate_rules: Callable[[str, bytes], RuleFileCheck] | None = None
    import_rules: Callable[[str, bytes], RuleFileCheck] | None = None
    export_rules: Callable[[], str] | None = None
    # (rule name, commands) -> a JSON-able report of what each stage decided
    dry_run: Callable[[str, Sequence[MessageCommand]], Any] | None = None
    # outbox id -> False when it cannot be retried (unknown or already delivered)
    retry_notification: Callable[[int], bool] | None = None
    # () -> the /healthz body (paths, outbox depth)
    health: Callable[[], Mapping[str, Any]] | None = None
    # (include ended) -> silences, newest first
    list_silences: Callable[[bool], Sequence[Silence]] | None = None
    # (matchers, duration, author, comment) -> the new silence
    create_silence: Callable[[Sequence[Matcher], timedelta, str, str], Silence] | None = None
    # an alert row (rule, entity, severity, tags) -> the id of the silence covering it, or None
    silence_of: Callable[[Mapping[str, Any]], int | None] | None = None
    # (silence id, who) -> the ended silence, None when it was not active
    expire_silence: Callable[[int, str], Silence | None] | None = None
    # the engine's clock (a test's may stand still); the service sets it
    now: Callable[[], datetime] = field(default_factory=lambda: SystemClock().now)
    versions: Mapping[str, str] = field(default_factory=dict)
    extra_secrets: Sequence[str] = ()
    # failed logins per (address, user name); in memory, per app
    login_throttle: Throttle = field(default_factory=Throttle)

    def secrets(self) -> list[str]:
        return self.settings.secrets() + list(self.extra_secrets)


def services() -> UiServices:
    """The services of the app serving the current request."""
    from flask import current_app

    found: UiServices = current_app.extensions[EXTENSION]
    return found
