"""The /_sim/ HTTP control surface for out-of-process users (the demo, chaos tests).

Same port as the server; every request needs the header `X-Sim-Admin: <admin password>`
(else 401). Bad input answers `400 {"success": false, "error": "<one line>"}`.

* `POST /_sim/messages {username, room, text[, tmid]}` — post as a user (chat.postMessage path)
* `GET /_sim/messages/<id>` — one message as stored now (edits, reactions, thread counters)
* `POST /_sim/messages/<id>/age {minutes}` — move its `ts` into the past
* `POST /_sim/click {username, messageId, button}` — a user clicks a button (label or index)
* `GET /_sim/settings`, `POST /_sim/settings {<name>: <value>, ...}` — workspace settings
* `GET /_sim/rooms/<rid>/messages`, `GET /_sim/deliveries`
* `POST /_sim/drop`, `POST /_sim/pause {seconds}`, `POST /_sim/rest-down {seconds}`
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.rocketchat_server import buttons, messaging
from tests.rocketchat_server import settings as workspace_settings
from tests.rocketchat_server.codec import to_rest
from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.rest import json_response

if TYPE_CHECKING:
    from tests.rocketchat_server.control import Simulator

Handler = Callable[[web.Request], Awaitable[Any]]


async def _json_object(request: web.Request) -> dict[str, Any]:
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def install_control_routes(app: web.Application, sim: Simulator) -> None:
    world = sim.world

    def guarded(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            given = request.headers.get("X-Sim-Admin", "")
            if not hmac.compare_digest(given.encode(), sim.options.admin_password.encode()):
                return json_response(401, {"success": False, "error": "X-Sim-Admin required"})
            try:
                return json_response(200, to_rest(await handler(request)))
            except (KeyError, ValueError, TypeError, MeteorError) as error:
                text = error.args[0] if isinstance(error, KeyError) and error.args else error
                return json_response(400, {"success": False, "error": str(text)})

        return wrapper

    async def post_message(request: web.Request) -> Any:
        body = await _json_object(request)
        user = sim._user(str(body["username"]))
        fields = {"text": str(body["text"]), **({"tmid": body["tmid"]} if body.get("tmid") else {})}
        saved = messaging.process_webhook_message(world, user, fields, [str(body["room"])])
        return {"message": saved[0], "success": True}

    async def one_message(request: web.Request) -> Any:
        return {"message": sim.message(request.match_info["mid"]), "success": True}

    async def age_message(request: web.Request) -> Any:
        minutes = float((await _json_object(request))["minutes"])
        return {"message": world.age_message(request.match_info["mid"], minutes), "success": True}

    async def click(request: web.Request) -> Any:
        body = await _json_object(request)
        user = sim._user(str(body["username"]))
        button = body["button"]
        if not isinstance(button, str | int) or isinstance(button, bool):
            raise ValueError("button must be a label (string) or an index (integer)")
        sent = buttons.click(world, user, str(body["messageId"]), button)
        return {"message": sent, "success": True}

    async def get_settings(request: web.Request) -> Any:
        return {"settings": dict(world.settings), "success": True}

    async def post_settings(request: web.Request) -> Any:
        world.settings.update(workspace_settings.checked(await _json_object(request)))
        world.bump()
        return {"settings": dict(world.settings), "success": True}

    async def room_messages(request: web.Request) -> Any:
        return {"messages": world.snapshot_messages(request.match_info["rid"]), "success": True}

    async def deliveries(request: web.Request) -> Any:
        return {"deliveries": world.snapshot_deliveries(), "success": True}

    async def drop(request: web.Request) -> Any:
        assert sim.hub is not None
        return {"dropped": sim.hub.drop_all(), "success": True}

    async def pause(request: web.Request) -> Any:
        sim.pause_stream(float((await _json_object(request))["seconds"]))
        return {"success": True}

    async def rest_down(request: web.Request) -> Any:
        sim.rest_down(float((await _json_object(request))["seconds"]))
        return {"success": True}

    app.router.add_post("/_sim/messages", guarded(post_message))
    app.router.add_get("/_sim/messages/{mid}", guarded(one_message))
    app.router.add_post("/_sim/messages/{mid}/age", guarded(age_message))
    app.router.add_post("/_sim/click", guarded(click))
    app.router.add_get("/_sim/settings", guarded(get_settings))
    app.router.add_post("/_sim/settings", guarded(post_settings))
    app.router.add_get("/_sim/rooms/{rid}/messages", guarded(room_messages))
    app.router.add_get("/_sim/deliveries", guarded(deliveries))
    app.router.add_post("/_sim/drop", guarded(drop))
    app.router.add_post("/_sim/pause", guarded(pause))
    app.router.add_post("/_sim/rest-down", guarded(rest_down))
