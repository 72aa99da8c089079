"""The realtime pipeline stores a hop's messages in one transaction; a failed batch counts as
not handled at all (no cursor moves, no key is remembered), so the back-fill brings it back."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.chat.messages import ChatListener
from bot.realtime.cursors import CursorBook
from bot.realtime.pipeline import Item, MessagePipeline
from rules.clock import ManualClock
from rules.ingest import Ingestor
from rules.store import Database
from tests.realtime.test_chat import BOT, NOW, settings, stream_message
from tests.test_ingest import ExplodingEngine, count_messages

META = {"roomType": "d", "roomName": None, "roomParticipant": True}


def messages(*texts: str) -> list[dict[str, Any]]:
    found = []
    for i, text in enumerate(texts):
        msg = copy.deepcopy(stream_message())
        msg["_id"], msg["msg"], msg["rid"] = f"m{i}", text, "dm-room"
        msg["ts"] = {"$date": int((NOW + timedelta(seconds=i)).timestamp() * 1000)}
        found.append(msg)
    return found


def live(msgs: list[dict[str, Any]]) -> list[Item]:
    return [("live", msg, META) for msg in msgs]


def pipeline(db: Database, engine: Any = None) -> MessagePipeline:
    listener = ChatListener(Ingestor(db, engine), settings(), BOT, clock=ManualClock(NOW))
    return MessagePipeline(listener, CursorBook(db, ManualClock(NOW)))


def test_one_hop_is_one_commit_and_moves_the_cursor(sqlite_db: Database) -> None:
    pipe = pipeline(sqlite_db)
    commits = [0]
    event.listen(sqlite_db.engine, "commit", lambda _c: commits.__setitem__(0, commits[0] + 1))
    assert pipe.handle_batch(live(messages("a", "b", "c", "d")))
    assert commits[0] == 1 and count_messages(sqlite_db) == 4
    assert pipe.cursors.get("dm-room") == NOW + timedelta(seconds=3)


def test_a_failed_hop_stores_nothing_and_is_handled_again_by_the_back_fill(
        sqlite_db: Database) -> None:
    pipe = pipeline(sqlite_db, ExplodingEngine())
    batch = messages("a", "boom", "c")
    assert not pipe.handle_batch(live(batch))
    assert count_messages(sqlite_db) == 0 and pipe.cursors.get("dm-room") is None
    # the engine is fixed; the back-fill brings the same messages: none is taken for a copy
    pipe.listener.ingestor.engine = None
    assert pipe.handle_batch([("backfill", batch, None)])
    assert count_messages(sqlite_db) == 3
