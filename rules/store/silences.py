"""The silences table: create, read, expire, and the ends not yet told to their room.

Rows come back as :class:`rules.silences.Silence`. Every function runs on a connection the
caller owns, so a silence made by a chat command commits with that command's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from rules.clock import aware
from rules.silences import Matcher, Silence, parse_mapping, to_mapping
from rules.store.tables.conversation import silences


def create(conn: Connection, *, matchers: Sequence[Matcher], starts_at: datetime,
           ends_at: datetime, author: str, comment: str = "", room_id: str | None = None,
           tmid: str | None = None) -> Silence:
    result = conn.execute(insert(silences).values(
        matchers=to_mapping(matchers), starts_at=starts_at, ends_at=ends_at, author=author,
        comment=comment, room_id=room_id, tmid=tmid, created_at=starts_at))
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return Silence(id=new_id, matchers=tuple(matchers), starts_at=starts_at, ends_at=ends_at,
                   author=author, comment=comment, room_id=room_id, tmid=tmid)


def get(conn: Connection, silence_id: int) -> Silence | None:
    row = conn.execute(select(silences).where(silences.c.id == silence_id)).first()
    return _silence(row) if row is not None else None


def active(conn: Connection, now: datetime) -> list[Silence]:
    """Silences in force at ``now``, oldest first."""
    query = (select(silences).where(silences.c.starts_at <= now, silences.c.ends_at > now)
             .order_by(silences.c.id))
    return [_silence(row) for row in conn.execute(query)]


def recent(conn: Connection, now: datetime, *, limit: int = 100,
           include_ended: bool = True) -> list[Silence]:
    """Active silences and (with ``include_ended``) ended ones, newest first."""
    query = select(silences).order_by(silences.c.id.desc()).limit(limit)
    if not include_ended:
        query = query.where(silences.c.ends_at > now)
    return [_silence(row) for row in conn.execute(query)]


def expire(conn: Connection, silence_id: int, now: datetime, by: str) -> Silence | None:
    """End an active silence now; None when there is none with that id or it already ended."""
    changed = conn.execute(
        update(silences).where(silences.c.id == silence_id, silences.c.ends_at > now)
        .values(ends_at=now, expired_by=by)).rowcount
    return get(conn, silence_id) if changed else None


def ended_untold(conn: Connection, now: datetime, limit: int = 100) -> list[Silence]:
    """Silences that have ended and whose end was not yet written to their room."""
    query = (select(silences)
             .where(silences.c.ends_at <= now, silences.c.end_noted_at.is_(None))
             .order_by(silences.c.id).limit(limit))
    return [_silence(row) for row in conn.execute(query)]


def mark_told(conn: Connection, silence_id: int, now: datetime) -> bool:
    """Record that the end was told; False when another writer did it first (told once)."""
    return bool(conn.execute(
        update(silences).where(silences.c.id == silence_id, silences.c.end_noted_at.is_(None))
        .values(end_noted_at=now)).rowcount)


def next_end(conn: Connection) -> datetime | None:
    """The soonest end among silences whose end is not told yet (for the scheduler)."""
    query = (select(silences.c.ends_at).where(silences.c.end_noted_at.is_(None))
             .order_by(silences.c.ends_at).limit(1))
    return aware(conn.execute(query).scalar())


def _silence(row: Any) -> Silence:
    starts, ends = aware(row.starts_at), aware(row.ends_at)
    assert starts is not None and ends is not None
    return Silence(id=int(row.id), matchers=tuple(parse_mapping(row.matchers)),
                   starts_at=starts, ends_at=ends, author=row.author, comment=row.comment or "",
                   room_id=row.room_id, tmid=row.tmid, expired_by=row.expired_by)
