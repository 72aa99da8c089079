"""Login (DDP method and REST), resume tokens, personal access tokens, two-factor checks.

Two-factor: a user created with `two_factor=True` has TOTP on; the valid code is
`User.totp_code` (the control API exposes it). Routes flagged two-factor (REST
`users.update`, `users.generatePersonalAccessToken`) also apply Rocket.Chat's default
"enforce password fallback": a user without 2FA must send `x-2fa-code: sha256(password)` and
`x-2fa-method: password`, unless the token is a personal access token created with
`bypassTwoFactor` or a code was accepted on that token in the last 30 minutes
(`Accounts_TwoFactorAuthentication_RememberFor` = 1800 s).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.state import Token, User, World, now

REMEMBER_FOR = timedelta(seconds=1800)
BAD_LOGIN = MeteorError(401, "Incorrect login or password")


def totp_required(user: User, fallback: bool) -> MeteorError:
    if user.two_factor:
        details: dict[str, Any] = {
            "method": "totp",
            "codeGenerated": False,
            "availableMethods": ["totp"],
        }
    else:
        details = {"method": "password", "codeGenerated": False, "availableMethods": []}
    del fallback  # the shape is the same; kept for readability at call sites
    return MeteorError("totp-required", "TOTP Required", details)


def _find_login_user(world: World, selector: Any) -> User | None:
    if isinstance(selector, str):
        return (
            world.user_by_email(selector) if "@" in selector else world.user_by_username(selector)
        )
    if not isinstance(selector, dict):
        return None
    if isinstance(selector.get("username"), str):
        return world.user_by_username(selector["username"])
    if isinstance(selector.get("email"), str):
        return world.user_by_email(selector["email"])
    if isinstance(selector.get("id"), str):
        return world.users.get(selector["id"])
    return None


def _check_password(user: User, password: Any) -> bool:
    if isinstance(password, str):
        return user.check_password(plain=password)
    if isinstance(password, dict) and password.get("algorithm") == "sha-256":
        digest = password.get("digest")
        return isinstance(digest, str) and user.check_password(digest=digest)
    return False


def login(world: World, params: Any) -> tuple[User, Token, str]:
    """The Meteor `login` method: returns (user, token, "password"|"resume")."""
    if not isinstance(params, dict):
        raise MeteorError(400, "Match failed")
    code: str | None = None
    if isinstance(params.get("totp"), dict):
        code = params["totp"].get("code")
        params = params["totp"].get("login") or {}
    if isinstance(params.get("resume"), str):
        found = world.user_by_any_token(params["resume"])
        if found is None:
            raise MeteorError(403, "You've been logged out by the server. Please log in again.")
        user, _ = found
        return user, world.issue_token(user, kind="resume"), "resume"
    if "password" not in params or "user" not in params:
        raise MeteorError(400, "Match failed")
    found_user = _find_login_user(world, params["user"])
    if found_user is None or not found_user.active:
        raise BAD_LOGIN
    user = found_user
    if not _check_password(user, params["password"]):
        raise BAD_LOGIN
    if user.two_factor:
        if not code:
            raise totp_required(user, fallback=False)
        if code != user.totp_code:
            raise MeteorError("totp-invalid", "TOTP Invalid")
    token = world.issue_token(user, kind="password")
    if user.two_factor:
        token.two_factor_until = now() + REMEMBER_FOR
    return user, token, "password"


def rest_login_params(body: dict[str, Any]) -> dict[str, Any]:
    """ApiClass `loginCompatibility`: map the REST shorthand onto the Meteor login object."""
    known = {"user", "username", "email", "password", "resume", "code"}
    if not set(body) <= known:
        return body
    if isinstance(body.get("resume"), str):
        return {"resume": body["resume"]}
    user: Any = body.get("user")
    if isinstance(body.get("username"), str):
        user = {"username": body["username"]}
    elif isinstance(body.get("email"), str):
        user = {"email": body["email"]}
    elif isinstance(user, str):
        user = {"email": user} if "@" in user else {"username": user}
    login_object = {"user": user, "password": body.get("password")}
    if body.get("code"):
        return {"totp": {"login": login_object, "code": body["code"]}}
    return login_object


def check_two_factor(
    user: User, token: Token, code: str | None, method: str | None, enforce_fallback: bool
) -> None:
    """`checkCodeForUser` for REST routes flagged twoFactorRequired."""
    if token.bypass_two_factor:
        return
    if token.two_factor_until and token.two_factor_until > now():
        return
    if not user.two_factor and not enforce_fallback:
        return
    if not code:
        raise totp_required(user, fallback=enforce_fallback)
    if user.two_factor and method in (None, "totp") and code == user.totp_code:
        ok = True
    elif method == "password":
        ok = user.check_password(digest=code)
    else:
        ok = False
    if not ok:
        raise MeteorError("totp-invalid", "TOTP Invalid")
    token.two_factor_until = now() + REMEMBER_FOR
