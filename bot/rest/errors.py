"""How a failed Rocket.Chat REST answer becomes an error a caller can act on.

:class:`RestRejected` (a :class:`~bot.errors.ChatRejected`: credentials, permission,
validation, two-factor; retrying will not help) or :class:`RestUnavailable` (a
:class:`~bot.errors.ChatUnavailable`: unreachable, 5xx, 429, not Rocket.Chat at all; try
again later, after ``retry_after`` seconds when the server said so). Texts quote only the
server's ``error``/``errorType`` and the endpoint, never a request's secrets.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from rocketchat_API.APIExceptions.RocketExceptions import (
    RocketApiException,
    RocketBadStatusCodeException,
)

from bot.errors import ChatRejected, ChatUnavailable

T = TypeVar("T")

_WAIT_RE = re.compile(r"wait (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)


class RestRejected(ChatRejected):
    """Rocket.Chat refused the request; ``error_type`` is the server's code (may be None)."""

    def __init__(self, message: str, *, status: int | None = None,
                 error_type: str | None = None, hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.status = status
        self.error_type = error_type
        self.hint = hint


class RestUnavailable(ChatUnavailable):
    """Rocket.Chat could not serve the request now; ``retry_after`` seconds when rate-limited."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def run_translated(endpoint: str, url: str, timeout: float, call: Callable[[], T],
                   last: Any) -> T:
    """Run one ``rocketchat_API`` call and raise only RestRejected / RestUnavailable.

    ``last`` is the caller's thread-local: ``last.response`` is the latest HTTP response (set
    by a session hook, for the rate-limit headers); ``last.json`` is set here to the failed
    answer's body so that the caller can read a two-factor challenge's details.
    """
    last.json = None
    try:
        answer = call()
    except requests.Timeout:
        raise RestUnavailable(f"{endpoint}: {url} did not answer within {timeout:g} s; "
                              "check the server or try later") from None
    except requests.ConnectionError:
        raise RestUnavailable(f"cannot connect to {url}; check the URL and that Rocket.Chat "
                              "is running") from None
    except requests.RequestException as exc:
        raise RestUnavailable(f"{endpoint}: request to {url} failed: {type(exc).__name__}; "
                              "check the URL") from None
    except (RocketApiException, RocketBadStatusCodeException) as exc:
        last.json = exc.response_json
        headers = getattr(getattr(last, "response", None), "headers", None) or {}
        raise classify(endpoint, url, exc.status_code, exc.response_json, headers) from None
    if not isinstance(answer, dict | list):
        # json_or_error returns the raw text when a 2xx body is not JSON
        raise RestUnavailable(f"{endpoint}: {url} answered with something that is not JSON; "
                              "is this a Rocket.Chat server URL?")
    return answer


def classify(endpoint: str, url: str, status: int, body: Any,
             headers: Any) -> RestRejected | RestUnavailable:
    """Turn one failed HTTP answer into the error a caller can act on."""
    data = body if isinstance(body, dict) else {}
    error = str(data.get("error") or data.get("message") or "").strip()
    error_type = data.get("errorType") or (error if error == "totp-required" else None)
    unavailable = _unavailable(endpoint, url, status, bool(data), error, error_type, headers)
    if unavailable is not None:
        return unavailable
    return _rejected(endpoint, status, error, error_type)


def _unavailable(endpoint: str, url: str, status: int, is_json: bool, error: str,
                 error_type: str | None, headers: Any) -> RestUnavailable | None:
    """The answers worth retrying: not Rocket.Chat's JSON, rate-limited, a server error."""
    if not is_json and status != 429 and status < 500:
        return RestUnavailable(f"{endpoint}: {url} answered HTTP {status} without Rocket.Chat "
                               "JSON; is this a Rocket.Chat server URL?", status=status)
    if status == 429 or error_type == "error-too-many-requests":
        wait = retry_after(headers, error)
        suffix = f"; retry in {wait:.0f} s" if wait is not None else "; try again later"
        return RestUnavailable(f"{endpoint}: rate-limited by Rocket.Chat{suffix}",
                               status=status, retry_after=wait)
    if status >= 500:
        return RestUnavailable(f"{endpoint}: Rocket.Chat server error HTTP {status}"
                               + (f": {error}" if error else "") + "; try again later",
                               status=status)
    return None


def _rejected(endpoint: str, status: int, error: str, error_type: str | None) -> RestRejected:
    """A refusal, with a hint for the ones an operator can fix (2FA, credentials, rights)."""
    if error_type == "totp-required":
        return RestRejected(
            f"{endpoint}: the account has two-factor authentication on", status=status,
            error_type="totp-required",
            hint="use a personal access token created with 'Ignore Two Factor "
                 "Authentication' (--admin-id/--admin-token) or pass a current 2FA code")
    if status == 401:
        return RestRejected(f"{endpoint}: Rocket.Chat refused the credentials"
                            + (f" ({error})" if error else ""), status=status,
                            error_type=error_type,
                            hint="check the user and password (or user id and token)")
    if status == 403 or error_type in ("error-unauthorized", "error-not-allowed",
                                       "error-action-not-allowed"):
        return RestRejected(f"{endpoint}: permission denied ({error or status})",
                            status=status, error_type=error_type,
                            hint="use an account with the admin role or grant the "
                                 "missing permission in Administration > Permissions")
    label = f"[{error_type}] " if error_type and f"[{error_type}]" not in error else ""
    return RestRejected(f"{endpoint}: Rocket.Chat refused the request: {label}"
                        f"{error or f'HTTP {status}'}", status=status, error_type=error_type)


def retry_after(headers: Any, error_text: str, now: float | None = None) -> float | None:
    """Seconds to wait: from ``X-RateLimit-Reset`` (epoch ms) or "wait N seconds" in the text."""
    reset = headers.get("X-RateLimit-Reset") if headers is not None else None
    if reset:
        try:
            moment = float(reset) / 1000.0
        except ValueError:
            moment = None
        if moment is not None:
            return max(0.0, moment - (time.time() if now is None else now))
    match = _WAIT_RE.search(error_text or "")
    return float(match.group(1)) if match else None
