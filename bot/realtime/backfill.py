"""After a (re)connect: fetch over REST every message the stream may have missed.

For each room the bot is in (``rooms.get``) and each room it has a cursor for, ask
``chat.syncMessages`` for everything changed since the room's cursor (a room never seen starts
at the newest cursor of any room, so a DM opened while the bot was away is covered; with no
cursor at all, on the very first start, nothing is fetched and each room's cursor starts at
its last message, or now, written at once: a restart then back-fills the downtime even if the
first run stopped before its first cursor flush). Servers without
``chat.syncMessages`` get ``channels.history`` / ``groups.history`` / ``im.history`` instead.
Rooms whose last message (``lm``) is older than the start are skipped without a call. The
overlap with what was already handled is dropped by the once-only keys.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot.chat.messages import DIRECT, RoomDirectory
from bot.errors import ChatRejected
from bot.realtime.cursors import CursorBook
from bot.rest.client import RestClient
from bot.rest.ejson import ejson_date

log = logging.getLogger(__name__)

HISTORY_PAGE = 1000
_EPOCH = datetime.fromtimestamp(0, tz=UTC)


class Backfiller:
    def __init__(self, rest: RestClient, rooms: RoomDirectory, cursors: CursorBook) -> None:
        self.rest = rest
        self.rooms = rooms
        self.cursors = cursors

    def collect(self) -> list[dict[str, Any]]:
        """Every missed message, oldest first. Raises ``ChatUnavailable`` if REST is down."""
        last_message: dict[str, datetime | None] = {}
        for room in self.rest.rooms_get():
            info = self.rooms.learn_room(room)
            if info is not None:
                last_message[info.id] = ejson_date(room.get("lm"))
        if self.cursors.watermark() is None:  # the very first start: nothing to replay
            now = self.cursors.clock.now()
            self.cursors.begin({room: newest or now for room, newest in last_message.items()})
            return []
        room_ids = set(last_message) | set(self.cursors.rooms())
        found: list[dict[str, Any]] = []
        for room_id in sorted(room_ids):
            since = self.cursors.since(room_id)
            newest = last_message.get(room_id)
            if since is None or (newest is not None and newest < since):
                continue
            found.extend(self._room(room_id, since))
        found.sort(key=lambda m: ejson_date(m.get("ts")) or _EPOCH)
        return found

    def _room(self, room_id: str, since: datetime) -> list[dict[str, Any]]:
        try:
            answer = self.rest.sync_messages(room_id, since)
            return [m for m in answer.get("updated") or [] if isinstance(m, dict)]
        except ChatRejected as exc:
            log.info("chat.syncMessages refused for %s (%s); reading the history", room_id,
                     exc)
        room_type = self.rooms.get(room_id).type
        history = {DIRECT: self.rest.im_history, "p": self.rest.groups_history}.get(
            room_type or "c", self.rest.channels_history)
        try:
            return history(room_id, since, HISTORY_PAGE)
        except ChatRejected as exc:
            log.warning("cannot back-fill room %s: %s", room_id, exc)
            return []

