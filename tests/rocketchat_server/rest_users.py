"""REST: login, logout, me, users.* and personal access tokens."""

from __future__ import annotations

import json
from typing import Any

from tests.rocketchat_server import auth
from tests.rocketchat_server.codec import to_rest
from tests.rocketchat_server.errors import ApiError, MeteorError, failure, forbidden
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.rest import Call, login_unauthorized, route
from tests.rocketchat_server.schemas import USERS_CREATE
from tests.rocketchat_server.state import Token, User, login_token, now, sha256_hex

UPDATABLE = {
    "email", "name", "password", "username", "active", "roles", "requirePasswordChange",
    "verified", "customFields", "bio", "nickname", "statusText", "joinDefaultChannels",
    "sendWelcomeEmail", "setRandomPassword",
}  # fmt: skip


def me_doc(user: User) -> dict[str, Any]:
    doc = user.public_doc()
    doc.update({"statusConnection": "offline", "utcOffset": 0, "email": user.email})
    doc["settings"] = {"preferences": {}}
    return doc


def with_avatar(doc: dict[str, Any], site_url: str) -> dict[str, Any]:
    return {**doc, "avatarUrl": f"{site_url.rstrip('/')}/avatar/{doc['username']}"}


@route("POST", "login", auth_required=False)
async def login(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    try:
        user, token, _ = auth.login(call.runtime.world, auth.rest_login_params(body))
    except MeteorError as error:
        if error.error == "totp-required" or error.error == "totp-invalid":
            raise ApiError(401, {"status": "error", **error.rest()}) from None
        raise ApiError(401, login_unauthorized()) from None
    me = with_avatar(me_doc(user), call.runtime.world.site_url)
    data = {"userId": user.id, "authToken": token.token, "me": to_rest(me)}
    return {"status": "success", "data": data, "success": True}


@route("POST", "logout")
@route("GET", "logout")
async def logout(call: Call) -> dict[str, Any]:
    if call.token in call.me.tokens and call.token.kind != "personalAccessToken":
        call.me.tokens.remove(call.token)
    return {"status": "success", "data": {"message": "You've been logged out!"}}


@route("GET", "me")
async def me(call: Call) -> dict[str, Any]:
    return with_avatar(me_doc(call.me), call.runtime.world.site_url)


def _find_user(call: Call, params: dict[str, Any]) -> User:
    world = call.runtime.world
    user: User | None = None
    if params.get("userId"):
        user = world.users.get(params["userId"])
    elif params.get("username"):
        user = world.user_by_username(params["username"])
    elif params.get("email"):
        user = world.user_by_email(params["email"])
    else:
        raise MeteorError(
            "error-user-param-not-provided",
            'The required "userId" or "username" param was not provided',
        )
    if user is None:
        raise failure("User not found.")
    return user


@route("POST", "users.create")
async def users_create(call: Call) -> dict[str, Any]:
    body = USERS_CREATE.validate(call.body)
    if not has_permission(call.me, "create-user"):
        raise forbidden()
    optional = ("bio", "nickname", "statusText", "customFields")
    extra: dict[str, Any] = {k: body[k] for k in optional if k in body}
    if body.get("requirePasswordChange"):
        extra["requirePasswordChange"] = True
    user = call.runtime.world.add_user(
        body["username"],
        body["password"],
        name=body["name"],
        email=body["email"],
        roles=body.get("roles") or ["user"],
        active=body.get("active", True),
        verified=body.get("verified", False),
        extra=extra,
        join_default_channels=body.get("joinDefaultChannels", True),
    )
    return {"user": user.public_doc()}


@route("GET", "users.info")
async def users_info(call: Call) -> dict[str, Any]:
    user = _find_user(call, call.query)
    doc = user.public_doc()
    fields = call.query.get("fields")
    if fields and json.loads(fields).get("userRooms"):
        subs = call.runtime.world.subscriptions_of(user)
        doc["rooms"] = [{k: s.get(k) for k in ("_id", "rid", "name", "t", "roles")} for s in subs]
    return {"user": doc}


@route("GET", "users.list")
async def users_list(call: Call) -> dict[str, Any]:
    if not has_permission(call.me, "view-d-room"):
        raise forbidden()
    users = [u.public_doc() for u in call.runtime.world.users.values()]
    offset, count = int(call.query.get("offset", 0)), int(call.query.get("count", 50) or 50)
    page = users[offset : offset + count]
    return {"users": page, "count": len(page), "offset": offset, "total": len(users)}


@route("POST", "users.update", two_factor=True)
async def users_update(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    if not isinstance(body.get("userId"), str) or not isinstance(body.get("data"), dict):
        raise MeteorError("invalid-params", "must have required property 'userId'")
    unknown = set(body["data"]) - UPDATABLE
    if unknown or set(body) - {"userId", "data", "confirmRelogin"}:
        raise MeteorError("invalid-params", "must NOT have additional properties")
    user = _find_user(call, {"userId": body["userId"]})
    if user.id != call.me.id and not has_permission(call.me, "edit-other-user-info"):
        raise forbidden()
    _apply_update(call, user, body["data"])
    return {"user": user.public_doc()}


def _apply_update(call: Call, user: User, data: dict[str, Any]) -> None:
    world = call.runtime.world
    if "username" in data and data["username"] != user.username:
        if world.user_by_username(data["username"]):
            raise MeteorError("error-field-unavailable", f"{data['username']} is already in use :(")
        user.username = data["username"]
    if "email" in data:
        user.email = data["email"]
    if "name" in data:
        user.name = data["name"]
    if "password" in data:
        user.password_digest = sha256_hex(data["password"])
    if "active" in data:
        user.active = bool(data["active"])
    if "roles" in data:
        user.roles = list(data["roles"])
    if "verified" in data:
        user.verified = bool(data["verified"])
    for key in ("bio", "nickname", "statusText", "customFields", "requirePasswordChange"):
        if key in data:
            user.extra[key] = data[key]
    user.updated_at = now()


@route("POST", "users.generatePersonalAccessToken", two_factor=True)
async def generate_pat(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    name = body.get("tokenName")
    if not isinstance(name, str) or not name:
        raise MeteorError("invalid-params", "must have required property 'tokenName'")
    if not has_permission(call.me, "create-personal-access-tokens"):
        raise MeteorError("not-authorized", "Not Authorized")
    if any(t.kind == "personalAccessToken" and t.name == name for t in call.me.tokens):
        raise MeteorError("error-token-already-exists", "A token with this name already exists")
    token = Token(
        token=login_token(),
        when=now(),
        kind="personalAccessToken",
        name=name,
        bypass_two_factor=bool(body.get("bypassTwoFactor", False)),
    )
    call.me.tokens.append(token)
    return {"token": token.token}


@route("GET", "users.getPersonalAccessTokens")
async def list_pats(call: Call) -> dict[str, Any]:
    tokens = [
        {"name": t.name, "createdAt": t.when, "lastTokenPart": t.token[-6:],
         "bypassTwoFactor": t.bypass_two_factor}
        for t in call.me.tokens if t.kind == "personalAccessToken"
    ]  # fmt: skip
    return {"tokens": tokens}
