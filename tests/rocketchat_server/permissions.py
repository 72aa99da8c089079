"""The default permission -> roles table (RC `upsertPermissions`), only the entries we use.

Roles `owner`/`moderator`/`leader` are room-scoped: they live on the user's subscription, so
room permissions (`edit-message`, `post-readonly`) take the subscription's roles as well.
"""

from __future__ import annotations

from collections.abc import Iterable

from tests.rocketchat_server.state import User

PERMISSIONS: dict[str, frozenset[str]] = {
    "api-bypass-rate-limit": frozenset({"admin", "bot", "app"}),
    "bypass-time-limit-edit-and-delete": frozenset({"bot", "app"}),
    "create-c": frozenset({"admin", "user", "bot", "app"}),
    "create-d": frozenset({"admin", "user", "bot", "app"}),
    "create-p": frozenset({"admin", "user", "bot", "app"}),
    "create-personal-access-tokens": frozenset({"admin", "user"}),
    "create-user": frozenset({"admin"}),
    "edit-message": frozenset({"admin", "owner", "moderator"}),
    "edit-other-user-info": frozenset({"admin"}),
    "edit-other-user-password": frozenset({"admin"}),
    "manage-outgoing-integrations": frozenset({"admin"}),
    "manage-own-outgoing-integrations": frozenset({"admin"}),
    "message-impersonate": frozenset({"bot", "app"}),
    "post-readonly": frozenset({"admin", "owner", "moderator"}),
    "send-many-messages": frozenset({"admin", "bot", "app"}),
    "view-c-room": frozenset({"admin", "user", "bot", "app", "anonymous"}),
    "view-d-room": frozenset({"admin", "user", "bot", "app", "guest"}),
    "view-full-other-user-info": frozenset({"admin"}),
    "view-other-user-channels": frozenset({"admin"}),
    "view-user-administration": frozenset({"admin"}),
}


def has_permission(user: User | None, permission: str, room_roles: Iterable[str] = ()) -> bool:
    """Whether `user` (plus `room_roles` from its subscription) holds `permission`."""
    if user is None:
        return False
    allowed = PERMISSIONS.get(permission, frozenset())
    return user.has_any_role(allowed) or not allowed.isdisjoint(room_roles)
