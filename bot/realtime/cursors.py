"""The last message handled per room, kept in memory and written to ``realtime_cursors``.

A cursor only moves forward (the newest ``ts`` handled in that room). Writes are batched
(:meth:`CursorBook.flush`, called every second or so and when the client stops): a cursor that
is a little stale only makes the next back-fill fetch a few messages twice, and the once-only
keys absorb that overlap, so nothing needs a write per message on the hot path.

The flush is also where an SQLite store's WAL is checkpointed (beside the writers, not inside
a message's commit) and made durable: see :func:`rules.store.cursors.save_cursors_durably`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta

from rules.clock import Clock, SystemClock
from rules.store import Database
from rules.store import cursors as cursor_store

# Back-fill starts a little before the cursor: messages sharing the cursor's millisecond and
# small server clock steps are fetched again and dropped as duplicates instead of lost.
OVERLAP = timedelta(seconds=1)


class CursorBook:
    """Per-room cursors backed by the store."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self._cursors: dict[str, tuple[datetime, str | None, str | None]] = {}
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        # Where the current gap began (cursors when the stream was last lost). Live messages
        # move the cursors on while a back-fill is still pending; the back-fill must start
        # from here anyway, so it is kept until a back-fill succeeds.
        self._gap: dict[str, datetime] | None = None

    def load(self) -> None:
        # from here on the flush checkpoints the WAL, not the commits on the chat path
        self.db.defer_checkpoints()
        with self.db.connect() as conn:
            rows = cursor_store.load_cursors(conn)
        with self._lock:
            for row in rows:
                self._cursors[row.room_id] = (row.last_ts, row.last_message_id, row.room_type)
        self.mark_gap()

    def mark_gap(self) -> None:
        """The stream is lost (or not yet started): remember where to back-fill from."""
        with self._lock:
            if not self._gap:  # an empty snapshot (nothing seen yet) holds no start to keep
                self._gap = {room: cursor[0] for room, cursor in self._cursors.items()}

    def clear_gap(self) -> None:
        with self._lock:
            self._gap = None

    def advance(self, room_id: str, ts: datetime, message_id: str | None,
                room_type: str | None = None) -> None:
        with self._lock:
            current = self._cursors.get(room_id)
            if current is not None and current[0] >= ts:
                return
            self._cursors[room_id] = (ts, message_id, room_type or (current and current[2]))
            self._dirty.add(room_id)

    def begin(self, rooms: Mapping[str, datetime]) -> None:
        """The very first start: each room's cursor starts at ``rooms[room]`` (what was there
        before is history, not replayed), written at once so that a restart back-fills what
        was posted while the bot was down even if it stopped before its first flush."""
        with self._lock:
            for room_id, ts in rooms.items():
                if room_id not in self._cursors:
                    self._cursors[room_id] = (ts, None, None)
                    self._dirty.add(room_id)
        self.flush()

    def get(self, room_id: str) -> datetime | None:
        with self._lock:
            found = self._cursors.get(room_id)
            return found[0] if found else None

    def rooms(self) -> dict[str, datetime]:
        with self._lock:
            return {room: cursor[0] for room, cursor in self._cursors.items()}

    def watermark(self) -> datetime | None:
        """The newest message handled in any room: where a room without a cursor starts."""
        with self._lock:
            return max((c[0] for c in self._cursors.values()), default=None)

    def since(self, room_id: str) -> datetime | None:
        """Where a back-fill of ``room_id`` starts, or None (nothing ever seen: no back-fill)."""
        start: datetime | None
        with self._lock:
            if self._gap:
                start = self._gap.get(room_id) or max(self._gap.values())
            else:
                found = self._cursors.get(room_id)
                start = found[0] if found else max(
                    (c[0] for c in self._cursors.values()), default=None)
        return start - OVERLAP if start is not None else None

    def flush(self) -> int:
        """Write changed cursors durably; returns how many rows were written. Without any,
        still checkpoint the WAL (a no-op when the WAL holds nothing new), so that it stays
        short while this client runs, whoever writes."""
        with self._lock:
            dirty = {room: self._cursors[room] for room in self._dirty}
            self._dirty.clear()
        if not dirty:
            self.db.checkpoint()
            return 0
        now = self.clock.now()
        try:
            cursor_store.save_cursors_durably(self.db, {
                room: cursor_store.Cursor(room, ts, message_id, room_type)
                for room, (ts, message_id, room_type) in dirty.items()}, now)
        except Exception:
            with self._lock:
                self._dirty.update(dirty)  # try again next time
            raise
        return len(dirty)
