"""The default permission -> roles table (RC `upsertPermissions`), only the entries we use."""

from __future__ import annotations

from tests.rocketchat_server.state import User

PERMISSIONS: dict[str, frozenset[str]] = {
    "api-bypass-rate-limit": frozenset({"admin", "bot", "app"}),
    "create-c": frozenset({"admin", "user", "bot", "app"}),
    "create-d": frozenset({"admin", "user", "bot", "app"}),
    "create-p": frozenset({"admin", "user", "bot", "app"}),
    "create-personal-access-tokens": frozenset({"admin", "user"}),
    "create-user": frozenset({"admin"}),
    "edit-other-user-info": frozenset({"admin"}),
    "edit-other-user-password": frozenset({"admin"}),
    "manage-outgoing-integrations": frozenset({"admin"}),
    "manage-own-outgoing-integrations": frozenset({"admin"}),
    "message-impersonate": frozenset({"bot", "app"}),
    "send-many-messages": frozenset({"admin", "bot", "app"}),
    "view-c-room": frozenset({"admin", "user", "bot", "app", "anonymous"}),
    "view-d-room": frozenset({"admin", "user", "bot", "app", "guest"}),
    "view-full-other-user-info": frozenset({"admin"}),
    "view-other-user-channels": frozenset({"admin"}),
    "view-user-administration": frozenset({"admin"}),
}


def has_permission(user: User | None, permission: str) -> bool:
    return user is not None and user.has_any_role(PERMISSIONS.get(permission, frozenset()))
