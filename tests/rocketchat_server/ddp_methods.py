"""DDP methods a bot uses: login, sendMessage, DMs, room lookups, history, typing, reactions.

Replies: `updated` is sent before `result` (what the Meteor monolith does); the `result` frame
has no `result` key when the method returns nothing (e.g. `sendMessage` with an `_id` that
already exists, a swallowed send error, a typing notification). Errors are Meteor errors in
the real shape; rate limits answer `too-many-requests` with `details.timeToReset`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.rocketchat_server import auth, editing, messaging, reactions
from tests.rocketchat_server.codec import from_ejson
from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.permissions import has_permission
from tests.rocketchat_server.schemas import SEND_MESSAGE_KEYS
from tests.rocketchat_server.state import Doc, User, now, random_id

if TYPE_CHECKING:
    from tests.rocketchat_server.ddp import Connection, Hub

LOG = logging.getLogger(__name__)
_NOTHING = object()  # the method returned undefined: no `result` key
Method = Callable[["Connection", list[Any]], Awaitable[Any]]
MATCH_FAILED = MeteorError(400, "Match failed")


class Methods:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.world = hub.runtime.world
        self.table: dict[str, Method] = {
            "login": self.login,
            "logout": self.logout,
            "sendMessage": self.send_message,
            "createDirectMessage": self.create_direct_message,
            "getRoomIdByNameOrId": self.get_room_id,
            "joinRoom": self.join_room,
            "subscriptions/get": self.subscriptions_get,
            "rooms/get": self.rooms_get,
            "loadHistory": self.load_history,
            "stream-notify-room": self.notify_room,
            "setReaction": self.set_reaction,
            "updateMessage": self.update_message,
            "UserPresence:online": self.nothing,
            "UserPresence:away": self.nothing,
            "UserPresence:setDefaultStatus": self.nothing,
        }

    async def call(self, conn: Connection, frame: dict[str, Any]) -> None:
        method_id, name, params = frame.get("id"), frame.get("method"), frame.get("params", [])
        if (
            not isinstance(method_id, str)
            or not isinstance(name, str)
            or not isinstance(params, list)
        ):
            conn.error("Malformed method invocation", frame)
            return
        reply: dict[str, Any] = {"msg": "result", "id": method_id}
        try:
            handler = self.table.get(name)
            if handler is None:
                raise MeteorError(404, f"Method '{name}' not found")
            self._rate_limit(conn, name)
            value = await handler(conn, from_ejson(params))
            if value is not _NOTHING:
                reply["result"] = value
        except MeteorError as error:
            reply["error"] = error.ddp()
        except Exception:  # Meteor hides non-client-safe errors behind a 500
            LOG.exception("method %s failed", name)
            reply["error"] = MeteorError(500, "Internal server error").ddp()
        conn.send({"msg": "updated", "methods": [method_id]})
        conn.send(reply)
        self.world.bump()

    def _rate_limit(self, conn: Connection, name: str) -> None:
        who = conn.user.id if conn.user else f"conn:{conn.session}"
        bypass = has_permission(conn.user, "send-many-messages")
        decision = self.hub.runtime.limiter.check(name, who, bypass=bypass, rest=False)
        if decision is not None and not decision.allowed:
            seconds = decision.wait_seconds
            reason = (
                "Error, too many requests. Please slow down. "
                f"You must wait {seconds} seconds before trying again."
            )
            raise MeteorError(
                "too-many-requests", reason, {"timeToReset": decision.time_to_reset_ms}
            )

    @staticmethod
    def _user(conn: Connection, method: str) -> User:
        if conn.user is None:
            raise MeteorError("error-invalid-user", "Invalid user", {"method": method})
        return conn.user

    # -- authentication -------------------------------------------------------------------

    async def login(self, conn: Connection, params: list[Any]) -> Any:
        user, token, kind = auth.login(self.world, params[0] if params else None)
        conn.user, conn.token = user, token
        fields = {"username": user.username, "emails": [{"address": user.email,
                  "verified": user.verified}], "status": "online", "active": user.active,
                  "name": user.name, "roles": list(user.roles), "utcOffset": 0}  # fmt: skip
        conn.send({"msg": "added", "collection": "users", "id": user.id, "fields": fields})
        return {"id": user.id, "token": token.token, "tokenExpires": token.expires, "type": kind}

    async def logout(self, conn: Connection, params: list[Any]) -> Any:
        conn.user, conn.token = None, None
        return _NOTHING

    async def nothing(self, conn: Connection, params: list[Any]) -> Any:
        self._user(conn, "presence")
        return _NOTHING

    # -- messages -------------------------------------------------------------------------

    async def send_message(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "sendMessage")
        message = params[0] if params else None
        if not isinstance(message, dict) or not isinstance(message.get("rid"), str):
            raise MATCH_FAILED
        if set(message) - SEND_MESSAGE_KEYS or not isinstance(message.get("msg", ""), str):
            raise MATCH_FAILED
        client_ts = message.get("ts")
        if isinstance(client_ts, datetime) and abs((client_ts - now()).total_seconds()) > 60:
            raise MeteorError("error-message-ts-out-of-sync", "Message timestamp is out of sync")
        try:
            saved = messaging.send_message(self.world, user, dict(message), origin=conn)
        except MeteorError as error:
            if error.error in ("error-not-allowed", "restricted-workspace"):
                raise MeteorError(error.error, error.reason, {"method": "sendMessage"}) from None
            self._ephemeral(user, message["rid"], error.reason or str(error.error))
            return _NOTHING
        return _NOTHING if saved is None else saved

    def _ephemeral(self, user: User, rid: str, text: str) -> None:
        moment = now()
        message = {"_id": random_id(), "rid": rid, "msg": text, "ts": moment,
                   "u": {"_id": "rocket.cat", "username": "rocket.cat"}, "private": True,
                   "groupable": False, "_updatedAt": moment}  # fmt: skip
        self.world.emit("ephemeral", {"uid": user.id, "message": message})

    async def create_direct_message(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "createDirectMessage")
        if not params or not all(isinstance(p, str) for p in params):
            raise MATCH_FAILED
        others = []
        for username in params:
            other = self.world.user_by_username(username)
            if other is None:
                raise MeteorError(
                    "error-invalid-user", "Invalid user", {"method": "createDirectMessage"}
                )
            others.append(other)
        room, _ = self.world.dm_between([user, *others])
        return {"t": "d", "rid": room["_id"], "usernames": list(room["usernames"])}

    async def get_room_id(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "getRoomIdByNameOrId")
        room = (
            self.world.room_by_name_or_id(params[0])
            if params and isinstance(params[0], str)
            else None
        )
        if room is None or not self.world.can_access(room, user):
            raise MeteorError("error-not-allowed", "Not allowed", {"method": "getRoomIdByNameOrId"})
        return room["_id"]

    async def join_room(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "joinRoom")
        room = self.world.rooms.get(params[0]) if params and isinstance(params[0], str) else None
        if room is None or room["t"] != "c":
            raise MeteorError("error-not-allowed", "Not allowed", {"method": "joinRoom"})
        self.world.join(room, user)
        return True

    # -- reads ----------------------------------------------------------------------------

    @staticmethod
    def _since(params: list[Any]) -> datetime | None:
        return params[0] if params and isinstance(params[0], datetime) else None

    async def subscriptions_get(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "subscriptions/get")
        subs = self.world.subscriptions_of(user)
        since = self._since(params)
        if since is None:
            return subs
        return {"update": [s for s in subs if s["_updatedAt"] > since], "remove": []}

    async def rooms_get(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "rooms/get")
        rooms = [self.world.rooms[s["rid"]] for s in self.world.subscriptions_of(user)]
        since = self._since(params)
        if since is None:
            return rooms
        return {"update": [r for r in rooms if r["_updatedAt"] > since], "remove": []}

    async def load_history(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "loadHistory")
        room = self.world.rooms.get(params[0]) if params and isinstance(params[0], str) else None
        if room is None or not self.world.can_access(room, user):
            raise MeteorError("error-invalid-room", "Invalid room", {"method": "loadHistory"})
        end = params[1] if len(params) > 1 and isinstance(params[1], datetime) else None
        limit = params[2] if len(params) > 2 and isinstance(params[2], int) else 20
        found = [
            m for m in reversed(self.world.messages[room["_id"]]) if end is None or m["ts"] < end
        ]
        return {"messages": found[:limit], "unreadNotLoaded": 0}

    # -- room activity and reactions ------------------------------------------------------

    async def notify_room(self, conn: Connection, params: list[Any]) -> Any:
        user = self._user(conn, "stream-notify-room")
        if len(params) < 2 or not isinstance(params[0], str):
            raise MATCH_FAILED
        event, username = params[0], params[1]
        rid, _, kind = event.partition("/")
        room = self.world.rooms.get(rid)
        if room is None or not self.world.is_member(room, user) or username != user.username:
            return _NOTHING  # silently dropped, like the real Streamer's write check
        self._bridge_typing(conn, rid, kind, username, params[2:])
        return _NOTHING

    def _bridge_typing(
        self, conn: Connection, rid: str, kind: str, username: str, rest: list[Any]
    ) -> None:
        if kind == "user-activity":
            activity = rest[0] if rest else []
            args = [username, activity, *rest[1:2]]
            typing = [username, "user-typing" in activity]
        elif kind == "typing":
            typing = [username, bool(rest[0]) if rest else False]
            args = [username, ["user-typing"] if typing[1] else []]
        else:
            self.world.emit("room-activity", {"event": f"{rid}/{kind}", "args": [username, *rest],
                                               "origin": conn})  # fmt: skip
            return
        self.world.emit(
            "room-activity", {"event": f"{rid}/user-activity", "args": args, "origin": conn}
        )
        self.world.emit("room-activity", {"event": f"{rid}/typing", "args": typing, "origin": conn})

    async def update_message(self, conn: Connection, params: list[Any]) -> Any:
        """`updateMessage` [message, previewUrls?]: editing.py; never returns a value."""
        user = self._user(conn, "updateMessage")
        change = params[0] if params else None
        preview = params[1] if len(params) > 1 else None
        if not isinstance(change, dict) or not isinstance(change.get("_id"), str):
            raise MATCH_FAILED
        if preview is not None and not (
            isinstance(preview, list) and all(isinstance(p, str) for p in preview)
        ):
            raise MATCH_FAILED
        exact = self.hub.runtime.options.exact_edit_block_error
        editing.update_message(self.world, user, change, preview_urls=preview, origin=conn,
                               exact_block_error=exact)  # fmt: skip
        return _NOTHING

    async def set_reaction(self, conn: Connection, params: list[Any]) -> Any:
        """`setReaction` [":emoji:", messageId, shouldReact?]: reactions.py."""
        user = self._user(conn, "setReaction")
        if len(params) < 2 or not all(isinstance(p, str) for p in params[:2]):
            raise MATCH_FAILED
        should = params[2] if len(params) > 2 else None
        if should is not None and not isinstance(should, bool):
            raise MATCH_FAILED
        message = self.world.message_index.get(params[1])
        reactions.set_reaction(self.world, user, params[0], message, should)
        return _NOTHING


__all__ = ["Methods", "Doc"]
