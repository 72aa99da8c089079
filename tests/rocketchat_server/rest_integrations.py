"""REST: integrations.create/list/get/update/remove/history for outgoing webhooks.

Validation follows `validateOutgoingIntegration.ts`: the `channel` string is split on commas
and stored as an array, `urls` must hold at least one non-empty URL, trigger words must be
non-empty, retry defaults (4, "powers-of-ten") only apply when `retryFailedCalls` is true, the
server never invents a `token`, and `integrations.update` (PUT) demands a non-empty token.
"""

from __future__ import annotations

from typing import Any

from tests.rocketchat_server import jsscript
from tests.rocketchat_server.errors import MeteorError, failure, forbidden
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.rest import Call, route
from tests.rocketchat_server.schemas import INTEGRATION_UPDATE, OUTGOING_INTEGRATION
from tests.rocketchat_server.state import Doc, World, now, random_id

EVENTS = {"sendMessage", "fileUploaded", "roomArchived", "roomCreated", "roomJoined",
          "roomLeft", "userCreated"}  # fmt: skip
CHANNEL_EVENTS = {"sendMessage", "fileUploaded", "roomJoined", "roomLeft"}
ALL_TARGETS = {"all_public_channels", "all_private_groups", "all_direct_messages"}
OPTIONAL = ("targetRoom", "triggerWordAnywhere", "token", "skipTranspile", "script",
            "runOnEdits", "retryFailedCalls", "retryCount", "retryDelay", "impersonateUser",
            "alias", "avatar", "emoji", "scriptEngine")  # fmt: skip


def _check_manage(call: Call) -> None:
    if not (
        has_permission(call.me, "manage-outgoing-integrations")
        or has_permission(call.me, "manage-own-outgoing-integrations")
    ):
        raise forbidden()


def _channels(world: World, event: str, channel: str) -> list[str]:
    entries = [c.strip() for c in channel.split(",") if c.strip()]
    if event not in CHANNEL_EVENTS:
        return entries
    if not entries:
        raise MeteorError("error-invalid-channel", "Invalid Channel")
    for entry in entries:
        if entry in ALL_TARGETS:
            continue
        if entry[0] not in "@#":
            raise MeteorError(
                "error-invalid-channel-start-with-chars", "Invalid channel. Start with @ or #"
            )
        if entry[0] == "#" and world.room_by_name_or_id(entry[1:]) is None:
            raise MeteorError("error-invalid-room", "Invalid room")
        name = entry[1:]
        if entry[0] == "@" and world.user_by_username(name) is None and name not in world.users:
            raise MeteorError("error-invalid-user", "Invalid user")
    return entries


def validate(world: World, body: Doc) -> Doc:
    """Turn a create/update body into the stored integration fields."""
    if body["type"] != "webhook-outgoing":
        raise MeteorError("invalid-params", "must be equal to one of the allowed values")
    if body["event"] not in EVENTS:
        raise MeteorError("error-invalid-event-type", "Invalid event type")
    if not body["username"].strip():
        raise MeteorError("error-invalid-username", "Invalid username")
    urls = [u.strip() for u in body.get("urls", []) if u.strip()]
    if not urls:
        raise MeteorError("error-invalid-urls", "Invalid URLs")
    words = body.get("triggerWords")
    if words is not None and any(not w.strip() for w in words):
        raise MeteorError("error-invalid-triggerWords", "Invalid triggerWords")
    poster = world.user_by_username(body["username"])
    if poster is None:
        raise MeteorError(
            "error-invalid-user", "Invalid user (did you delete the `rocket.cat` user?)"
        )
    fields: Doc = {
        "type": "webhook-outgoing",
        "name": body["name"],
        "enabled": body["enabled"],
        "username": body["username"],
        "channel": _channels(world, body["event"], body["channel"]),
        "event": body["event"],
        "urls": urls,
        "scriptEnabled": body["scriptEnabled"],
        "userId": poster.id,
    }
    if words is not None:
        fields["triggerWords"] = [w.strip() for w in words]
    fields.update({k: body[k] for k in OPTIONAL if k in body})
    _retry_defaults(fields)
    _compile(fields)
    return fields


