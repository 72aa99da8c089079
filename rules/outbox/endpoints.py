"""The log and generic HTTP endpoints, and building endpoints from the configuration.

The Rocket.Chat endpoint lives in :mod:`bot.rest.endpoint` (it needs the REST client); the service
adds it to the mapping :func:`build_endpoints` returns.

HTTP endpoint contract: ``POST`` of a JSON object ``{"id", "rule", "trigger", "alert_id",
"text", "target"}`` with the configured headers and an ``Idempotency-Key: atsd-bot-<id>``
header (the outbox row id: a receiver can drop the second copy after a retry). A ``2xx`` is
delivered; ``408``, ``425``, ``429`` and ``5xx`` are retried (``Retry-After`` honoured);
any other status is a permanent failure. Error texts never include the URL or the headers,
which may carry credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from rules.command import utcnow
from rules.notification import DeliveryError, DeliveryResult, Endpoint, Notification

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429})


class LogEndpoint:
    """Writes each notification to the log (logger ``atsd_bot.notifications``)."""

    def __init__(self, name: str = "log") -> None:
        self.name = name

    def deliver(self, notification: Notification) -> DeliveryResult:
        log.info("[%s] %s %s alert=%s: %s", notification.rule, notification.trigger,
                 self.name, notification.alert_id, notification.text)
        return DeliveryResult(status=None, detail="logged")


class HttpEndpoint:
    """POSTs notifications as JSON to one URL."""

    def __init__(self, name: str, url: str, *, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0, session: requests.Session | None = None) -> None:
        self.name = name
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.session = session or requests.Session()

    def deliver(self, notification: Notification) -> DeliveryResult:
        body = {"id": notification.id, "rule": notification.rule,
                "trigger": notification.trigger, "alert_id": notification.alert_id,
                "text": notification.text, "target": notification.target}
        headers = {"Content-Type": "application/json", **self.headers}
        if notification.id is not None:
            headers["Idempotency-Key"] = f"atsd-bot-{notification.id}"
        try:
            response = self.session.post(self.url, json=body, headers=headers,
                                         timeout=self.timeout)
        except requests.Timeout:
            raise DeliveryError(f"no answer within {self.timeout:g}s") from None
        except requests.RequestException as exc:
            # the exception text may repeat the URL (and credentials in it): name the kind only
            raise DeliveryError(f"connection failed ({type(exc).__name__})") from None
        return _result(response)


def _result(response: requests.Response) -> DeliveryResult:
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult(status=status, detail=response.text[:200])
    retryable = status in RETRYABLE_STATUS or status >= 500
    raise DeliveryError(f"HTTP {status} {response.reason or ''}".strip(), retryable=retryable,
                        retry_after=retry_after(response.headers.get("Retry-After")),
                        status=status)


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def build_endpoints(configured: Mapping[str, Any]) -> dict[str, Endpoint]:
    """Log and HTTP endpoints from ``settings.endpoints`` (Rocket.Chat ones are skipped)."""
    endpoints: dict[str, Endpoint] = {"log": LogEndpoint("log")}
    for name, spec in configured.items():
        if spec.kind == "log":
            endpoints[name] = LogEndpoint(name)
        elif spec.kind == "http":
            endpoints[name] = HttpEndpoint(name, spec.url, headers=spec.headers,
                                           timeout=spec.timeout)
    return endpoints


def endpoint_targets(configured: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Default targets for the engine: a Rocket.Chat endpoint's configured room, if any.

    Every Rocket.Chat endpoint gets a ``room_id`` key, so the engine knows to address it;
    ``None`` means "the room the triggering message came from".
    """
    return {name: {"room_id": spec.room} for name, spec in configured.items()
            if spec.kind == "rocketchat"}
