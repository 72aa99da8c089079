"""Named values the service keeps in the database: read one, or create it once.

Several instances may start at the same moment on one database: the first insert wins and
everyone reads the winner's value, so they all end up with the same one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from rules.command import utcnow
from rules.store.db import Database
from rules.store.tables.service import service_values

__all__ = ["UI_SECRET_KEY", "kept_value"]

UI_SECRET_KEY = "ui_secret_key"  # noqa: S105 - a row name, not a secret; signs web UI sessions when [http] secret_key is not set


def kept_value(db: Database, name: str, make: Callable[[], str]) -> str:
    """The value stored under ``name``; made with ``make()`` and stored if there is none."""
    query = select(service_values.c.value).where(service_values.c.name == name)
    with db.connect() as conn:
        found = conn.execute(query).scalar()
    if found is not None:
        return str(found)
    try:
        with db.begin() as conn:
            conn.execute(insert(service_values).values(name=name, value=make(),
                                                       created_at=utcnow()))
    except IntegrityError:
        pass  # another instance stored it first: use theirs
    with db.connect() as conn:
        return str(conn.execute(query).scalar_one())
