"""DDP subscriptions to Rocket.Chat streams, and the fan-out of world events to them.

`sub` params are `[eventName, options]`, options a boolean (legacy useCollection) or
`{"useCollection": bool, "args": [...]}`. With useCollection true the server first sends an
`added` document (`id "id"`, `fields {eventName}`) and then `ready`; with false just `ready`.
Every event is `changed` with `id "id"` and `fields {eventName, args}`. Events caused by a
connection's own method call are not sent back to that connection (Streamer
`retransmitToSelf = false`). Refusals are `nosub` with a Meteor error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.rocketchat_server.errors import MeteorError
from tests.rocketchat_server.state import Doc, User

if TYPE_CHECKING:
    from tests.rocketchat_server.ddp import Connection, Hub

STREAMS = {
    "stream-room-messages",
    "stream-notify-user",
    "stream-notify-room",
    "stream-notify-room-users",
    "stream-notify-logged",
    "stream-notify-all",
    "stream-user-presence",
}
NO_DATA_PUBLICATIONS = {"meteor.loginServiceConfiguration", "meteor_autoupdate_clientVersions",
                        "roles", "activeUsers", "userData"}  # fmt: skip


@dataclass
class Sub:
    id: str
    name: str
    event: str
    use_collection: bool


class Streams:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.world = hub.runtime.world

    # -- sub / unsub ----------------------------------------------------------------------

    def subscribe(self, conn: Connection, frame: dict[str, Any]) -> None:
        sub_id, name, params = frame.get("id"), frame.get("name"), frame.get("params", [])
        if not isinstance(sub_id, str) or not isinstance(name, str) or not isinstance(params, list):
            conn.error("Malformed subscription", frame)
            return
        if sub_id in conn.subs:
            return  # Meteor ignores a duplicate sub id
        if name in NO_DATA_PUBLICATIONS:
            conn.subs[sub_id] = Sub(sub_id, name, "", False)
            conn.send({"msg": "ready", "subs": [sub_id]})
            return
        if name not in STREAMS:
            self._nosub(conn, sub_id, MeteorError(404, f"Subscription '{name}' not found"))
            return
        event = params[0] if params else None
        options = params[1] if len(params) > 1 else False
        use_collection = (
            bool(options.get("useCollection")) if isinstance(options, dict) else bool(options)
        )
        try:
            self._check_read(conn, name, event)
        except MeteorError as error:
            self._nosub(conn, sub_id, error)
            return
        conn.subs[sub_id] = Sub(sub_id, name, str(event), use_collection)
        if use_collection and name not in conn.added_collections:
            conn.added_collections.add(name)
            conn.send({"msg": "added", "collection": name, "id": "id",
                       "fields": {"eventName": event}})  # fmt: skip
        conn.send({"msg": "ready", "subs": [sub_id]})

    def unsubscribe(self, conn: Connection, frame: dict[str, Any]) -> None:
        sub_id = frame.get("id")
        conn.subs.pop(str(sub_id), None)
        conn.send({"msg": "nosub", "id": sub_id})

    def _nosub(self, conn: Connection, sub_id: str, error: MeteorError) -> None:
        conn.send({"msg": "nosub", "id": sub_id, "error": error.ddp()})

    def _check_read(self, conn: Connection, name: str, event: Any) -> None:
        if not isinstance(event, str) or not event:
            raise MeteorError("invalid-event-name")
        if name == "stream-notify-all":
            return
        user = conn.user
        if user is None:
            raise MeteorError("not-allowed")
        if name == "stream-room-messages" and event != "__my_messages__":
            room = self.world.rooms.get(event)
            if room is None or not self.world.can_access(room, user):
                raise MeteorError("not-allowed")
        elif name == "stream-notify-user" and event.split("/", 1)[0] != user.id:
            raise MeteorError("not-allowed")
        elif name in ("stream-notify-room", "stream-notify-room-users"):
            room = self.world.rooms.get(event.split("/", 1)[0])
            if room is None or not self.world.is_member(room, user):
                raise MeteorError("not-allowed")

    # -- fan-out --------------------------------------------------------------------------

    def emit(self, name: str, event: str, args: list[Any], *, origin: object = None,
             only_user: str | None = None) -> None:  # fmt: skip
        for conn in list(self.hub.connections):
            if conn is origin or conn.user is None:
                continue
            if only_user is not None and conn.user.id != only_user:
                continue
            for sub in list(conn.subs.values()):
                if sub.name == name and sub.event == event:
                    conn.send(changed(name, event, args))

    def on_event(self, kind: str, payload: Doc) -> None:
        if kind in ("message", "message-updated"):
            self._message(payload["message"], payload["room"], payload["origin"])
        elif kind == "room-created":
            for uid in payload["uids"]:
                room = payload["room"]
                self.emit("stream-notify-user", f"{uid}/rooms-changed", ["inserted", room])
        elif kind == "subscription":
            uid = payload["uid"]
            args = [payload["action"], payload["sub"]]
            self.emit("stream-notify-user", f"{uid}/subscriptions-changed", args)
        elif kind == "ephemeral":
            uid = payload["uid"]
            self.emit("stream-notify-user", f"{uid}/message", [payload["message"]])
        elif kind == "room-activity":
            self.emit("stream-notify-room", payload["event"], payload["args"],
                      origin=payload.get("origin"))  # fmt: skip

    def _message(self, message: Doc, room: Doc, origin: object) -> None:
        rid = room["_id"]
        self.emit("stream-room-messages", rid, [message], origin=origin)
        for conn in list(self.hub.connections):
            if conn is origin or conn.user is None:
                continue
            self._my_messages(conn, conn.user, message, room)
        for member in self.world.members(room):
            self.emit("stream-notify-user", f"{member.id}/rooms-changed", ["updated", room])

    def _my_messages(self, conn: Connection, user: User, message: Doc, room: Doc) -> None:
        subs = [s for s in conn.subs.values()
                if s.name == "stream-room-messages" and s.event == "__my_messages__"]  # fmt: skip
        if not subs or not self.world.can_access(room, user):
            return
        meta: Doc = {"roomParticipant": self.world.is_member(room, user), "roomType": room["t"]}
        if room.get("name"):
            meta["roomName"] = room["name"]
        for _ in subs:
            conn.send(changed("stream-room-messages", "__my_messages__", [message, meta]))


def changed(collection: str, event: str, args: list[Any]) -> dict[str, Any]:
    fields = {"eventName": event, "args": args}
    return {"msg": "changed", "collection": collection, "id": "id", "fields": fields}
