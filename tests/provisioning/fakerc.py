"""A tiny stateful Rocket.Chat REST double on top of ``responses``, for exact-request tests.

It answers with the shapes of the real server (fixtures in tests/fixtures/rocketchat/) and
records nothing itself: tests read ``responses.calls`` to assert the exact requests. Knobs let
a test make one endpoint fail the way a real server does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

URL = "http://rc.test"
ADMIN = {"id": "adminId0000000001", "username": "admin", "password": "admin-pw",
         "token": "admin-auth-token"}
Answer = tuple[int, dict[str, str], str]


def _ok(body: dict[str, Any], status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps({**body, "success": True})


def _fail(code: int, error: str, error_type: str | None = None, **extra: Any) -> Answer:
    body: dict[str, Any] = {"success": False, "error": error, **extra}
    if error_type:
        body["errorType"] = error_type
    return code, {"Content-Type": "application/json"}, json.dumps(body)


@dataclass
class FakeRocketChat:
    """State: users by username, integrations by id; ``fail`` maps an endpoint to an answer."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    integrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, Answer] = field(default_factory=dict)
    two_factor_fallback: bool = False  # users.update asks for sha256(password) first
    sessions: dict[str, str] = field(default_factory=dict)  # auth token -> user id
    counter: int = 0
    posted: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.add_user(ADMIN["username"], ADMIN["password"], roles=["admin"], _id=ADMIN["id"])
        self.sessions[ADMIN["token"]] = ADMIN["id"]

    def add_user(self, username: str, password: str, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        user = {"_id": fields.pop("_id", f"user{self.counter:013d}"), "username": username,
                "name": username, "active": True, "roles": ["user"], "type": "user",
                "requirePasswordChange": False,
                "emails": [{"address": f"{username}@example.org", "verified": True}], **fields}
        self.users[username] = user
        self.passwords[username] = password
        return user

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.GET, f"{URL}/api/info", callback=self._route("info"))
        for method, name in [("POST", "login"), ("POST", "logout"), ("GET", "me"),
                             ("GET", "users.info"), ("POST", "users.create"),
                             ("POST", "users.update"), ("GET", "users.getPersonalAccessTokens"),
                             ("POST", "users.generatePersonalAccessToken"),
                             ("GET", "integrations.list"), ("POST", "integrations.create"),
                             ("PUT", "integrations.update"), ("POST", "dm.create"),
                             ("POST", "chat.postMessage")]:
            mock.add_callback(method, re.compile(re.escape(f"{URL}/api/v1/{name}") + r"(\?.*)?$"),
                              callback=self._route(name))

    def _route(self, name: str) -> Any:
        def callback(request: Any) -> Answer:
            if name in self.fail:
                return self.fail[name]
            handler = getattr(self, "do_" + name.replace(".", "_"))
            if name not in ("info", "login"):
                me = self.sessions.get(request.headers.get("X-Auth-Token", ""))
                if me is None or request.headers.get("X-User-Id") != me:
                    return _fail(401, "You must be logged in to do this.",
                                 status="error", message="You must be logged in to do this.")
                return handler(request, me)
            return handler(request)
        return callback

    # -- endpoints ------------------------------------------------------------------------

    def do_info(self, request: Any) -> Answer:
        return _ok({"version": "7.9.0"})

    def do_login(self, request: Any) -> Answer:
        body = json.loads(request.body)
        name = body.get("username") or body.get("user")
        if name not in self.users or self.passwords[name] != body.get("password"):
            return 401, {}, json.dumps({"status": "error", "error": "Unauthorized",
                                        "message": "Unauthorized"})
        user = self.users[name]
        self.counter += 1
        token = f"login-token-{self.counter}"
        self.sessions[token] = user["_id"]
        return 200, {}, json.dumps({"status": "success", "data": {
            "userId": user["_id"], "authToken": token, "me": {"username": name}}})

    def do_logout(self, request: Any, me: str) -> Answer:
        self.sessions.pop(request.headers["X-Auth-Token"], None)
        return 200, {}, json.dumps({"status": "success", "data": {"message": "bye"}})

    def do_me(self, request: Any, me: str) -> Answer:
        return _ok(self._by_id(me))

    def do_users_info(self, request: Any, me: str) -> Answer:
        query = parse_qs(urlsplit(request.url).query)
        name = query.get("username", [""])[0]
        if name not in self.users:
            return _fail(400, "User not found.")
        return _ok({"user": self.users[name]})

    def do_users_create(self, request: Any, me: str) -> Answer:
        body = json.loads(request.body)
        if body["username"] in self.users:
            return _fail(400, f"{body['username']} is already in use :( "
                              "[error-field-unavailable]", "error-field-unavailable")
        fields = {k: v for k, v in body.items()
                  if k not in ("password", "email", "verified", "sendWelcomeEmail",
                               "joinDefaultChannels", "username")}
        user = self.add_user(body["username"], body["password"], **fields)
        user["emails"] = [{"address": body["email"], "verified": bool(body.get("verified"))}]
        return _ok({"user": user})

    def do_users_update(self, request: Any, me: str) -> Answer:
        if self.two_factor_fallback:
            digest = hashlib.sha256(ADMIN["password"].encode()).hexdigest()
            if request.headers.get("x-2fa-code") != digest \
                    or request.headers.get("x-2fa-method") != "password":
                return _fail(400, "TOTP Required [totp-required]", "totp-required",
                             details={"method": "password", "codeGenerated": False,
                                      "availableMethods": []})
        body = json.loads(request.body)
        user = self._by_id(body["userId"])
        data = dict(body["data"])
        if "password" in data:
            self.passwords[user["username"]] = data.pop("password")
        if "email" in data:
            user["emails"] = [{"address": data.pop("email"), "verified": False}]
        if "verified" in data:
            user["emails"][0]["verified"] = data.pop("verified")
        user.update(data)
        return _ok({"user": user})

    def do_users_getPersonalAccessTokens(self, request: Any, me: str) -> Answer:  # noqa: N802
        return _ok({"tokens": [{"name": n, "createdAt": "2026-01-01T00:00:00.000Z",
                                "lastTokenPart": "abcd", "bypassTwoFactor": True}
                               for n in self.tokens.get(me, [])]})

    def do_users_generatePersonalAccessToken(self, request: Any, me: str) -> Answer:  # noqa: N802
        name = json.loads(request.body)["tokenName"]
        self.tokens.setdefault(me, []).append(name)
        return _ok({"token": f"pat-{name}-secret"})

    def do_integrations_list(self, request: Any, me: str) -> Answer:
        query = parse_qs(urlsplit(request.url).query)
        name = query.get("name", [""])[0].lower()
        found = [i for i in self.integrations.values() if name in i["name"].lower()]
        return _ok({"integrations": found, "offset": 0, "items": len(found),
                    "count": len(found), "total": len(found)})

    def do_integrations_create(self, request: Any, me: str) -> Answer:
        body = json.loads(request.body)
        self.counter += 1
        stored = self._store(body, f"integ{self.counter:012d}")
        return _ok({"integration": stored})

    def do_integrations_update(self, request: Any, me: str) -> Answer:
        body = json.loads(request.body)
        ident = body.pop("integrationId")
        if ident not in self.integrations:
            return _fail(400, "No integration found.")
        if not body.get("token"):
            return _fail(400, "Invalid token [error-invalid-token]", "error-invalid-token")
        return _ok({"integration": self._store(body, ident)})

    def do_dm_create(self, request: Any, me: str) -> Answer:
        other = self.users[json.loads(request.body)["username"]]
        rid = "".join(sorted([me, other["_id"]]))
        return _ok({"room": {"_id": rid, "rid": rid, "t": "d",
                             "usernames": sorted([self._by_id(me)["username"],
                                                  other["username"]])}})

    def do_chat_postMessage(self, request: Any, me: str) -> Answer:  # noqa: N802
        body = json.loads(request.body)
        self.counter += 1
        self.posted.append(body)
        message = {"_id": f"msg{self.counter:014d}", "rid": body["roomId"], "msg": body["text"],
                   "u": {"_id": me, "username": self._by_id(me)["username"]}}
        return _ok({"ts": 1767225600000, "channel": body["roomId"], "message": message})

    def _store(self, body: dict[str, Any], ident: str) -> dict[str, Any]:
        stored = {**body, "_id": ident, "channel": body["channel"].split(","),
                  "userId": self.users[body["username"]]["_id"],
                  "_createdBy": {"_id": ADMIN["id"], "username": ADMIN["username"]}}
        if not stored.get("retryFailedCalls"):
            stored.pop("retryCount", None)
            stored.pop("retryDelay", None)
        self.integrations[ident] = stored
        return stored

    def _by_id(self, user_id: str) -> dict[str, Any]:
        return next(u for u in self.users.values() if u["_id"] == user_id)
