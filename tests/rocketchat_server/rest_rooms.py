"""REST: chat.* (edits and reactions: rest_chat.py), channels.*, im.*/dm.*, groups.history and
rooms.get."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.rocketchat_server import messaging
from tests.rocketchat_server.errors import MeteorError, forbidden
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.rest import Call, route
from tests.rocketchat_server.schemas import CHAT_POST_MESSAGE, REST_SEND_MESSAGE_KEYS
from tests.rocketchat_server.state import Doc, User

CHANNEL_NAME = re.compile(r"^[0-9a-zA-Z\-_.]+$")


def public_room(room: Doc) -> Doc:
    return dict(room)


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


@route("POST", "chat.postMessage")
async def chat_post_message(call: Call) -> dict[str, Any]:
    body = CHAT_POST_MESSAGE.validate(call.body)
    if body.get("roomId") and body.get("channel"):
        raise MeteorError("invalid-params", "must NOT be valid (roomId and channel)")
    if body.get("tmid") and not body.get("roomId"):
        raise MeteorError("invalid-params", "must have required property 'roomId'")
    if body.get("channel"):
        targets = _as_list(body["channel"])
    elif body.get("roomId"):
        targets = _as_list(body["roomId"])
    else:
        raise MeteorError("error-invalid-channel", "Invalid Channel")
    world = call.runtime.world
    saved = messaging.process_webhook_message(world, call.me, body, targets)
    target = targets[0]
    channel = target[1:] if target[:1] in ("#", "@") else target
    return {"ts": int(time.time() * 1000), "channel": channel, "message": saved[0]}


@route("POST", "chat.sendMessage")
async def chat_send_message(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    message = body.get("message")
    if not isinstance(message, dict):
        raise MeteorError("invalid-params", "must have required property 'message'")
    if "rid" not in message:
        raise MeteorError("invalid-params", "must have required property 'rid'")
    if set(message) - REST_SEND_MESSAGE_KEYS:
        raise MeteorError("invalid-params", "must NOT have additional properties")
    fields = dict(message)
    if fields.get("_id") and fields["_id"] in call.runtime.world.message_index:
        raise MeteorError("error-message-already-exists", "The message is a duplicate")
    saved = messaging.send_message(call.runtime.world, call.me, fields)
    return {"message": saved}


def _parse_date(value: str | None, param: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MeteorError(
            f"error-{param}-param-invalid", f'The "{param}" query parameter must be a valid date.'
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@route("GET", "chat.syncMessages")
async def chat_sync_messages(call: Call) -> dict[str, Any]:
    room = _room_for_read(call, call.query.get("roomId"))
    last = _parse_date(call.query.get("lastUpdate"), "lastUpdate")
    if last is None:
        raise MeteorError(
            "error-param-required", 'The required "lastUpdate" query param is missing.'
        )
    updated = [m for m in call.runtime.world.messages[room["_id"]] if m["_updatedAt"] > last]
    updated.sort(key=lambda m: m["ts"], reverse=True)
    return {"result": {"updated": updated, "deleted": []}}


def _room_for_read(call: Call, room_id: str | None, name: str | None = None) -> Doc:
    world = call.runtime.world
    if not room_id and not name:
        raise MeteorError(
            "error-room-param-not-provided", 'The parameter "roomId" or "roomName" is required'
        )
    room = world.rooms.get(room_id or "") if room_id else world.room_by_name(name or "")
    if room is None:
        raise MeteorError(
            "error-room-not-found",
            'The required "roomId" or "roomName" param provided does not match any channel',
        )
    if not world.can_access(room, call.me):
        raise MeteorError("error-not-allowed", "Not allowed")
    return room


def _history(call: Call, room: Doc) -> dict[str, Any]:
    query = call.query
    latest = _parse_date(query.get("latest"), "latest")
    oldest = _parse_date(query.get("oldest"), "oldest")
    inclusive = query.get("inclusive") in ("true", "1")
    count = int(query.get("count", 20))
    offset = int(query.get("offset", 0))
    found = []
    for message in reversed(call.runtime.world.messages[room["_id"]]):
        ts = message["ts"]
        if latest and (ts > latest or (ts == latest and not inclusive)):
            continue
        if oldest and (ts < oldest or (ts == oldest and not inclusive)):
            continue
        found.append(message)
    return {"messages": found[offset : offset + count]}


@route("GET", "channels.history")
async def channels_history(call: Call) -> dict[str, Any]:
    return _history(
        call, _room_for_read(call, call.query.get("roomId"), call.query.get("roomName"))
    )


@route("GET", "im.history", "dm.history", "groups.history")
async def im_history(call: Call) -> dict[str, Any]:
    room = _room_for_read(call, call.query.get("roomId"))
    if not call.runtime.world.is_member(room, call.me):
        raise MeteorError("error-not-allowed", "Not allowed")
    return _history(call, room)


@route("POST", "channels.create")
async def channels_create(call: Call) -> dict[str, Any]:
    return {"channel": _create_room(call, "c")}


@route("POST", "groups.create")
async def groups_create(call: Call) -> dict[str, Any]:
    return {"group": _create_room(call, "p")}


def _create_room(call: Call, kind: str) -> Doc:
    body = call.body if isinstance(call.body, dict) else {}
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise MeteorError("invalid-params", "must have required property 'name'")
    if not has_permission(call.me, f"create-{kind}"):
        raise forbidden()
    world = call.runtime.world
    if not CHANNEL_NAME.match(name):
        raise MeteorError("error-invalid-room-name", f"{name} is not a valid room name")
    if world.room_by_name(name):
        raise MeteorError("error-duplicate-channel-name", f"A channel with name '{name}' exists")
    members = [call.me] + _users(call, body.get("members") or [])
    room = world.create_room(kind, name, owner=call.me)
    room["ro"] = bool(body.get("readOnly", False))
    for member in members:
        world.join(room, member, system_message=False)
    return public_room(room)


def _users(call: Call, usernames: list[str]) -> list[User]:
    found = []
    for username in usernames:
        user = call.runtime.world.user_by_username(username)
        if user is None:
            raise MeteorError("error-invalid-user", f"Invalid user: {username}")
        found.append(user)
    return found


@route("GET", "groups.info")
async def groups_info(call: Call) -> dict[str, Any]:
    return {"group": _info(call, "p", "The required room is not a private group")}


@route("GET", "channels.info")
async def channels_info(call: Call) -> dict[str, Any]:
    return {"channel": _info(call, "c", "The required room is not a channel")}


def _info(call: Call, room_type: str, wrong_type: str) -> dict[str, Any]:
    """The public view of the room named by roomId/roomName, which must be of ``room_type``."""
    room = _room_for_read(call, call.query.get("roomId"), call.query.get("roomName"))
    if room["t"] != room_type:
        raise MeteorError("error-room-not-found", wrong_type)
    return public_room(room)


@route("POST", "channels.join")
async def channels_join(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    room = _room_for_read(call, body.get("roomId"), body.get("roomName"))
    if room["t"] != "c":
        raise MeteorError("error-not-allowed", "Not allowed")
    call.runtime.world.join(room, call.me)
    return {"channel": public_room(room)}


@route("POST", "im.create", "dm.create")
async def im_create(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    if isinstance(body.get("username"), str):
        names = [body["username"]]
    elif isinstance(body.get("usernames"), str):
        names = [n.strip() for n in body["usernames"].split(",") if n.strip()]
    else:
        raise MeteorError("invalid-params", "must have required property 'username'")
    if not has_permission(call.me, "create-d"):
        raise forbidden()
    others = _users(call, names)
    members = others if body.get("excludeSelf") else [call.me, *others]
    room, _ = call.runtime.world.dm_between(members)
    return {"room": {**public_room(room), "rid": room["_id"]}}


@route("GET", "rooms.get")
async def rooms_get(call: Call) -> dict[str, Any]:
    since = _parse_date(call.query.get("updatedSince"), "updatedSince")
    world = call.runtime.world
    rooms = [world.rooms[s["rid"]] for s in world.subscriptions_of(call.me)]
    if since:
        rooms = [r for r in rooms if r["_updatedAt"] > since]
    return {"update": [public_room(r) for r in rooms], "remove": []}
