"""Who may call: configured users, HTTP Basic, roles, per-user limits, throttling, incidents.

- Passwords are compared in constant time, also for unknown users (a dummy comparison of the
  same kind runs), so response timing does not tell which user names exist.
- ``password_hash`` is any werkzeug hash (scrypt, pbkdf2). Such checks take tens of
  milliseconds by design; a successful check is remembered as an HMAC under a per-process
  random key so that a busy webhook does not pay it on every request.
- Every refusal is a security incident (time, address, path, user tried, reason); the
  password is never recorded. After ``max_failures`` guesses (wrong or malformed credentials,
  a wrong body token) from one address within
  ``window`` seconds, that address gets ``429`` with ``Retry-After`` for ``lockout`` seconds,
  each attempt still recorded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, NoReturn, TypeVar

from flask import request as flask_request
from werkzeug.security import check_password_hash, generate_password_hash

from bot.config.load import Settings, UserSettings
from rules.clock import Clock
from rules.expr import wildcard
from rules.store import Database, diagnostics
from webhook.capture import full_path, redact
from webhook.context import AppContext, current_ctx
from webhook.errors import ApiError
from webhook.parse import client_ip

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
CHALLENGE = {"WWW-Authenticate": 'Basic realm="atsd-bot", charset="UTF-8"'}
_MAX_TRACKED = 10_000  # addresses whose failures are remembered (oldest forgotten first)
_MAX_VERIFIED = 1_000


class Authenticator:
    """Checks Basic credentials against ``settings.users`` and records refusals."""

    def __init__(self, settings: Settings, db: Database, clock: Clock, *,
                 max_failures: int = 10, window: float = 60.0, lockout: float = 60.0) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.max_failures = max_failures
        self.window = timedelta(seconds=window)
        self.lockout = timedelta(seconds=lockout)
        self._users = {u.name: u for u in settings.users}
        self._key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        self._failures: dict[str, deque[datetime]] = {}
        self._blocked: dict[str, datetime] = {}
        self._lock = threading.Lock()
        # Unknown users are checked against this so that they cost what a real check costs.
        self._dummy_hash = (generate_password_hash(secrets.token_hex(16))
                            if any(u.password_hash for u in settings.users) else None)

    # -- credentials ------------------------------------------------------------------

    def verify_password(self, name: str, password: str) -> UserSettings | None:
        """The user when ``password`` is right, else None; constant time per kind of user."""
        user = self._users.get(name)
        if user is None:
            self._dummy_check(password)
            return None
        if user.password_hash:
            return user if self._check_hash(user, password) else None
        return user if same_secret(password, user.password or "") else None

    def _check_hash(self, user: UserSettings, password: str) -> bool:
        assert user.password_hash is not None
        stamp = hmac.new(self._key, f"{user.name}\x00{password}\x00{user.password_hash}"
                         .encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        if stamp in self._verified:
            return True
        if not check_password_hash(user.password_hash, password):
            return False
        with self._lock:
            if len(self._verified) >= _MAX_VERIFIED:
                self._verified.clear()
            self._verified.add(stamp)
        return True

    def _dummy_check(self, password: str) -> None:
        if self._dummy_hash is not None:
            check_password_hash(self._dummy_hash, password)
        else:
            same_secret(password, secrets.token_hex(16))

    # -- requests ---------------------------------------------------------------------

    def check_basic(self, request: Any, role: str) -> UserSettings:
        """The authenticated user holding ``role`` (``admin`` holds all), or ``ApiError``.

        ``request`` is a Flask/werkzeug request. Refusals are recorded as incidents first.
        """
        return self.check_roles(request, (role,))

    def check_roles(self, request: Any, roles: tuple[str, ...]) -> UserSettings:
        addr = client_ip(request.remote_addr or "", request.headers.get("X-Forwarded-For"),
                         self.settings.http.trusted_proxies)
        path = full_path(request)
        wait = self.blocked_for(addr)
        if wait is not None:
            name = _claimed_user(request.headers.get("Authorization"))
            self.record_incident(addr, path, name, "throttled: too many failed attempts")
            raise ApiError(429, "too many failed attempts from this address; retry later",
                           headers={"Retry-After": str(wait)}, outcome="rejected")
        try:
            name, password = parse_basic(request.headers.get("Authorization"))
        except ValueError as exc:
            # a request without credentials is a client's first try (the Basic challenge
            # follows), not a guess: recorded, but not counted towards the throttle
            self.fail(addr, path, None, str(exc), 401, "authentication required: " + str(exc),
                      counts=request.headers.get("Authorization") is not None)
        user = self.verify_password(name, password)
        if user is None:
            reason = "unknown user" if name not in self._users else "wrong password"
            self.fail(addr, path, name, reason, 401, "invalid user name or password")
        if "admin" not in user.roles and not set(roles) & set(user.roles):
            wanted = " or ".join(roles)
            self.fail(addr, path, name, f"not permitted: needs role {wanted}", 403,
                      f"user {name!r} does not have role {wanted}", counts=False)
        return user

    def check_limits(self, user: UserSettings, *, addr: str, path: str,
                     webhook_path: str | None = None, entity: str | None = None) -> None:
        """Enforce the user's ``paths``/``entities`` patterns (names case-insensitive)."""
        if webhook_path is not None and user.paths and not wildcard.match_any(
                user.paths, webhook_path, ignore_case=True):
            self.fail(addr, path, user.name, "not permitted for this path", 403,
                      "not permitted for this path", counts=False)
        if entity is not None and user.entities and not wildcard.match_any(
                user.entities, entity, ignore_case=True):
            self.fail(addr, path, user.name, "not permitted for this entity", 403,
                      "not permitted for this entity", counts=False)

    def fail(self, addr: str, path: str, user: str | None, reason: str, status: int,
             message: str, *, counts: bool = True) -> NoReturn:
        """Record an incident, count the failure, raise the client-facing error.

        Only guesses count towards the throttle (``counts``): a wrong password, an unknown
        user, malformed credentials, a wrong body token. A user who proved its password but
        lacks a role or may not write an entity is refused and recorded, not throttled:
        locking its address out would protect no secret and stop its good requests too.
        """
        self.record_incident(addr, path, user, reason)
        if counts:
            self._count_failure(addr)
        headers = CHALLENGE if status == 401 else {}
        raise ApiError(status, message, headers=headers, outcome="rejected")

    def record_incident(self, addr: str, path: str, user: str | None, reason: str) -> None:
        # a client may put a secret in the path or query (by mistake or to probe us)
        path = redact(path, self.settings)
        log.warning("security incident: %s from %s on %s (user %r)", reason, addr,
                    path.split("?")[0], user)
        try:
            with self.db.begin() as conn:
                diagnostics.record_incident(
                    conn, at=self.clock.now(), remote_addr=addr, path=path, user=user,
                    reason=reason, keep=self.settings.webhook.request_log_size)
        except Exception:
            # The refusal itself still happens; the log line above keeps the trace.
            log.exception("could not record a security incident")

    # -- throttling -------------------------------------------------------------------

    def blocked_for(self, addr: str) -> int | None:
        """Seconds ``addr`` must still wait, or None when it may try."""
        now = self.clock.now()
        with self._lock:
            until = self._blocked.get(addr)
            if until is None:
                return None
            if until <= now:
                del self._blocked[addr]
                return None
            return max(1, int((until - now).total_seconds() + 0.999))

    def _count_failure(self, addr: str) -> None:
        now = self.clock.now()
        with self._lock:
            times = self._failures.pop(addr, None) or deque()
            self._failures[addr] = times  # re-inserted: dict order is recency order
            times.append(now)
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.max_failures:
                self._blocked[addr] = now + self.lockout
                times.clear()
            while len(self._failures) > _MAX_TRACKED:
                self._failures.pop(next(iter(self._failures)))
            while len(self._blocked) > _MAX_TRACKED:
                self._blocked.pop(next(iter(self._blocked)))


