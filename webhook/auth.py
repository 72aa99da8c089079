"""Who may call: configured users, HTTP Basic, roles, per-user limits, throttling, incidents.

- Passwords are compared in constant time, also for unknown users (a dummy comparison of the
  same kind runs), so response timing does not tell which user names exist.
- ``password_hash`` is any werkzeug hash (scrypt, pbkdf2). Such checks take tens of
  milliseconds by design; a successful check is remembered as an HMAC under a per-process
  random key so that a busy webhook does not pay it on every request. Likewise a whole
  ``Authorization`` header that was accepted is remembered by its HMAC (not in clear), so a
  sender repeating it is not decoded and compared again; the throttle and the role are still
  checked on every request, and a configuration reload forgets them all.
- Every refusal is a security incident (time, address, path, user tried, reason); the
  password is never recorded. After ``max_failures`` guesses (wrong or malformed credentials,
  a wrong body token) by one user name from one address within ``window`` seconds, that user
  gets ``429`` with ``Retry-After`` for ``lockout`` seconds from that address, each attempt
  still recorded; other users from the same address are not affected (:mod:`webhook.throttle`).

The app's one :class:`Authenticator` is ``AppContext.authenticator``; API views ask for it
with :func:`webhook.context.require_role`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
from typing import Any, NoReturn

from werkzeug.security import check_password_hash, generate_password_hash

from rules.clock import Clock
from rules.expr import wildcard
from rules.store import Database, diagnostics
from webhook.capture import full_path, redact
from webhook.errors import ApiError
from webhook.parse import client_ip
from webhook.settings import AppSettings, UserSettings
from webhook.throttle import Throttle

log = logging.getLogger(__name__)

CHALLENGE = {"WWW-Authenticate": 'Basic realm="atsd-bot", charset="UTF-8"'}
_MAX_VERIFIED = 1_000


class Authenticator:
    """Checks Basic credentials against ``settings.users`` and records refusals."""

    def __init__(self, settings: AppSettings, db: Database, clock: Clock, *,
                 max_failures: int = 10, window: float = 60.0, lockout: float = 60.0) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.throttle = Throttle(limit=max_failures, window=window, pause=lockout,
                                 clock=lambda: clock.now().timestamp())
        self._key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        # HMAC of an accepted Authorization header -> its user; replaced on use_settings
        self._accepted: dict[bytes, UserSettings] = {}
        self._lock = threading.Lock()
        self._users: dict[str, UserSettings] = {}
        self._dummy_hash: str | None = None
        self.use_settings(settings)

    def use_settings(self, settings: AppSettings) -> None:
        """Check against ``settings.users`` from now on (a configuration reload)."""
        # Unknown users are checked against this so that they cost what a real check costs.
        dummy = (self._dummy_hash or generate_password_hash(secrets.token_hex(16))
                 if any(u.password_hash for u in settings.users) else None)
        self._users, self._dummy_hash = {u.name: u for u in settings.users}, dummy
        self._accepted = {}  # a new dict: a check still running on the old users fills the old
        self.settings = settings

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

    def check_basic(self, request: Any, role: str, *, addr: str | None = None,
                    path: str | None = None) -> UserSettings:
        """The authenticated user holding ``role`` (``admin`` holds all), or ``ApiError``.

        ``request`` is a Flask/werkzeug request. Refusals are recorded as incidents first.
        ``addr`` (the client, as :func:`webhook.parse.client_ip` finds it) and ``path`` (path
        and query as sent) may be given when the caller has them already.
        """
        return self.check_roles(request, (role,), addr=addr, path=path)

    def check_roles(self, request: Any, roles: tuple[str, ...], *, addr: str | None = None,
                    path: str | None = None) -> UserSettings:
        header: str | None = request.headers.get("Authorization")
        if addr is None:
            addr = client_ip(request.remote_addr or "", request.headers.get("X-Forwarded-For"),
                             self.settings.http.trusted_proxies)
        if path is None:
            path = full_path(request)
        accepted = self._accepted  # this check's generation of users (see use_settings)
        stamp = _stamp(self._key, header) if header else None
        user = accepted.get(stamp) if stamp is not None else None
        if user is None:
            user = self._check_credentials(header, addr, path)
            if stamp is not None:
                self._remember(accepted, stamp, user)
        else:
            self._check_throttle(addr, path, user.name)  # a locked-out user stays locked out
        if "admin" not in user.roles and not set(roles) & set(user.roles):
            wanted = " or ".join(roles)
            self.fail(addr, path, user.name, f"not permitted: needs role {wanted}", 403,
                      f"user {user.name!r} does not have role {wanted}", counts=False)
        return user

    def _check_credentials(self, header: str | None, addr: str, path: str) -> UserSettings:
        """The user whose credentials ``header`` holds (throttle first), or ``ApiError``."""
        self._check_throttle(addr, path, _claimed_user(header))
        try:
            name, password = parse_basic(header)
        except ValueError as exc:
            # a request without credentials is a client's first try (the Basic challenge
            # follows), not a guess: recorded, but not counted towards the throttle
            self.fail(addr, path, None, str(exc), 401, "authentication required: " + str(exc),
                      counts=header is not None)
        user = self.verify_password(name, password)
        if user is None:
            reason = "unknown user" if name not in self._users else "wrong password"
            self.fail(addr, path, name, reason, 401, "invalid user name or password")
        return user

    def _check_throttle(self, addr: str, path: str, claimed: str | None) -> None:
        wait = self.throttle.wait_for(addr, claimed)
        if wait is not None:
            self.record_incident(addr, path, claimed, "throttled: too many failed attempts")
            raise ApiError(429, "too many failed attempts for this user from this address; "
                           "retry later", headers={"Retry-After": str(wait)}, outcome="rejected")

    def _remember(self, accepted: dict[bytes, UserSettings], stamp: bytes,
                  user: UserSettings) -> None:
        """Remember an accepted header: the same header again skips decoding and comparing
        (a webhook sender repeats one header on every request), bounded like ``_verified``."""
        with self._lock:
            if len(accepted) >= _MAX_VERIFIED:
                accepted.clear()
            accepted[stamp] = user

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
            self.throttle.failed(addr, user)
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


def _stamp(key: bytes, header: str) -> bytes:
    """A keyed digest of an Authorization header: the cache keeps no credentials in clear."""
    return hashlib.blake2b(header.encode("utf-8", "surrogatepass"), key=key).digest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret a client sent with the configured one."""
    # Digests first: compare_digest on the texts would leak the expected length.
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)
