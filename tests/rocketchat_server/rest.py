"""The REST API frame: routing under /api/v1, auth headers, rate limits, envelopes and errors.

Route handlers live in rest_users.py, rest_rooms.py, rest_chat.py and rest_integrations.py;
they register themselves with `route(...)`. A handler returns a dict; the frame merges
`success: true` (Rocket.Chat's `API.v1.success`) and encodes dates as ISO strings. Failures are
raised as `MeteorError` (-> 400 `{success:false, error:"<reason> [<code>]", errorType}`) or
`ApiError` (exact status and body).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.rocketchat_server import auth
from tests.rocketchat_server.codec import to_rest
from tests.rocketchat_server.errors import ApiError, MeteorError, unauthorized
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.ratelimit import Decision
from tests.rocketchat_server.runtime import Runtime
from tests.rocketchat_server.state import Token, User


@dataclass
class Call:
    """One REST request as a handler sees it."""

    runtime: Runtime
    request: web.Request
    body: Any
    query: dict[str, str]
    user: User | None = None
    token: Token | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def me(self) -> User:
        assert self.user is not None  # guaranteed by auth_required
        return self.user


Handler = Callable[[Call], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Route:
    handler: Handler
    auth_required: bool = True
    two_factor: bool = False
    rate_limited: bool = True


ROUTES: dict[tuple[str, str], Route] = {}


def route(
    method: str, *names: str, auth_required: bool = True, two_factor: bool = False
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            ROUTES[(method, name)] = Route(handler, auth_required, two_factor)
        return handler

    return register


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/json",
        headers=headers or {},
    )


def not_found() -> web.Response:
    body = {"statusCode": 404, "status": "error", "message": "API endpoint does not exist"}
    return json_response(404, body)


def service_unavailable() -> web.Response:
    # What a reverse proxy in front of a restarting Rocket.Chat answers.
    html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
    return web.Response(status=503, text=html, content_type="text/html")


def too_many(decision: Decision) -> ApiError:
    reason = (
        "Error, too many requests. Please slow down. You must wait "
        f"{decision.wait_seconds} seconds before trying this endpoint again. "
        "[error-too-many-requests]"
    )
    return ApiError(429, {"success": False, "error": reason}, decision.headers())


class RestApi:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def install(self, app: web.Application) -> None:
        app.router.add_get("/api/info", self.info)
        app.router.add_route("*", "/api/v1/{name}", self.dispatch)

    async def info(self, request: web.Request) -> web.StreamResponse:
        if self.runtime.rest_is_down():
            return service_unavailable()
        return json_response(200, {"version": self.runtime.options.version, "success": True})

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        if self.runtime.rest_is_down():
            return service_unavailable()
        name = request.match_info["name"]
        found = ROUTES.get((request.method, name))
        if found is None:
            return not_found()
        try:
            call = await self._prepare(request, name, found)
            result = await found.handler(call)
        except MeteorError as error:
            return json_response(400, to_rest(error.rest()))
        except ApiError as error:
            return json_response(error.status, error.body, error.headers)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # Malformed parameters (e.g. `count=abc`): what ajv would have refused.
            message = f"Invalid parameters: {type(error).__name__}: {error} [invalid-params]"
            body = {"success": False, "error": message, "errorType": "invalid-params"}
            return json_response(400, body)
        # `API.v1.success` merges success:true; the login/logout envelopes carry `status` instead.
        body = to_rest(result) if "status" in result else {**to_rest(result), "success": True}
        self.runtime.world.bump()
        return json_response(200, body, call.extra_headers)

    async def _prepare(self, request: web.Request, name: str, found: Route) -> Call:
        call = Call(self.runtime, request, None, dict(request.query))
        self._authenticate(call, found)
        self._rate_limit(call, name)
        call.body = await self._body(request, name)
        if found.two_factor and call.user and call.token:
            auth.check_two_factor(
                call.user,
                call.token,
                request.headers.get("x-2fa-code"),
                request.headers.get("x-2fa-method"),
                self.runtime.options.enforce_password_fallback,
            )
        return call

    def _authenticate(self, call: Call, found: Route) -> None:
        user_id = call.request.headers.get("X-User-Id", "")
        token = call.request.headers.get("X-Auth-Token", "")
        if user_id and token:
            found_user = self.runtime.world.user_by_token(user_id, token)
            if found_user:
                call.user, call.token = found_user
        if found.auth_required and call.user is None:
            raise unauthorized()

    def _rate_limit(self, call: Call, name: str) -> None:
        peer = call.request.remote or "unknown"
        bypass = has_permission(call.user, "api-bypass-rate-limit")
        decision = self.runtime.limiter.check(
            name, f"{call.request.method}:{peer}", bypass=bypass, rest=True
        )
        if decision is None:
            return
        if not decision.allowed:
            raise too_many(decision)
        call.extra_headers.update(decision.headers())

    async def _body(self, request: web.Request, name: str) -> Any:
        if request.method not in ("POST", "PUT"):
            return None
        raw = await request.read()
        if not raw:
            return {}
        if not request.content_type.endswith("json"):
            if name == "login":
                # Rocket.Chat >= 7.6 refuses form-encoded logins with a bare 401.
                raise ApiError(401, login_unauthorized())
            raise MeteorError("invalid-params", "Request body must be JSON")
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ApiError(400, {"success": False, "error": f"Invalid JSON: {error}"}) from None


def login_unauthorized() -> dict[str, Any]:
    """The 7.6 body (fixture rest-login-error-unauthorized-7.6.json)."""
    return {"success": False, "error": "Unauthorized", "status": "error", "message": "Unauthorized"}


def load_routes() -> None:
    """Import the route modules so that their `@route` decorators run."""
    from tests.rocketchat_server import (  # noqa: F401
        rest_chat,
        rest_integrations,
        rest_rooms,
        rest_users,
    )
