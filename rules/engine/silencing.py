"""Silences as the engine applies them, and the notes that tell a room a silence ended.

A mixin of :class:`rules.engine.rule_engine.RuleEngine`. Silences live in the store (all
instances see them); the engine keeps the active ones in memory, read again through the
caller's connection when the copy is older than :data:`REFRESH_SECONDS` (so a silence made on
another instance holds within that time) and at once after this engine changed one.

Decisions:

- A silence covers an alert when every matcher holds for the alert's rule, entity, severity
  and the tags of its latest message. Covered notifications are stored ``silenced`` with the
  silence's id; the alert itself opens, repeats and cancels as usual.
- The end of a silence (expiry, ``unsilence``, the UI, the API) is told once, in the room and
  thread it was made in, as an outbox row (rule ``chat``, trigger ``note``) written in the
  transaction that marks the end told. An ``unsilence`` run in that room gets the note as its
  answer, in the thread it was asked in. A silence made in the web UI or the API has no room:
  its end is only visible on the Silences page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection

from rules.engine.txn import EngineState
from rules.notification import Notification
from rules.silences import AlertFacts, Matcher, Silence
from rules.store import outbox
from rules.store import silences as silence_rows

T = TypeVar("T")
REFRESH_SECONDS = 2.0
CHAT_RULE = "chat"  # the outbox ``rule`` of rows the conversation writes (answers, notes)
CHAT_ENDPOINT = "rocketchat"


def chat_row(conn: Connection, text: str, *, room_id: str, tmid: str | None, trigger: str,
             now: datetime) -> Notification:
    """An outbox row that posts ``text`` to a Rocket.Chat room (a command's answer, a note)."""
    note = Notification(rule=CHAT_RULE, endpoint=CHAT_ENDPOINT, trigger=trigger, text=text,
                        target={"room_id": room_id, "tmid": tmid})
    outbox.write(conn, note, status="pending", now=now)
    return note


class SilenceViews(EngineState):
    """Silences: cover, create, expire, list; and the end notes."""

    _silence_cache: list[Silence] | None = None
    _silence_read: float = 0.0
    _next_end: datetime | None = None

    # -- applying ---------------------------------------------------------------------------

    def silence_covering(self, facts: AlertFacts, now: datetime,
                         conn: Connection | None = None) -> Silence | None:
        """The first active silence whose matchers all hold for ``facts``, or None."""
        return first_covering(self._active_silences(conn, now), facts, now)

    def _active_silences(self, conn: Connection | None, now: datetime) -> list[Silence]:
        if self._silence_cache is None or \
                self.clock.monotonic() - self._silence_read > REFRESH_SECONDS:
            if conn is not None:
                self._reload_silences(conn, now)
            elif self.db is not None and self.persist:
                with self.db.connect() as own:
                    self._reload_silences(own, now)
        return [s for s in self._silence_cache or () if s.active(now)]

    def _reload_silences(self, conn: Connection, now: datetime) -> None:
        self._silence_cache = silence_rows.active(conn, now)
        self._next_end = silence_rows.next_end(conn)
        self._silence_read = self.clock.monotonic()

    def _forget_silences(self) -> None:
        self._silence_cache = None

    # -- changing ---------------------------------------------------------------------------

    def create_silence(self, matchers: Sequence[Matcher], span: timedelta, *, author: str,
                       comment: str = "", room_id: str | None = None, tmid: str | None = None,
                       conn: Connection | None = None) -> Silence:
        """A new silence from now for ``span``; in ``conn``'s transaction when given."""
        def work(c: Connection | None) -> Silence:
            if c is None:
                raise RuntimeError("silences need the store (the engine does not persist)")
            now = self.clock.now()
            made = silence_rows.create(c, matchers=matchers, starts_at=now, ends_at=now + span,
                                       author=author, comment=comment, room_id=room_id,
                                       tmid=tmid)
            self._forget_silences()
            return made
        return self._within(conn, work)

    def expire_silence(self, silence_id: int, *, by: str, conn: Connection | None = None,
                       asked_in: tuple[str, str | None] | None = None
                       ) -> tuple[Silence | None, Notification | None]:
        """End silence ``silence_id`` now; the ended silence (None when there was no active
        one) and the note written to its room (None when it has no room).

        ``asked_in``: the (room, thread) of the ``unsilence`` that ends it. In the silence's
        own room the note goes to that thread, as the command's one answer (spec: "its reply
        is that note")."""
        def work(c: Connection | None) -> tuple[Silence | None, Notification | None]:
            if c is None:
                return None, None
            now = self.clock.now()
            ended = silence_rows.expire(c, silence_id, now, by)
            self._forget_silences()
            if ended is None:
                return None, None
            tmid = asked_in[1] if asked_in and asked_in[0] == ended.room_id else ended.tmid
            return ended, self._tell_end(c, ended, now, tmid=tmid)
        return self._within(conn, work)

    def silence(self, silence_id: int, conn: Connection | None = None) -> Silence | None:
        return self._read(conn, lambda c: silence_rows.get(c, silence_id), None)

    def list_silences(self, *, include_ended: bool = False, limit: int = 100,
                      conn: Connection | None = None) -> list[Silence]:
        """Active silences (and with ``include_ended`` the recent ended ones), newest first."""
        now = self.clock.now()
        return self._read(conn, lambda c: silence_rows.recent(
            c, now, limit=limit, include_ended=include_ended), [])

    def _read(self, conn: Connection | None, query: Callable[[Connection], T], empty: T) -> T:
        if conn is not None:
            return query(conn)
        if self.db is None or not self.persist:
            return empty
        with self.db.connect() as own:
            return query(own)

    # -- ends -------------------------------------------------------------------------------

    def settle_silences(self) -> list[Notification]:
        """Tell the rooms of silences that ended since the last look (the scheduler's tick).

        Reads first, and only from memory while the copy is fresh: the usual second costs no
        query, and a look that finds nothing to tell costs no write transaction.
        """
        if self.db is None or not self.persist:
            return []
        now = self.clock.now()
        fresh = self.clock.monotonic() - self._silence_read <= REFRESH_SECONDS
        if fresh and self._silence_cache is not None and (
                self._next_end is None or self._next_end > now):
            return []
        with self.db.connect() as conn:
            self._reload_silences(conn, now)
        if self._next_end is None or self._next_end > now:
            return []

        def work(conn: Connection | None) -> list[Notification]:
            assert conn is not None
            at = self.clock.now()
            notes = [n for s in silence_rows.ended_untold(conn, at)
                     if (n := self._tell_end(conn, s, at, s.tmid)) is not None]
            self._reload_silences(conn, at)
            return notes
        return self._run(work)

    def _tell_end(self, conn: Connection, ended: Silence, now: datetime,
                  tmid: str | None) -> Notification | None:
        """The end note, in the silence's room, in thread ``tmid``."""
        if not silence_rows.mark_told(conn, ended.id, now) or not ended.room_id:
            return None
        return chat_row(conn, ended.end_note(), room_id=ended.room_id, tmid=tmid,
                        trigger="note", now=now)


def first_covering(silences: Sequence[Silence], facts: AlertFacts,
                   now: datetime) -> Silence | None:
    """The first of ``silences`` whose matchers all hold for ``facts`` at ``now``, or None."""
    return next((silence for silence in silences if silence.covers(facts, now)), None)
