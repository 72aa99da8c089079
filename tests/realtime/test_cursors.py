"""Per-room cursors: forward only, batched writes, and a back-fill start kept across a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.realtime.cursors import OVERLAP, CursorBook
from rules.clock import ManualClock
from rules.store import Database

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_first_start_has_nothing_to_back_fill(db: Database) -> None:
    book = CursorBook(db, ManualClock(T0))
    book.load()
    assert book.since("room") is None


def test_cursors_only_move_forward_and_survive_a_restart(db: Database) -> None:
    book = CursorBook(db, ManualClock(T0))
    book.load()
    book.advance("a", T0, "m1", "d")
    book.advance("a", T0 - timedelta(seconds=5), "m0", "d")  # older: ignored
    book.advance("b", T0 + timedelta(seconds=3), "m2", "c")
    assert book.flush() == 2 and book.flush() == 0
    again = CursorBook(db, ManualClock(T0))
    again.load()
    assert again.rooms() == {"a": T0, "b": T0 + timedelta(seconds=3)}
    assert again.since("a") == T0 - OVERLAP
    # a room without a cursor (a DM opened while away) starts at the newest cursor
    assert again.since("new") == T0 + timedelta(seconds=3) - OVERLAP


def test_the_gap_start_holds_until_a_back_fill_succeeds(db: Database) -> None:
    book = CursorBook(db, ManualClock(T0))
    book.load()
    book.advance("a", T0, "m1")
    book.mark_gap()
    book.advance("a", T0 + timedelta(minutes=5), "m9")  # live messages after the reconnect
    book.mark_gap()  # dropped again before the back-fill: the earlier start stays
    assert book.since("a") == T0 - OVERLAP
    book.clear_gap()
    assert book.since("a") == T0 + timedelta(minutes=5) - OVERLAP


class _Rooms:
    """The two REST calls a back-fill makes, answered from memory."""

    def __init__(self, rooms: list[dict[str, object]]) -> None:
        self.rooms = rooms
        self.synced: list[str] = []

    def rooms_get(self) -> list[dict[str, object]]:
        return self.rooms

    def sync_messages(self, room_id: str, since: datetime) -> dict[str, object]:
        self.synced.append(room_id)
        return {"updated": []}


def test_the_first_start_writes_each_rooms_cursor_at_once(db: Database) -> None:
    # a kill before the first flush must not leave the next start without a place to
    # back-fill from (it would then miss what was posted while the bot was down)
    from bot.chat.messages import RoomDirectory
    from bot.realtime.backfill import Backfiller

    old = T0 - timedelta(days=3)
    rest = _Rooms([{"_id": "busy", "t": "c", "name": "ops", "lm": {"$date": int(
        old.timestamp() * 1000)}}, {"_id": "quiet", "t": "p", "name": "team"}])
    book = CursorBook(db, ManualClock(T0))
    book.load()
    assert Backfiller(rest, RoomDirectory(), book).collect() == []  # type: ignore[arg-type]
    assert rest.synced == []  # history before the first start is not replayed
    restarted = CursorBook(db, ManualClock(T0))  # as after a SIGKILL: only what was written
    restarted.load()
    assert restarted.rooms() == {"busy": old, "quiet": T0}
    assert restarted.since("busy") == old - OVERLAP
    Backfiller(rest, RoomDirectory(), restarted).collect()
    assert sorted(rest.synced) == ["busy", "quiet"]


def test_begin_keeps_a_cursor_that_is_already_there(db: Database) -> None:
    book = CursorBook(db, ManualClock(T0))
    book.load()
    book.advance("a", T0, "m1")
    book.begin({"a": T0 - timedelta(hours=1), "b": T0})
    assert book.rooms() == {"a": T0, "b": T0}
