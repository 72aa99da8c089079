"""Sending messages the way the server does: one path for REST, DDP, replies and the control API.

* `process_webhook_message` is Rocket.Chat's `processWebhookMessage`: used by `chat.postMessage`
  and by outgoing-integration replies (targets `#name`, `@username` -> DM created if missing,
  a bare room id; public channels are auto-joined; `username` becomes the alias).
* `send_message` is the `sendMessage` function behind DDP `sendMessage` and REST
  `chat.sendMessage` (client `_id`, idempotent on duplicate ids, thread normalisation,
  permission checks).
"""

from __future__ import annotations

from typing import Any

from tests.rocketchat_server.attachments import validate_attachments
from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.state import IMPERSONATE_ROLES, Doc, User, World

MAX_MESSAGE_SIZE = 5000  # Message_MaxAllowedSize default
SYSTEM_TYPES = frozenset(
    [
        "e2e",
        "uj",
        "ui",
        "uir",
        "ul",
        "ru",
        "au",
        "mute_unmute",
        "r",
        "ut",
        "wm",
        "rm",
        "subscription-role-added",
        "subscription-role-removed",
        "room-archived",
        "room-unarchived",
        "room_changed_privacy",
        "room_changed_description",
        "room_changed_announcement",
        "room_changed_avatar",
        "room_changed_topic",
        "user-muted",
        "user-unmuted",
        "message_pinned",
        "discussion-created",
        "command",
        "videoconf",
        "ujt",
        "ult",
    ]
)


def resolve_target(world: World, user: User, target: str) -> Doc:
    """`getRoomByNameOrIdWithOptionToJoin` with joinChannel=true."""
    kind, rest = target[:1], target[1:]
    if kind == "@":
        other = world.user_by_username(rest) or world.users.get(rest)
        if other is None:
            # Webhook replies target a DM as `@<roomId>`, which resolves to that room.
            dm = world.rooms.get(rest)
            if dm is not None and dm["t"] == "d" and world.is_member(dm, user):
                return dm
            raise MeteorError("invalid-channel")
        room, _ = world.dm_between([user, other])
        return room
    found = world.room_by_name_or_id(rest) if kind == "#" else world.rooms.get(target)
    if found is None and kind != "#":
        found = world.room_by_name(target)
    if found is None:
        raise MeteorError("invalid-channel")
    if found["t"] == "c":
        world.join(found, user)
    elif not world.is_member(found, user):
        raise MeteorError("error-not-allowed", "Not allowed")
    return found


def check_can_send(world: World, room: Doc | None, user: User) -> Doc:
    if room is None:
        raise MeteorError("error-invalid-room", "Invalid room")
    if not world.can_access(room, user):
        raise MeteorError("error-not-allowed", "Not allowed")
    if room.get("ro") and "admin" not in user.roles:
        raise MeteorError("error-not-allowed", "Not allowed")
    return room


def validate_message(user: User, fields: Doc) -> None:
    """`validateMessage` in sendMessage.ts: size and impersonation permission."""
    if len(fields.get("msg") or "") > MAX_MESSAGE_SIZE:
        raise MeteorError("error-message-size-exceeded", "Message size exceeds the allowed limit")
    if (fields.get("alias") or fields.get("avatar")) and not user.has_any_role(IMPERSONATE_ROLES):
        raise MeteorError("error-action-not-allowed", "Not enough permission")
    attachments = fields.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise MeteorError("error-invalid-attachments", "Attachments must be an array")
    validate_attachments(attachments)


def normalise_thread(world: World, fields: Doc) -> Doc | None:
    """A reply to a reply belongs to the first parent's thread; `rid` comes from the parent."""
    tmid = fields.get("tmid")
    if not tmid:
        if fields.get("tshow"):
            raise MeteorError("invalid-params", "tshow provided but missing tmid")
        return None
    parent = world.message_index.get(tmid)
    if parent is None:
        raise MeteorError("error-invalid-message", "Invalid message")
    if parent.get("tmid"):
        fields["tmid"] = parent["tmid"]
        parent = world.message_index[parent["tmid"]]
    fields["rid"] = parent["rid"]
    return parent


def send_message(
    world: World,
    user: User,
    fields: Doc,
    *,
    origin: object | None = None,
) -> Doc | None:
    """Save `fields` (with `rid`) as `user`; None when the client `_id` already exists."""
    if fields.get("t") in SYSTEM_TYPES:
        raise MeteorError("error-invalid-message", "Invalid message type")
    if fields.get("tshow") and not fields.get("tmid"):
        raise MeteorError("invalid-params", "tshow provided but missing tmid")
    if fields.get("tmid") and not world.settings["Threads_enabled"]:
        # executeSendMessage; chat.postMessage and webhook replies do not check this.
        raise MeteorError("error-not-allowed", "not-allowed", {"method": "sendMessage"})
    normalise_thread(world, fields)
    room = check_can_send(world, world.rooms.get(fields.get("rid") or ""), user)
    message_id = fields.pop("_id", None)
    if message_id and message_id in world.message_index:
        return None
    validate_message(user, fields)
    fields.pop("rid", None)
    fields.pop("ts", None)  # the server's clock wins (client ts within 10 s is replaced too)
    return world.save_message(room, user, fields, origin=origin, message_id=message_id)


def webhook_message_fields(body: Doc, defaults: Doc | None = None) -> Doc:
    """The message `processWebhookMessage` builds from a REST body or a webhook reply."""
    defaults = defaults or {}
    attachments = body.get("attachments")
    if isinstance(attachments, list):
        # processWebhookMessage moves an attachment's `msg` into its `text`.
        attachments = [_attachment_text(a) for a in attachments]
    fields: Doc = {
        "alias": body.get("username") or body.get("alias") or defaults.get("alias") or "",
        "msg": str(body.get("text") or body.get("msg") or "").strip(),
        "attachments": attachments if isinstance(attachments, list) else None,
        "parseUrls": body.get("parseUrls", not attachments),
        "bot": body.get("bot"),
        "groupable": body.get("groupable", False),
        "tmid": body.get("tmid"),
        "customFields": body.get("customFields"),
    }
    emoji = body.get("icon_emoji") or body.get("emoji") or defaults.get("emoji")
    avatar = body.get("icon_url") or body.get("avatar") or defaults.get("avatar")
    if emoji:
        fields["emoji"] = emoji
    elif avatar:
        fields["avatar"] = avatar
    return fields


def _attachment_text(attachment: Any) -> Any:
    if not isinstance(attachment, dict) or not attachment.get("msg"):
        return attachment
    copied = {k: v for k, v in attachment.items() if k != "msg"}
    copied["text"] = str(attachment["msg"]).strip()
    return copied


def process_webhook_message(
    world: World,
    user: User,
    body: Doc,
    targets: list[str],
    *,
    defaults: Doc | None = None,
    origin: object | None = None,
) -> list[Doc]:
    """Post one message per target channel; returns the saved messages."""
    saved: list[Doc] = []
    for target in targets:
        room = resolve_target(world, user, target)
        fields: dict[str, Any] = webhook_message_fields(body, defaults)
        if fields.get("tmid"):
            normalise_thread(world, fields)
            fields.pop("rid", None)
        validate_message(user, fields)
        saved.append(world.save_message(room, user, fields, origin=origin))
    return saved
