"""Editing a message: Rocket.Chat's `executeUpdateMessage`, shared by REST `chat.update` and
the DDP method `updateMessage`.

Order of the checks as in RC `app/lib/server/methods/updateMessage.ts`: unknown id → nothing;
a key outside the editable ones that differs → `error-invalid-update-key`; the same text (no
`previewUrls`, no `customFields`) → nothing changes (no `editedAt`, no stream, no webhook);
`tmid` games; then permission: `edit-message` (admin, room owner/moderator) may edit anything,
anyone else only their own message and only while `Message_AllowEditing` is on; then the
`Message_AllowEditing_BlockEditInMinutes` window (whole minutes since `ts`; `0` = no limit;
users holding `bypass-time-limit-edit-and-delete` — roles bot and app — are exempt); then the
room's send checks. Success sets `editedAt`/`editedBy`, re-streams the message and runs the
outgoing triggers again (only `runOnEdits` integrations fire).
"""

from __future__ import annotations

from typing import Any

from tests.rocketchat_server import messaging
from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.state import Doc, User, World, now

EDITABLE = frozenset(
    ["tshow", "alias", "attachments", "avatar", "emoji", "msg", "customFields", "content",
     "e2eMentions"]
)  # fmt: skip
DETAILS = {"method": "updateMessage"}
NOT_ALLOWED_DETAILS = {"method": "updateMessage", "action": "Message_editing"}


def _differs(value: Any, original: Any) -> bool:
    # JavaScript `!==`: objects and arrays are never identical to the stored ones.
    if isinstance(value, dict | list):
        return True
    return bool(value != original)


def _current_text(original: Doc) -> Any:
    attachments = original.get("attachments") or []
    first = attachments[0] if attachments and isinstance(attachments[0], dict) else {}
    return first.get("description", original.get("msg"))


def _check_keys(change: Doc, original: Doc) -> None:
    for key, value in change.items():
        if key not in EDITABLE and _differs(value, original.get(key)):
            raise MeteorError("error-invalid-update-key", f"Cannot update the message {key}",
                              DETAILS)  # fmt: skip
    tmid = change.get("tmid")
    if tmid and original["_id"] == tmid:
        raise MeteorError("error-message-same-as-tmid", "Cannot set tmid the same as the _id",
                          DETAILS)  # fmt: skip
    if tmid and not original.get("tmid"):
        raise MeteorError("error-message-change-to-thread", "Cannot update message to a thread",
                          DETAILS)  # fmt: skip


def check_may_edit(world: World, user: User, original: Doc, room: Doc | None,
                   exact_block_error: bool = False) -> None:  # fmt: skip
    """Permission, `Message_AllowEditing` and the edit window, in Rocket.Chat's order."""
    roles = world.room_roles(room, user)
    own = original["u"]["_id"] == user.id
    allowed = world.settings["Message_AllowEditing"]
    if not has_permission(user, "edit-message", roles) and (not allowed or not own):
        raise MeteorError("error-action-not-allowed", "Message editing not allowed",
                          dict(NOT_ALLOWED_DETAILS))  # fmt: skip
    limit = world.settings["Message_AllowEditing_BlockEditInMinutes"]
    if not limit or has_permission(user, "bypass-time-limit-edit-and-delete", roles):
        return
    minutes = int((now() - original["ts"]).total_seconds() // 60)  # moment().diff(ts, "minutes")
    if minutes < limit:
        return
    if exact_block_error:
        # What updateMessage.ts throws; the protocol reference files it under not-allowed.
        raise MeteorError("error-message-editing-blocked", "Message editing is blocked",
                          dict(DETAILS))  # fmt: skip
    raise MeteorError("error-action-not-allowed", "Message editing not allowed",
                      dict(NOT_ALLOWED_DETAILS))  # fmt: skip


def update_message(
    world: World,
    user: User,
    change: Doc,
    *,
    preview_urls: list[str] | None = None,
    origin: object | None = None,
    exact_block_error: bool = False,
) -> bool:
    """Apply `change` (`_id`, `rid`, `msg`, optional `customFields`); True when it was edited."""
    original = world.message_index.get(change["_id"])
    if original is None:
        return False
    _check_keys(change, original)
    text = change.get("msg", original.get("msg", ""))
    custom = change.get("customFields")
    # JavaScript truthiness: `[]` and `{}` count as given, so only absence (or null) is "none".
    if _current_text(original) == text and preview_urls is None and custom is None:
        return False
    room = world.rooms.get(change.get("rid") or "")
    check_may_edit(world, user, original, room, exact_block_error)
    room = messaging.check_can_send(world, room, user)
    world.edit_message(room, original, user, str(text), custom_fields=custom, origin=origin)
    return True
