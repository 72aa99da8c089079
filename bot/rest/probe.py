"""The start-up probe of the Rocket.Chat server: version, login, the permissions the bot needs.

``atsd-bot serve`` runs it before it starts the realtime client (again while the server does
not answer), and logs one line per finding, so an operator reads what is missing instead of
guessing from a reconnect loop:

- the server does not answer or is not Rocket.Chat (``/api/info``): :func:`probe_at_start`
  tries again until the give-up time (so that ``serve`` exits within 30 s of its start), then
  raises :class:`bot.errors.StartError` with ``EXIT_UNAVAILABLE`` (4) and one line naming the
  cause and the fix; an outage after the start is the realtime client's to ride out;
- it answers but rate-limits (429) or fails (5xx) the login until the give-up time: the start
  goes on with a warning (the server is there and refused nothing);
- Rocket.Chat refuses the bot's credentials: an error; :func:`probe` raises
  :class:`bot.errors.ChatRejected` at once and the service refuses to start (exit 3);
- the bot lacks the ``bot`` role or a permission it needs: a warning naming the permission
  and where to grant it (the start itself needs only the login; replies and rooms that need
  the permission fail later, each with its own line).

Plain ``requests`` calls, so that the probe depends on nothing but the server's REST API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from bot.config import RocketChatSettings
from bot.errors import ChatRejected, ChatUnavailable, StartError
from bot.exit_codes import EXIT_UNAVAILABLE

log = logging.getLogger(__name__)

TIMEOUT = 5.0
RETRY_SECONDS = 2.0  # between start-up probes of a server that does not answer
# permission id -> why the bot needs it (Administration > Permissions in Rocket.Chat)
NEEDED = {
    "view-d-room": "to read its direct messages",
    "create-d": "to open a direct message with a user",
    "view-c-room": "to read public channels it is mentioned in",
}
USEFUL = {
    "api-bypass-rate-limit": "to reply without hitting the REST rate limiter",
}


@dataclass
class ProbeReport:
    url: str
    reachable: bool = False
    version: str | None = None
    user_id: str | None = None
    username: str | None = None
    roles: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)  # a reason to act, each naming the fix
    unchecked: list[str] = field(default_factory=list)  # what could not be checked, and why

    def lines(self) -> list[str]:
        if not self.reachable:
            return self.warnings
        if self.username is None and self.user_id is None:  # answered, login not checked
            return [f"Rocket.Chat at {self.url} answers", *self.warnings, *self.unchecked]
        head = (f"Rocket.Chat {self.version or '(version unknown)'} at {self.url}: logged in as "
                f"{self.username or self.user_id} (roles: {', '.join(self.roles) or 'none'})")
        return [head, *self.warnings, *self.unchecked]


def probe(settings: RocketChatSettings, session: requests.Session | None = None, *,
          timeout: float = TIMEOUT) -> ProbeReport:
    """Check the server (``timeout`` per request); raises ``ChatRejected`` when the
    credentials are refused."""
    http = session or requests.Session()
    report = ProbeReport(url=settings.url)
    try:
        info = _json(http.get(f"{settings.url}/api/info", timeout=timeout))
    except requests.RequestException as exc:
        report.warnings.append(f"Rocket.Chat at {settings.url} does not answer "
                               f"({unreachable_reason(exc)}); check rocketchat.url and that "
                               "Rocket.Chat runs")
        return report
    if not isinstance(info, dict) or info.get("success") is not True:
        report.warnings.append(f"{settings.url} does not look like Rocket.Chat (/api/info did "
                               "not answer success); check rocketchat.url")
        return report
    report.reachable = True
    report.version = str(info.get("version") or "") or None
    headers = _login(http, settings, timeout)
    me_answer = http.get(f"{settings.url}/api/v1/me", headers=headers, timeout=timeout)
    _not_now(me_answer, settings.url, "me")
    me = _json(me_answer)
    if not isinstance(me, dict) or not me.get("_id"):
        raise ChatRejected(f"Rocket.Chat at {settings.url} refused the bot's token "
                           "(GET /api/v1/me); check rocketchat.user_id and rocketchat.token")
    report.user_id = str(me["_id"])
    report.username = me.get("username")
    report.roles = tuple(str(r) for r in me.get("roles") or ())
    granted = _granted(http, settings.url, headers, report, timeout)
    many = granted.get("send-many-messages", set()) & set(report.roles)
    if "bot" not in report.roles and not many:
        report.warnings.append(f"user {report.username} has neither the 'bot' role nor the "
                               "'send-many-messages' permission: Rocket.Chat rate-limits its "
                               "messages; add the bot role in Administration > Users")
    if granted:
        report.warnings += _missing(granted, set(report.roles))
    return report


def probe_at_start(settings: RocketChatSettings, deadline: float, *,
                   sleep: Callable[[float], None] = time.sleep,
                   session: requests.Session | None = None) -> ProbeReport:
    """:func:`probe` until the server answers and takes the bot's login, or until
    ``deadline`` (``time.monotonic()``): then a ``StartError`` with ``EXIT_UNAVAILABLE`` when
    the server never answered as Rocket.Chat. One that did answer but kept rate-limiting (429)
    or failing (5xx) the login is there and has refused nothing: the start goes on with that
    as a warning (a supervised service restarted a few times in a row meets Rocket.Chat's login
    rate limit; exiting would keep its webhook path down too), and the realtime client logs in
    when the server lets it. Refused credentials raise ``ChatRejected`` at once: waiting does
    not fix them. A request waits no longer than the time left, so a server that does not
    answer at all (packets dropped) is given up on by the deadline too."""
    attempt = 0
    answered = False  # Rocket.Chat's /api/info answered: the server is there
    while True:
        attempt += 1
        left = max(deadline - time.monotonic(), RETRY_SECONDS)
        try:
            report = probe(settings, session, timeout=min(TIMEOUT, left))
            if report.reachable:
                return report
            reason = report.warnings[0]
        except ChatUnavailable as exc:  # raised only after /api/info answered
            reason, answered = str(exc), True
        except requests.RequestException as exc:
            reason = (f"Rocket.Chat at {settings.url} stopped answering "
                      f"({unreachable_reason(exc)})")
        if time.monotonic() + RETRY_SECONDS > deadline:
            if answered:
                return ProbeReport(url=settings.url, reachable=True, unchecked=[
                    f"{reason}; tried {attempt} times; starting anyway: the realtime client "
                    "and the outbox log in when Rocket.Chat lets them"])
            raise StartError(f"{_cause(reason)}; gave up after {attempt} attempts; start "
                             "Rocket.Chat or fix rocketchat.url (or remove [rocketchat] to run "
                             "without the chat side)", EXIT_UNAVAILABLE)
        if attempt == 1:
            log.warning("%s; trying again for up to %.0f s", reason,
                        max(0.0, deadline - time.monotonic()))
        sleep(RETRY_SECONDS)


def _cause(reason: str) -> str:
    """A probe finding without its own advice (the give-up line says what to change)."""
    return reason.split("; check rocketchat.url", 1)[0]


def unreachable_reason(exc: BaseException) -> str:
    """Why a request did not reach the server, in words: a name that does not resolve, a
    refused connection, a timeout."""
    text = str(exc)
    if isinstance(exc, requests.Timeout):
        return "no answer within the timeout"
    if "NameResolutionError" in text or "Name or service not known" in text \
            or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "its host name does not resolve"
    if "Connection refused" in text:
        return "connection refused"
    return type(exc).__name__


def _not_now(answer: requests.Response, url: str, what: str) -> None:
    """A rate-limited (429) or failing (5xx) server has not refused the credentials: after a
    few quick restarts Rocket.Chat rate-limits the login, and exiting with "refused" (code 3)
    would stop a supervised service for good. The start tries again (:func:`probe_at_start`);
    ``config check`` reports it."""
    if answer.status_code == 429 or answer.status_code >= 500:
        raise ChatUnavailable(f"Rocket.Chat at {url} answered {answer.status_code} to {what}; "
                              "credentials not checked now")


def _login(http: requests.Session, settings: RocketChatSettings,
           timeout: float) -> dict[str, str]:
    if settings.token and settings.user_id:
        return {"X-User-Id": settings.user_id, "X-Auth-Token": settings.token}
    body = {"username": settings.user, "password": settings.password}
    answer = http.post(f"{settings.url}/api/v1/login", json=body, timeout=timeout)
    _not_now(answer, settings.url, "login")
    data = _json(answer)
    inner = data.get("data") if isinstance(data, dict) else None
    if answer.status_code == 401 or not isinstance(inner, dict):
        raise ChatRejected(f"Rocket.Chat at {settings.url} refused the login of "
                           f"{settings.user}; check rocketchat.user and rocketchat.password")
    return {"X-User-Id": str(inner.get("userId")), "X-Auth-Token": str(inner.get("authToken"))}


def _granted(http: requests.Session, url: str, headers: dict[str, str],
             report: ProbeReport, timeout: float) -> dict[str, set[str]]:
    """Permission id -> the roles holding it; empty (and noted) when it cannot be read."""
    try:
        answer = http.get(f"{url}/api/v1/permissions.listAll", headers=headers,
                          timeout=timeout)
    except requests.RequestException:
        report.unchecked.append("could not read the server's permissions; not checked")
        return {}
    data = _json(answer)
    found = data.get("update") if isinstance(data, dict) else None
    if answer.status_code != 200 or not isinstance(found, list):
        report.unchecked.append("could not read the server's permissions (permissions.listAll "
                                f"answered HTTP {answer.status_code}); not checked")
        return {}
    return {str(p.get("_id")): set(p.get("roles") or ()) for p in found if isinstance(p, dict)}


def _missing(granted: dict[str, set[str]], roles: set[str]) -> list[str]:
    out = []
    for table, kind in ((NEEDED, "missing permission"), (USEFUL, "without permission")):
        for permission, why in table.items():
            holders = granted.get(permission)
            if holders is not None and not holders & roles:
                out.append(f"{kind} {permission!r} ({why}); grant it to one of the bot's "
                           "roles in Administration > Permissions")
    return out


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