def _retry_defaults(fields: Doc) -> None:
    if not fields.get("retryFailedCalls"):
        return
    count = fields.get("retryCount")
    if not isinstance(count, int | float) or count <= 0:
        fields["retryCount"] = 4
    delay = fields.get("retryDelay")
    fields["retryDelay"] = (delay or "").strip().lower() or "powers-of-ten"


def _compile(fields: Doc) -> None:
    fields.pop("scriptCompiled", None)
    fields.pop("scriptError", None)
    script = fields.get("script")
    if not (fields.get("scriptEnabled") and isinstance(script, str) and script.strip()):
        return
    try:
        jsscript.compile_script(script)
    except jsscript.ScriptError as error:
        fields["scriptError"] = {"name": "SimulatorUnsupportedScript", "message": str(error)}
        return
    fields["scriptCompiled"] = script


@route("POST", "integrations.create")
async def integrations_create(call: Call) -> dict[str, Any]:
    body = OUTGOING_INTEGRATION.validate(call.body)
    _check_manage(call)
    world = call.runtime.world
    moment = now()
    integration = validate(world, body)
    integration.update({
        "_id": random_id(),
        "_createdAt": moment,
        "_createdBy": call.me.short(with_name=False),
        "_updatedAt": moment,
    })  # fmt: skip
    world.integrations[integration["_id"]] = integration
    return {"integration": integration}


@route("GET", "integrations.list")
async def integrations_list(call: Call) -> dict[str, Any]:
    _check_manage(call)
    found = list(call.runtime.world.integrations.values())
    name = call.query.get("name")
    if name:
        found = [i for i in found if name.lower() in i["name"].lower()]
    if call.query.get("type"):
        found = [i for i in found if i["type"] == call.query["type"]]
    offset, count = int(call.query.get("offset", 0)), int(call.query.get("count", 50) or 50)
    page = found[offset : offset + count]
    return {
        "integrations": page, "offset": offset, "items": len(page),
        "count": len(page), "total": len(found),
    }  # fmt: skip


def _find(call: Call, integration_id: str | None, target_url: str | None) -> Doc:
    world = call.runtime.world
    if integration_id:
        found = world.integrations.get(integration_id)
    else:
        found = next(
            (i for i in world.integrations.values() if target_url and target_url in i["urls"]), None
        )
    if found is None:
        raise failure("No integration found.")
    return found


@route("GET", "integrations.get")
async def integrations_get(call: Call) -> dict[str, Any]:
    _check_manage(call)
    integration_id = call.query.get("integrationId")
    if not integration_id:
        raise failure('The query parameter "integrationId" is required.')
    found = call.runtime.world.integrations.get(integration_id)
    if found is None:
        raise failure("The integration does not exists.")
    return {"integration": found}


@route("PUT", "integrations.update")
async def integrations_update(call: Call) -> dict[str, Any]:
    body = INTEGRATION_UPDATE.validate(call.body)
    _check_manage(call)
    current = _find(call, body.get("integrationId"), body.get("target_url"))
    if not (body.get("token") or "").strip():
        raise MeteorError("error-invalid-token", "Invalid token")
    fields = validate(call.runtime.world, body)
    kept: Doc = {k: current[k] for k in ("_id", "_createdAt", "_createdBy") if k in current}
    current.clear()
    current.update({**fields, **kept, "_updatedAt": now(), "_updatedBy": call.me.short(False)})
    return {"integration": current}


@route("POST", "integrations.remove")
async def integrations_remove(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    _check_manage(call)
    if body.get("type") not in ("webhook-outgoing", "webhook-incoming"):
        raise MeteorError("invalid-params", "must have required property 'type'")
    found = _find(call, body.get("integrationId"), body.get("target_url"))
    del call.runtime.world.integrations[found["_id"]]
    return {"integration": found}


@route("GET", "integrations.history")
async def integrations_history(call: Call) -> dict[str, Any]:
    _check_manage(call)
    wanted = call.query.get("id")
    history = [h for h in call.runtime.world.integration_history if h["integration"] == wanted]
    return {"history": history, "offset": 0, "items": len(history), "count": len(history),
            "total": len(history)}  # fmt: skip
