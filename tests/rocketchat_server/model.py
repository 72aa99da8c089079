"""The simulator's data model: users, login tokens, ids and clocks (Meteor-style).

Ids are Meteor `Random.id()` strings; login tokens are 43 url-safe characters and expire
after 90 days like Meteor's. A `User` keeps only the sha-256 digest of its password (what the
DDP login sends), compared in constant time; it never appears in any document sent out.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

UNMISTAKABLE = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LOGIN_TOKEN_TTL = timedelta(days=90)
BYPASS_RATE_LIMIT_ROLES = frozenset({"admin", "bot", "app"})
SEND_MANY_ROLES = frozenset({"admin", "bot", "app"})
IMPERSONATE_ROLES = frozenset({"bot", "app"})

Doc = dict[str, Any]


def random_id(length: int = 17) -> str:
    """A Meteor `Random.id()`: 17 characters from the 'unmistakable' alphabet."""
    return "".join(secrets.choice(UNMISTAKABLE) for _ in range(length))


def login_token() -> str:
    """A Meteor `Accounts._generateStampedLoginToken()` token (43 url-safe characters)."""
    return "".join(secrets.choice(TOKEN_CHARS) for _ in range(43))


def now() -> datetime:
    # Millisecond precision, like a JavaScript Date.
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Token:
    """A login token or a personal access token (both live in services.resume.loginTokens)."""

    token: str
    when: datetime
    kind: str = "password"  # "password" | "resume" | "personalAccessToken"
    name: str = ""
    bypass_two_factor: bool = False
    two_factor_until: datetime | None = None

    @property
    def expires(self) -> datetime:
        return self.when + LOGIN_TOKEN_TTL


@dataclass
class User:
    id: str
    username: str
    name: str
    email: str
    password_digest: str  # sha-256 hex of the password: never leaves the simulator
    roles: list[str]
    active: bool = True
    verified: bool = False
    two_factor: bool = False
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    tokens: list[Token] = field(default_factory=list)
    extra: Doc = field(default_factory=dict)  # nickname, bio, customFields, ...
    totp_code: str = field(default_factory=lambda: f"{secrets.randbelow(10**6):06d}")

    @property
    def type(self) -> str:
        # Decision (reference §5 leaves it open): a user holding the bot role has type "bot".
        return "bot" if "bot" in self.roles else "user"

    def has_any_role(self, roles: frozenset[str]) -> bool:
        return bool(roles.intersection(self.roles))

    def check_password(self, plain: str | None = None, digest: str | None = None) -> bool:
        candidate = digest.lower() if digest is not None else sha256_hex(plain or "")
        return hmac.compare_digest(candidate, self.password_digest)

    def find_token(self, token: str) -> Token | None:
        for item in self.tokens:
            if hmac.compare_digest(item.token, token) and item.expires > now():
                return item
        return None

    def short(self, with_name: bool = True) -> Doc:
        doc: Doc = {"_id": self.id, "username": self.username}
        if with_name:
            doc["name"] = self.name
        return doc

    def public_doc(self) -> Doc:
        """The user document REST answers with (services are never exposed)."""
        doc: Doc = {
            "_id": self.id,
            "createdAt": self.created_at,
            "username": self.username,
            "emails": [{"address": self.email, "verified": self.verified}],
            "type": self.type,
            "status": "offline",
            "active": self.active,
            "roles": list(self.roles),
            "_updatedAt": self.updated_at,
            "name": self.name,
            "settings": {},
        }
        doc.update(copy.deepcopy(self.extra))
        return doc