def parse_basic(header: str | None) -> tuple[str, str]:
    """``(user, password)`` from a Basic ``Authorization`` header; ``ValueError`` says why not.

    URL credentials (``http://user:pass@host/``) arrive here too: clients send them as this
    header. The text is UTF-8 (RFC 7617 ``charset="UTF-8"``), else Latin-1 as older clients do.
    """
    if not header:
        raise ValueError("no credentials")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise ValueError("malformed Authorization header: expected Basic credentials")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("malformed Authorization header: not base64") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    name, sep, password = text.partition(":")
    if not sep or not name:
        raise ValueError("malformed Authorization header: expected user:password")
    return name, password


def _claimed_user(header: str | None) -> str | None:
    try:
        return parse_basic(header)[0]
    except ValueError:
        return None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret a client sent with the configured one."""
    # Digests first: compare_digest on the texts would leak the expected length.
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


def authenticator(ctx: AppContext) -> Authenticator:
    """The app's one Authenticator (kept in ``ctx.extras`` so throttling state is shared)."""
    found = ctx.extras.get("authenticator")
    if found is None:
        found = ctx.extras.setdefault(
            "authenticator", Authenticator(ctx.settings, ctx.db, ctx.clock))
    assert isinstance(found, Authenticator)
    return found


def require_role(*roles: str) -> Callable[[F], F]:
    """Decorator for API views: Basic auth with one of ``roles`` (``admin`` satisfies all).

    The user is available as ``flask.g.atsd_user`` inside the view.
    """
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import g

            g.atsd_user = authenticator(current_ctx()).check_roles(flask_request, roles)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
