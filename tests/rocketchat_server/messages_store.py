"""Message storage for `World`: save (and run the after-save listeners), edits, reactions,
thread counters, mentions.

A mixin so that state.py stays readable; it relies on World's dicts, lock and `emit`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tests.rocketchat_server.model import Doc, User, now, random_id


class MessageStore:
    lock: threading.RLock
    messages: dict[str, list[Doc]]
    message_index: dict[str, Doc]
    deliveries: list[Doc]
    settings: dict[str, Any]
    user_by_username: Callable[[str], User | None]
    emit: Callable[[str, Doc], None]
    bump: Callable[[], None]

    def save_message(
        self,
        room: Doc,
        user: User,
        fields: Doc,
        *,
        origin: object | None = None,
        message_id: str | None = None,
    ) -> Doc:
        """Insert a message and run the after-save listeners (stream + integrations)."""
        with self.lock:
            moment = now()
            message: Doc = {"_id": message_id or random_id(), "rid": room["_id"], "msg": ""}
            message.update({k: v for k, v in fields.items() if v is not None})
            message["ts"] = moment
            message["u"] = user.short()
            message["_updatedAt"] = moment
            message.setdefault("urls", [])
            message["mentions"] = self._mentions(room, message.get("msg", ""))
            message["channels"] = []
            if message.get("msg") and "t" not in message:
                paragraph = [{"type": "PLAIN_TEXT", "value": message["msg"]}]
                message["md"] = [{"type": "PARAGRAPH", "value": paragraph}]
            self.messages.setdefault(room["_id"], []).append(message)
            self.message_index[message["_id"]] = message
            room["msgs"] = room.get("msgs", 0) + 1
            room["_updatedAt"] = moment
            if "t" not in message:
                room["lm"] = moment
                room["lastMessage"] = message
            parent = self._thread_counters(message, room, moment)
        self.emit("message", {"message": message, "room": room, "origin": origin})
        if parent is not None:
            # The thread parent changed (tcount, tlm, replies): it is streamed again.
            self.emit("message-updated", {"message": parent, "room": room, "origin": None})
        return message

    def edit_message(
        self,
        room: Doc,
        message: Doc,
        editor: User,
        text: str,
        *,
        custom_fields: Doc | None = None,
        origin: object | None = None,
    ) -> Doc:
        """`updateMessage`: new text, `editedAt`/`editedBy`, then the after-save listeners again."""
        with self.lock:
            moment = now()
            message["msg"] = text
            if custom_fields is not None:
                message["customFields"] = custom_fields
            message["editedAt"] = moment
            message["editedBy"] = editor.short(with_name=False)
            message["_updatedAt"] = moment
            message["mentions"] = self._mentions(room, text)
            if text:
                paragraph = [{"type": "PLAIN_TEXT", "value": text}]
                message["md"] = [{"type": "PARAGRAPH", "value": paragraph}]
            else:
                message.pop("md", None)  # updateMessage drops `md` when the text is empty
        self.emit("message", {"message": message, "room": room, "origin": origin})
        return message

    def react(self, room: Doc, message: Doc, username: str, reaction: str, *, remove: bool) -> None:
        """`setReaction`: add or remove one username; empty entries (and `reactions`) go away."""
        with self.lock:
            if remove:
                reactions = message.get("reactions") or {}
                usernames = reactions.get(reaction, {}).get("usernames", [])
                if username in usernames:
                    usernames.remove(username)
                if reaction in reactions and not usernames:
                    del reactions[reaction]
                if not reactions:
                    message.pop("reactions", None)  # Messages.unsetReactions
            else:
                entry = message.setdefault("reactions", {}).setdefault(reaction, {"usernames": []})
                entry["usernames"].append(username)
            message["_updatedAt"] = now()
        # notifyOnMessageChange: the same message is streamed again (not a new message).
        self.emit("message-updated", {"message": message, "room": room, "origin": None})

    def age_message(self, message_id: str, minutes: float) -> Doc:
        """Move a message's `ts` into the past (a test aid: nothing is streamed)."""
        with self.lock:
            found = self.message_index.get(message_id)
            if found is None:
                raise KeyError(f"no message with id {message_id!r}")
            found["ts"] = found["ts"] - timedelta(minutes=minutes)
        self.bump()
        return found

    def _thread_counters(self, message: Doc, room: Doc, moment: datetime) -> Doc | None:
        """`processThreads` + `reply` (an afterSaveMessage callback, only with Threads_enabled)."""
        parent = self.message_index.get(message.get("tmid") or "")
        if parent is None or not self.settings.get("Threads_enabled"):
            return None
        author = message["u"]["_id"]
        mentioned = [m["_id"] for m in message.get("mentions", []) if m.get("type") == "user"]
        first = not parent.get("tcount")
        followers = list(parent.get("replies") or []) if not first else [parent["u"]["_id"]]
        if first and room["t"] == "d":
            followers += room.get("uids", [])
        followers = [uid for uid in dict.fromkeys(followers + mentioned) if uid != author]
        own = [author] if parent.get("replies") else [parent["u"]["_id"], author]
        replies = parent.setdefault("replies", [])
        for uid in dict.fromkeys(followers + mentioned + own):  # $addToSet, in order
            if uid not in replies:
                replies.append(uid)
        parent["tcount"] = parent.get("tcount", 0) + 1
        parent["tlm"] = moment
        parent["_updatedAt"] = moment
        return parent

    def _mentions(self, room: Doc, text: str) -> list[Doc]:
        found: list[Doc] = []
        for word in text.split():
            if not word.startswith("@") or len(word) < 2:
                continue
            name = word[1:].rstrip(".,:;!?")
            if name in ("all", "here"):
                found.append({"_id": name, "username": name})
            elif (user := self.user_by_username(name)) is not None:
                found.append({**user.short(), "type": "user"})
        return found

    def snapshot_messages(self, rid: str) -> list[Doc]:
        with self.lock:
            return copy.deepcopy(self.messages.get(rid, []))

    def snapshot_deliveries(self) -> list[Doc]:
        with self.lock:
            return copy.deepcopy(self.deliveries)

    def record_delivery(self, delivery: Doc) -> None:
        with self.lock:
            self.deliveries.append(delivery)
        self.bump()
