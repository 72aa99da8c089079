"""An edit heard on both paths (outgoing webhook and realtime stream) runs once.

The webhook body has ``isEdited`` but no ``editedAt``; with ``[rocketchat]`` configured the
webhook path reads ``editedAt`` over REST (:mod:`bot.chat.edits`) and keys the edit exactly as the
realtime path does. When Rocket.Chat cannot be asked it falls back to ``@edited``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.chat.edits import FALLBACK, webhook_edit_stamp
from bot.chat.messages import ChatListener
from rules.store import Database
from rules.store.tables.base import messages
from tests.realtime.test_chat import BOT, dm, settings
from tests.webhook.conftest import Harness, make_harness, rc_payload
from tests.webhook.conftest import _close as close_harness

RC = "/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text"
EDITED_MS = 1540756720001
EDITED_ISO = "2018-10-28T19:58:40.001Z"


class Rest:
    """``chat.getMessage`` as Rocket.Chat answers it for the edited message (or a failure)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def chat_get_message(self, message_id: str) -> dict[str, Any] | None:
        self.asked.append(message_id)
        if isinstance(self.answer, Exception):
            raise self.answer
        return dict(self.answer, _id=message_id) if self.answer is not None else None


@pytest.fixture
def hx(sqlite_db: Database) -> Iterator[Harness]:
    harness = make_harness(sqlite_db)
    yield harness
    close_harness(harness)


def both_paths_edit(hx: Harness, rest: Rest) -> list[str]:
    """The same edit through the webhook, then the realtime listener; the stored messages."""
    hx.ctx.edit_stamp = webhook_edit_stamp(lambda: rest)
    payload = rc_payload()
    msg, meta = dm("hello again", _id=payload["message_id"],
                   editedAt={"$date": EDITED_MS})
    assert hx.post(RC, json={**payload, "text": "hello again", "isEdited": True}
                   ).get_json() == {"status": "ok"}
    listener = ChatListener(hx.ctx.ingestor, settings(edits="process"), BOT)
    listener.handle(msg, meta)
    with hx.ctx.db.connect() as conn:
        return [r.message for r in conn.execute(select(messages).order_by(messages.c.id))]


def test_an_edit_seen_by_both_paths_runs_once(hx: Harness) -> None:
    rest = Rest({"editedAt": EDITED_ISO})
    assert both_paths_edit(hx, rest) == ["hello again"]
    assert rest.asked == [rc_payload()["message_id"]]


@pytest.mark.parametrize("answer", [ConnectionError("refused"), None, {"msg": "no stamp"}])
def test_without_an_answer_the_webhook_keys_edited(hx: Harness, answer: Any) -> None:
    # the documented fallback: the webhook still answers; realtime may then run the edit too
    assert both_paths_edit(hx, Rest(answer)) == ["hello again", "hello again"]


def test_the_stamp_is_the_realtime_one_or_the_fallback() -> None:
    assert webhook_edit_stamp(lambda: Rest({"editedAt": EDITED_ISO}))("m1") == str(EDITED_MS)
    assert webhook_edit_stamp(lambda: Rest(ConnectionError()))("m1") == FALLBACK
