"""A silence: matchers, a time span, who made it, why, and the room that should hear its end.

Plain data; the store keeps it (:mod:`rules.store.silences`) and the engine asks
:meth:`Silence.covers` before it sends a notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.chat_text import code_span
from rules.command import format_iso_date
from rules.definitions.durations import format_span
from rules.silences.matchers import AlertFacts, Matcher, describe, matches_all, to_mapping

MAX_COMMENT = 500


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    author: str = ""  # "@alice" (chat), "alice (web UI)", "ops (API)"
    comment: str = ""
    room_id: str | None = None  # where it was made, in chat: its end is told there
    tmid: str | None = None
    expired_by: str | None = None  # who ended it early (unsilence, the UI, the API)

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def covers(self, alert: AlertFacts, now: datetime) -> bool:
        return self.active(now) and matches_all(self.matchers, alert)

    def state(self, now: datetime) -> str:
        return "active" if self.active(now) else "expired"

    def describe(self) -> str:
        return describe(self.matchers)

    def to_json(self, now: datetime) -> dict[str, Any]:
        """The API's shape (``spec/api.md``)."""
        return {
            "id": self.id, "matchers": to_mapping(self.matchers), "author": self.author,
            "comment": self.comment, "room": self.room_id,
            "startsAt": format_iso_date(self.starts_at), "endsAt": format_iso_date(self.ends_at),
            "state": self.state(now), "expiredBy": self.expired_by,
        }

    def end_note(self) -> str:
        """What the creating room is told when the silence ends (expiry or ``unsilence``).
        The comment may come from the web UI or the API: shown in a code span, so its
        ``@all`` or markup stays text."""
        how = (f"ended by {self.expired_by}" if self.expired_by
               else f"expired after {format_span(self.ends_at - self.starts_at)}")
        about = f" ({code_span(self.comment, 120)})" if self.comment else ""
        return (f"silence #{self.id} {how}: {code_span(self.describe(), 200)}{about}. "
                "Matching alerts notify again.")
