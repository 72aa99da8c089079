"""In-memory Rocket.Chat data: users, rooms, subscriptions, messages, integrations, deliveries.

Everything that changes state lives here so that REST, DDP, the integrations engine and the
Python control API all go through one code path (the real server has one too: every message is
saved by `sendMessage` and then runs the `afterSaveMessage` callbacks). Listeners registered
with `World.listen` play the part of those callbacks: the DDP hub streams the event, the
integrations engine fires outgoing webhooks.

Dates are kept as aware `datetime`s; `codec.py` turns them into EJSON `{"$date": ms}` for DDP
and ISO-8601 strings for REST. All mutation happens on the simulator's event-loop thread;
other threads only read snapshots under `World.lock`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.rocketchat_server import settings as workspace_settings
from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.messages_store import MessageStore
from tests.rocketchat_server.model import (
    BYPASS_RATE_LIMIT_ROLES,
    IMPERSONATE_ROLES,
    SEND_MANY_ROLES,
    Doc,
    Token,
    User,
    login_token,
    now,
    random_id,
    sha256_hex,
)

__all__ = [
    "BYPASS_RATE_LIMIT_ROLES", "IMPERSONATE_ROLES", "SEND_MANY_ROLES", "Doc", "Token", "User",
    "World", "login_token", "now", "random_id", "sha256_hex",
]  # fmt: skip

Listener = Callable[[str, Doc], None]


class World(MessageStore):
    """All simulator state plus the listener list that plays Rocket.Chat's callbacks."""

    def __init__(self, site_url: str = "http://127.0.0.1:3000/") -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(threading.Lock())
        self.version = 0
        self.site_url = site_url
        self.users: dict[str, User] = {}
        self.rooms: dict[str, Doc] = {}
        self.subscriptions: dict[tuple[str, str], Doc] = {}  # (rid, uid) -> subscription
        self.messages: dict[str, list[Doc]] = {}
        self.message_index: dict[str, Doc] = {}
        self.integrations: dict[str, Doc] = {}
        self.integration_history: list[Doc] = []
        self.deliveries: list[Doc] = []
        self.settings = workspace_settings.defaults()
        self._listeners: list[Listener] = []
        self.create_room("c", "general", room_id="GENERAL", owner=None, default=True)

    # -- notification ---------------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, payload: Doc) -> None:
        for listener in list(self._listeners):
            listener(event, payload)
        self.bump()

    def bump(self) -> None:
        """Wake every `wait_for` in other threads: something changed."""
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    # -- users ----------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str,
        *,
        name: str | None = None,
        email: str | None = None,
        roles: list[str] | None = None,
        active: bool = True,
        verified: bool = False,
        two_factor: bool = False,
        extra: Doc | None = None,
        join_default_channels: bool = True,
    ) -> User:
        with self.lock:
            email = email or f"{username}@example.invalid"
            if self.user_by_username(username):
                raise MeteorError("error-field-unavailable", f"{username} is already in use :(")
            if any(u.email.lower() == email.lower() for u in self.users.values()):
                raise MeteorError("error-field-unavailable", f"{email} is already in use :(")
            user = User(
                id=random_id(),
                username=username,
                name=name if name is not None else username,
                email=email,
                password_digest=sha256_hex(password),
                roles=list(roles or ["user"]),
                active=active,
                verified=verified,
                two_factor=two_factor,
                extra=dict(extra or {}),
            )
            self.users[user.id] = user
            if join_default_channels:
                for room in list(self.rooms.values()):
                    if room.get("default"):
                        self.join(room, user)
        self.bump()
        return user

    def user_by_username(self, username: str) -> User | None:
        wanted = username.lower()
        for user in self.users.values():
            if user.username.lower() == wanted:
                return user
        return None

    def user_by_email(self, email: str) -> User | None:
        wanted = email.lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def user_by_token(self, user_id: str, token: str) -> tuple[User, Token] | None:
        user = self.users.get(user_id)
        if user is None or not user.active:
            return None
        found = user.find_token(token)
        return (user, found) if found else None

    def user_by_any_token(self, token: str) -> tuple[User, Token] | None:
        for user in self.users.values():
            found = user.find_token(token)
            if found and user.active:
                return user, found
        return None

    def issue_token(self, user: User, kind: str = "password") -> Token:
        token = Token(token=login_token(), when=now(), kind=kind)
        user.tokens.append(token)
        return token

    # -- rooms and subscriptions -----------------------------------------------------------

    def create_room(
        self,
        room_type: str,
        name: str | None,
        *,
        owner: User | None,
        room_id: str | None = None,
        default: bool = False,
        members: list[User] | None = None,
    ) -> Doc:
        with self.lock:
            moment = now()
            room: Doc = {
                "_id": room_id or random_id(),
                "t": room_type,
                "msgs": 0,
                "usersCount": 0,
                "ts": moment,
                "_updatedAt": moment,
                "ro": False,
                "sysMes": True,
                "default": default,
            }
            if name is not None:
                room["name"] = name
                room["fname"] = name
            if owner is not None:
                room["u"] = owner.short(with_name=False)
            self.rooms[room["_id"]] = room
            self.messages[room["_id"]] = []
            for member in members or []:
                self.join(room, member, system_message=False)
        self.bump()
        return room

    def room_by_name(self, name: str) -> Doc | None:
        for room in self.rooms.values():
            if room.get("name") == name:
                return room
        return None

    def room_by_name_or_id(self, value: str) -> Doc | None:
        return self.rooms.get(value) or self.room_by_name(value)

    def dm_between(self, users: list[User]) -> tuple[Doc, bool]:
        """The direct-message room of these users, creating it if missing (created?=True)."""
        with self.lock:
            unique = {u.id: u for u in users}
            ordered = sorted(unique.values(), key=lambda u: u.id)
            if len(ordered) == 2:
                # The (deprecated but still used) 1:1 scheme: both user ids, sorted, joined.
                rid = ordered[0].id + ordered[1].id
            else:
                rid = ""
                for room in self.rooms.values():
                    if room["t"] == "d" and sorted(room["uids"]) == [u.id for u in ordered]:
                        rid = room["_id"]
                rid = rid or random_id()
            if rid in self.rooms:
                return self.rooms[rid], False
            room = self.create_room("d", None, owner=None, room_id=rid)
            room.pop("default", None)
            room["uids"] = [u.id for u in ordered]
            room["usernames"] = sorted(u.username for u in ordered)
            room["usersCount"] = len(ordered)
            for member in ordered:
                others = [u for u in ordered if u.id != member.id] or [member]
                self._subscribe(room, member, name=others[0].username, fname=others[0].name)
        self.emit("room-created", {"room": room, "uids": room["uids"]})
        return room, True

    def join(self, room: Doc, user: User, system_message: bool = True) -> bool:
        with self.lock:
            if (room["_id"], user.id) in self.subscriptions:
                return False
            self._subscribe(room, user, name=room.get("name", ""), fname=room.get("fname", ""))
            room["usersCount"] = room.get("usersCount", 0) + 1
        if system_message and room["t"] in ("c", "p"):
            self.save_message(room, user, {"msg": user.username, "t": "uj"})
        return True

    def _subscribe(self, room: Doc, user: User, *, name: str, fname: str) -> Doc:
        moment = now()
        sub: Doc = {
            "_id": random_id(),
            "open": True,
            "alert": False,
            "unread": 0,
            "userMentions": 0,
            "groupMentions": 0,
            "ts": moment,
            "rid": room["_id"],
            "name": name,
            "fname": fname,
            "t": room["t"],
            "u": user.short(),
            "ls": moment,
            "_updatedAt": moment,
        }
        if room.get("u", {}).get("_id") == user.id:
            sub["roles"] = ["owner"]
        self.subscriptions[(room["_id"], user.id)] = sub
        self.emit("subscription", {"action": "inserted", "sub": sub, "uid": user.id})
        return sub

    def is_member(self, room: Doc, user: User) -> bool:
        return (room["_id"], user.id) in self.subscriptions

    def room_roles(self, room: Doc | None, user: User) -> list[str]:
        """The user's room-scoped roles (`owner`, `moderator`, ...) from its subscription."""
        sub = self.subscriptions.get((room["_id"], user.id)) if room else None
        return list(sub.get("roles") or []) if sub else []

    def can_access(self, room: Doc, user: User) -> bool:
        return room["t"] == "c" or self.is_member(room, user)

    def members(self, room: Doc) -> list[User]:
        rid = room["_id"]
        return [self.users[uid] for (r, uid) in list(self.subscriptions) if r == rid]

    def subscriptions_of(self, user: User) -> list[Doc]:
        return [s for (_, uid), s in self.subscriptions.items() if uid == user.id]
