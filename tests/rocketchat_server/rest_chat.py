"""REST: `chat.update` (edit) and `chat.react` (reactions), as RC `app/api/server/v1/chat.ts`.

`chat.update` answers plain failures (no `errorType`) for an unknown id
(`No message found with the id of "<id>".`) and a room mismatch (`The room id provided does
not match where the message is from.`); everything else is `executeUpdateMessage`
(editing.py): `error-action-not-allowed` "Message editing not allowed" when editing is
disabled, the edit window has passed, or someone else's message is edited without
`edit-message`. `chat.react` answers `error-message-not-found` for an unknown id and
`error-emoji-param-not-provided` for an empty emoji; the rest is reactions.py.
`chat.getMessage` (GET, `msgId`) is `getSingleMessage`: a missing `msgId` and an unknown id
are plain failures (the latter `{"success": false}` with no error text, as `API.v1.failure()`
answers), a message of a room the caller cannot access is `error-not-allowed`.
"""

from __future__ import annotations

from typing import Any

from tests.rocketchat_server import editing, reactions
from tests.rocketchat_server.errors import ApiError, MeteorError, failure, invalid_params
from tests.rocketchat_server.rest import Call, route
from tests.rocketchat_server.schemas import CHAT_UPDATE

NO_SUCH_MESSAGE = 'The provided "messageId" does not match any existing message.'
NO_EMOJI = 'The required "emoji" param is missing.'


@route("POST", "chat.update")
async def chat_update(call: Call) -> dict[str, Any]:
    body = CHAT_UPDATE.validate(call.body)
    world = call.runtime.world
    message = world.message_index.get(body["msgId"])
    if message is None:
        raise failure(f'No message found with the id of "{body["msgId"]}".')
    if body["roomId"] != message["rid"]:
        raise failure("The room id provided does not match where the message is from.")
    change: dict[str, Any] = {"_id": message["_id"], "rid": message["rid"], "msg": body["text"]}
    if "customFields" in body:  # an object, even `{}`, is truthy in JavaScript
        change["customFields"] = body["customFields"]
    editing.update_message(
        world, call.me, change, preview_urls=body.get("previewUrls"),
        exact_block_error=call.runtime.options.exact_edit_block_error,
    )  # fmt: skip
    return {"message": world.message_index[message["_id"]]}


def _react_body(body: Any) -> tuple[str, str, bool | None]:
    """ajv `oneOf` [{emoji, messageId, shouldReact?}, {reaction, messageId, shouldReact?}]."""
    if not isinstance(body, dict):
        raise invalid_params("must be object")
    names = [key for key in ("emoji", "reaction") if key in body]
    extra = set(body) - {"emoji", "reaction", "messageId", "shouldReact"}
    message_id, should = body.get("messageId"), body.get("shouldReact")
    if len(names) != 1 or extra or not isinstance(message_id, str) or not message_id:
        raise invalid_params("must match exactly one schema in oneOf")
    emoji = body[names[0]]
    if not isinstance(emoji, str) or not (should is None or isinstance(should, bool)):
        raise invalid_params("must match exactly one schema in oneOf")
    return message_id, emoji, should


@route("POST", "chat.react")
async def chat_react(call: Call) -> dict[str, Any]:
    message_id, emoji, should_react = _react_body(call.body)
    world = call.runtime.world
    message = world.message_index.get(message_id)
    if message is None:
        raise MeteorError("error-message-not-found", NO_SUCH_MESSAGE)
    if not emoji:
        raise MeteorError("error-emoji-param-not-provided", NO_EMOJI)
    reactions.set_reaction(world, call.me, emoji, message, should_react)
    return {}


@route("GET", "chat.getMessage")
async def chat_get_message(call: Call) -> dict[str, Any]:
    message_id = call.query.get("msgId")
    if not message_id:
        raise failure('The "msgId" query parameter must be provided.')
    world = call.runtime.world
    message = world.message_index.get(message_id)
    if message is None or not message.get("rid"):
        raise ApiError(400, {"success": False})
    room = world.rooms.get(message["rid"])
    if room is None or not world.can_access(room, call.me):
        raise MeteorError("error-not-allowed", "Not allowed", {"method": "getSingleMessage"})
    return {"message": message}
