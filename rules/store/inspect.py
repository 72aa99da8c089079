"""Look at a store without changing it: does it exist, which schema version does it hold.

For ``atsd-bot config check`` and ``prune``, which must create nothing: a SQLite file is opened
read-only (no database, journal or folder is made), PostgreSQL only answers a query.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import make_url

from rules.store.db import SCHEMA_VERSION
from rules.store.tables.base import schema_version

__all__ = ["StoreState", "sqlite_path", "store_state"]


@dataclass(frozen=True)
class StoreState:
    exists: bool  # False: no SQLite file, or no tables yet
    version: int | None  # the schema version it holds (None: no tables yet)
    current: int = SCHEMA_VERSION  # what this code writes


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def store_state(url: str, *, timeout: float = 10.0) -> StoreState:
    """Raises what the driver raises when the database cannot be reached or read."""
    path = sqlite_path(url)
    if path is not None:
        return _sqlite_state(path)
    if make_url(url).get_backend_name() == "sqlite":
        return StoreState(exists=False, version=None)  # in memory: nothing stored
    engine = create_engine(url, connect_args={"connect_timeout": int(timeout)})
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(schema_version.name):
                return StoreState(exists=False, version=None)
            found = conn.execute(select(schema_version.c.version)).scalar()
            return StoreState(exists=True, version=None if found is None else int(found))
    finally:
        engine.dispose()


def _sqlite_state(path: Path) -> StoreState:
    if not path.exists():
        return StoreState(exists=False, version=None)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (schema_version.name,)).fetchone()
        if has is None:
            return StoreState(exists=False, version=None)
        row = conn.execute(f"SELECT version FROM {schema_version.name}").fetchone()  # noqa: S608
        return StoreState(exists=True, version=None if row is None else int(row[0]))
    finally:
        conn.close()
