"""Open the database, tune the connection and create or upgrade the schema."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from rules.command import utcnow
from rules.store import schema

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# Upgrades from version N to N+1, run in order inside one transaction at start.
# create_all() adds new tables; columns added to existing tables need an entry here.
UPGRADES: dict[int, Callable[[Connection], None]] = {}


class Database:
    """One SQLAlchemy engine plus the schema; ``begin()`` yields a connection in a transaction."""

    def __init__(self, url: str, *, synchronous: str = "FULL", echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url, synchronous=synchronous, echo=echo)
        self.dialect = self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def create_schema(self) -> int:
        """Create missing tables and run upgrades; returns the schema version now in force."""
        with self.engine.begin() as conn:
            schema.metadata.create_all(conn)
            row = conn.execute(select(schema.schema_version.c.version)).first()
            if row is None:
                conn.execute(
                    insert(schema.schema_version).values(
                        id=1, version=SCHEMA_VERSION, upgraded_at=utcnow()
                    )
                )
                return SCHEMA_VERSION
            version = int(row.version)
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"database schema version {version} is newer than this atsd-bot "
                    f"({SCHEMA_VERSION}); upgrade atsd-bot"
                )
            while version < SCHEMA_VERSION:
                log.info("upgrading schema from version %d", version)
                UPGRADES[version](conn)
                version += 1
            conn.execute(
                update(schema.schema_version).values(version=version, upgraded_at=utcnow())
            )
            return version

    def dispose(self) -> None:
        self.engine.dispose()

    def safe_url(self) -> str:
        """The URL with any password hidden, for logs and the status page."""
        return make_url(self.url).render_as_string(hide_password=True)


def _make_engine(url: str, *, synchronous: str, echo: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, future=True)
    database = parsed.database or ""
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if database in ("", ":memory:"):
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, future=True, **kwargs)
    mode = synchronous.upper() if synchronous.upper() in ("OFF", "NORMAL", "FULL") else "FULL"

    @event.listens_for(engine, "connect")
    def _tune(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers run beside the one writer; FULL keeps every acknowledged commit
        # across a power cut, NORMAL across a process crash only.
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={mode}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Take the driver's own transaction handling away so that "begin" below is ours.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail at once with
        # "database is locked" when another writer got there first; IMMEDIATE waits instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
