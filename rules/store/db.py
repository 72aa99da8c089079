"""Open the database, tune the connection and create or upgrade the schema."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, text, update
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.pool import StaticPool

from rules.command import utcnow
from rules.errors import AtsdBotError
from rules.store.tables import base as schema
from rules.store.upgrades import UPGRADES

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
NORMAL = 1  # SQLite's number for synchronous = NORMAL
FAST_DIALECTS = ("sqlite", "postgresql")  # where Prepared runs on the DBAPI cursor
READER = "atsd_reader"  # execution option of connect()'s connections: a deferred BEGIN
KEPT_IDLE_SECONDS = 1.0  # begin_kept: an idle kept connection goes back to the pool after this
# WAL pages after which a commit checkpoints the WAL itself, once Database.defer_checkpoints
# says that something else checkpoints it every second (SQLite's default is 1,000, about
# 4 MB). Why: that automatic checkpoint runs inside the commit that crosses the mark, holding
# the writer lock while it copies the WAL into the database and syncs both files: 5-12 ms
# every ~80 chat round trips (a message's commit, the reply's claim and outcome write ~12
# pages), the slowest 1-2 % of replies. 10,000 pages (about 40 MB) bounds a burst.
DEFERRED_CHECKPOINT_PAGES = 10_000
_DEFERRED = "atsd_checkpoint_deferred"  # connection-record flag: the threshold is set


class SchemaError(AtsdBotError):
    """The database's schema is newer than this code: refuse rather than damage it."""


class Database:
    """One SQLAlchemy engine plus the schema; ``begin()`` yields a connection in a transaction.

    On SQLite the write transactions of this process take turns on a lock of their own
    (:attr:`writing`) before SQLite's: two writers that meet in SQLite's busy handler sleep
    1, 2, 5, 10 ... ms at a time (seen: 2 % of a chat bot's transactions waited over a
    millisecond, one 112 ms); on the lock the next one starts the moment the last one ends.
    Other processes on the same file still meet in the busy handler.
    """

    def __init__(self, url: str, *, synchronous: str = "FULL", echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = _make_engine(url, synchronous=synchronous, echo=echo)
        self.dialect = self.engine.dialect.name
        self.writing: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext())
        self._kept: Connection | None = None  # begin_kept's connection, between transactions
        self._kept_used = 0.0  # time.monotonic() of its last transaction's end
        self._kept_lock = threading.Lock()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.writing, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def begin_kept(self) -> Iterator[Connection]:
        """The same as :meth:`begin`, on a connection kept from one call to the next.

        For a writer that commits many small transactions one after another (the ingestor):
        checking a connection out of the pool and back in cost SQLAlchemy about 30 us per
        transaction, three times SQLite's own BEGIN and COMMIT (bench/webhook.py). A call
        made while the kept connection is in use gets a pooled one, as :meth:`begin` does.
        After a failed transaction, or when idle for ``KEPT_IDLE_SECONDS`` (a server may
        have dropped it; the pool's pre-ping checks a connection it hands out), the kept
        connection goes back to the pool and a fresh one is checked out.
        """
        if not self._kept_lock.acquire(blocking=False):
            with self.begin() as conn:
                yield conn
            return
        try:
            conn = self._kept_connection()
            try:
                with self.writing, conn.begin():
                    yield conn
            except BaseException:
                self._drop_kept()
                raise
            self._kept_used = time.monotonic()
        finally:
            self._kept_lock.release()

    def _kept_connection(self) -> Connection:
        conn = self._kept
        if conn is not None and (conn.invalidated or conn.closed
                                 or time.monotonic() - self._kept_used > KEPT_IDLE_SECONDS):
            self._drop_kept()
            conn = None
        if conn is None:
            conn = self._kept = self.engine.connect()
        return conn

    def _drop_kept(self) -> None:
        conn, self._kept = self._kept, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection: the pool discards it anyway
                log.debug("could not close the kept connection", exc_info=True)

    @contextmanager
    def begin_light(self) -> Iterator[Connection]:
        """A transaction whose commit does not wait for the disk (SQLite: ``synchronous =
        NORMAL`` for it; on other stores the same as :meth:`begin`).

        In WAL mode such a commit survives a crash of the process; a power cut may lose it
        until the next ``FULL`` commit on the store, whose fsync covers it too. Only for
        writes whose loss that costs nothing or that are made again (the sender's
        bookkeeping; realtime messages, which Rocket.Chat keeps and the back-fill fetches
        again from a cursor written with ``FULL``). The pooled connection goes back as
        durable as it came.
        """
        if self.dialect != "sqlite":
            with self.begin() as conn:
                yield conn
            return
        with self.writing, self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            mode = int(raw.execute("PRAGMA synchronous").fetchone()[0])
            if mode > NORMAL:
                raw.execute(f"PRAGMA synchronous={NORMAL}")
            try:
                with conn.begin():
                    yield conn
            finally:
                if mode > NORMAL:
                    raw.execute(f"PRAGMA synchronous={mode}")

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading; whatever it writes is rolled back when the block ends.

        On SQLite its transaction is a plain (deferred) ``BEGIN``, not the ``IMMEDIATE`` of
        :meth:`begin`: in WAL mode a reader then never waits for the writer, where an
        immediate one queued behind every commit (and its fsync) and slept in SQLite's busy
        handler, milliseconds at a time.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{READER: True})
            yield conn

    # -- the WAL of an SQLite file ---------------------------------------------------------

    @property
    def wal_file(self) -> bool:
        """Whether this is an SQLite file (WAL mode), not an in-memory database or a server."""
        return self.dialect == "sqlite" and (self.engine.url.database or "") not in (
            "", ":memory:")

    def checkpoint(self) -> bool:
        """Checkpoint the WAL of an SQLite file; True when every frame in it is now in the
        database (SQLite syncs the WAL before it copies it), False on another store or when
        some frames are left.

        First beside the writers (``PASSIVE``, outside :attr:`writing`): that pass copies
        nearly everything while commits go on (10-20 ms for a second of chat round trips at
        full speed). The commits made meanwhile are then copied with the writer lock held, a
        short pass that leaves nothing behind, so that the next commit starts the WAL over.
        Without it the WAL kept growing (a pass never caught up with the commits made during
        it) until a commit checkpointed it itself at the deferred mark.
        """
        if not self.wal_file:
            return False
        complete, frames = self._passive_checkpoint()
        if frames == 0:  # an empty WAL: nothing was written since it started over
            return complete
        with self.writing:
            return self._passive_checkpoint()[0]

    def _passive_checkpoint(self) -> tuple[bool, int]:
        """One ``PASSIVE`` checkpoint: (all frames copied, frames in the WAL)."""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            # on the driver's connection: no transaction may be open around a checkpoint
            busy, frames, done = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy) == 0 and int(frames) >= 0 and int(done) == int(frames), int(frames)

    def defer_checkpoints(self) -> None:
        """From now on, the connections checkpoint the WAL at a commit only past
        :data:`DEFERRED_CHECKPOINT_PAGES` pages: for a process that calls :meth:`checkpoint`
        every second (the realtime client's cursor flush). No-op on other stores;
        idempotent."""
        if not self.wal_file or event.contains(self.engine, "checkout", _defer_on_checkout):
            return
        event.listen(self.engine, "checkout", _defer_on_checkout)

    # -- schema -----------------------------------------------------------------------------

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
                raise SchemaError(
                    f"the database's schema version {version} is newer than this atsd-bot's "
                    f"({SCHEMA_VERSION}): a newer atsd-bot upgraded it; run that version, or "
                    "restore the backup taken before the upgrade"
                )
            while version < SCHEMA_VERSION:
                log.info("upgrading the database schema from version %d to %d (take a backup "
                         "first: docs/operations.md)", version, version + 1)
                UPGRADES[version](conn)
                version += 1
            conn.execute(
                update(schema.schema_version).values(version=version, upgraded_at=utcnow())
            )
            return version

    def ping(self) -> None:
        """Raise when the database does not answer a trivial query (for ``/healthz``)."""
        with self.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        with self._kept_lock:
            self._drop_kept()
        self.engine.dispose()

    def safe_url(self) -> str:
        """The URL with any password hidden, for logs and the status page."""
        return make_url(self.url).render_as_string(hide_password=True)


def _defer_on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    # once per connection (the setting lasts as long as it), on the first check-out after
    # defer_checkpoints: a connection already in the pool gets it too
    if not record.info.get(_DEFERRED):
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={DEFERRED_CHECKPOINT_PAGES}")
        record.info[_DEFERRED] = True


class Prepared:
    """A hot statement compiled once per dialect and run straight on the DBAPI cursor.

    Why: SQLAlchemy's execute path (cache-key lookup, events, result set-up) cost more than
    SQLite itself on the webhook's hot statements (bench/webhook.py). The values are still
    converted by the column types' own bind processors, so a row written here reads back
    exactly as one written through ``conn.execute``. ``keys`` are the bind names.
    Only for statements that take plain values (no expressions) and return at most a few rows.
    """

    __slots__ = ("statement", "keys", "_compiled")

    def __init__(self, statement: Any, keys: tuple[str, ...]) -> None:
        self.statement = statement
        self.keys = keys
        self._compiled: dict[str, _Plan] = {}

    def _compile(self, dialect: Dialect) -> _Plan:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(self.keys))
            processors = compiled._bind_processors  # noqa: SLF001 - the types' own converters
            positional = bool(compiled.positional)
            order = compiled.positiontup if positional else list(compiled.binds)
            missing = set(order) - set(self.keys)
            if missing:  # e.g. a column default SQLAlchemy would have filled in
                raise ValueError(f"Prepared statement needs values for {sorted(missing)}")
            found = self._compiled[dialect.name] = _Plan(compiled.string, tuple(order),
                                                         processors, positional=positional)
        return found

    def text(self, dialect: Dialect) -> tuple[str, int]:
        """The SQL as sent to ``dialect``'s driver, and how many parameters it takes."""
        plan = self._compile(dialect)
        return plan.sql, len(plan.names)

    def run(self, conn: Connection, values: dict[str, Any]) -> Any:
        """Execute with ``values`` inside ``conn``'s transaction; returns the DBAPI cursor
        (SQLAlchemy's result on a dialect other than SQLite and PostgreSQL). The cursor is
        the connection's own for prepared statements: read it before the next one runs."""
        dialect = conn.dialect
        if dialect.name not in FAST_DIALECTS:
            return conn.execute(self.statement, values)
        plan = self._compiled.get(dialect.name) or self._compile(dialect)
        params = plan.params(values)
        cursor = _cursor(conn)
        if conn.dispatch.before_cursor_execute:  # tests count statements with a listener
            conn.dispatch.before_cursor_execute(conn, cursor, plan.sql, params, None, False)
        cursor.execute(plan.sql, params)
        return cursor

    def run_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute once per entry of ``rows`` (``executemany``) inside ``conn``'s transaction."""
        if not rows:
            return
        if conn.dialect.name not in FAST_DIALECTS:
            conn.execute(self.statement, rows)
            return
        plan = self._compile(conn.dialect)
        params = [plan.params(values) for values in rows]
        cursor = _cursor(conn)
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, cursor, plan.sql, params, None, True)
        cursor.executemany(plan.sql, params)


class _Plan:
    """A Prepared statement's SQL for one dialect and how its parameters are built: the bind
    names in the driver's order, and the names that have a bind processor with it.

    Built for the parameter style: ``itemgetter`` picks the values for a positional driver
    (SQLite's ``?``) in one C call, and only the values with a converter are touched again;
    a named one (psycopg's ``%(name)s``) gets a dict.
    """

    __slots__ = ("sql", "names", "params")

    def __init__(self, sql: str, names: tuple[str, ...], processors: dict[str, Any], *,
                 positional: bool) -> None:
        self.sql = sql
        self.names = names
        converted = tuple((i, n, processors[n]) for i, n in enumerate(names)
                          if processors.get(n) is not None)
        self.params: Callable[[dict[str, Any]], Any] = (
            _positional(names, converted) if positional else _named(names, converted))


def _positional(names: tuple[str, ...],
                converted: tuple[tuple[int, str, Any], ...]) -> Callable[[dict[str, Any]], Any]:
    # itemgetter of one name returns the bare value, of none it cannot be made
    pick: Callable[[dict[str, Any]], tuple[Any, ...]] = (
        itemgetter(*names) if len(names) > 1 else lambda values: tuple(values[n] for n in names))
    if not converted:
        return pick

    def params(values: dict[str, Any]) -> list[Any]:
        found = list(pick(values))
        for i, _, convert in converted:
            found[i] = convert(found[i])
        return found
    return params


def _named(names: tuple[str, ...],
           converted: tuple[tuple[int, str, Any], ...]) -> Callable[[dict[str, Any]], Any]:
    def params(values: dict[str, Any]) -> dict[str, Any]:
        found = {n: values[n] for n in names}
        for _, name, convert in converted:
            found[name] = convert(found[name])
        return found
    return params


CURSOR = "atsd_cursor"  # the pool record's info key of a connection's Prepared cursor


def _cursor(conn: Connection) -> Any:
    """The DBAPI cursor Prepared statements run on, one per DBAPI connection and kept with it
    (in its pool record's ``info``): making a cursor per statement cost a fifth of a prepared
    INSERT. Kept beside the driver connection it belongs to, so that a reconnected record
    gets a new one. Not for an in-memory store: its one connection serves every thread, and
    a reader's rows must not be replaced by another thread's statement."""
    fairy = conn.connection
    if isinstance(conn.engine.pool, StaticPool):
        return fairy.cursor()
    dbapi = fairy.dbapi_connection
    kept = fairy.info.get(CURSOR)
    if kept is None or kept[0] is not dbapi:
        kept = fairy.info[CURSOR] = (dbapi, fairy.cursor())
    return kept[1]


class PreparedInsert:
    """``INSERT`` of one row into ``table`` (a Prepared statement) that returns the new id."""

    __slots__ = ("_plain", "_returning")

    def __init__(self, table: Any, keys: tuple[str, ...]) -> None:
        self._plain = Prepared(insert(table), keys)
        # PostgreSQL hands the new id back through RETURNING; SQLite through lastrowid.
        self._returning = Prepared(insert(table).returning(table.c.id), keys)

    def run(self, conn: Connection, values: dict[str, Any]) -> int:
        name = conn.dialect.name
        if name == "sqlite":
            return int(self._plain.run(conn, values).lastrowid)
        if name == "postgresql":
            return int(self._returning.run(conn, values).fetchone()[0])
        key = conn.execute(self._plain.statement, values).inserted_primary_key
        assert key is not None
        return int(key[0])


def _make_engine(url: str, *, synchronous: str, echo: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # libpq waits for a silent host for minutes by default; bound each attempt
        args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
        return create_engine(url, echo=echo, pool_pre_ping=True, future=True,
                             connect_args=args)
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
        # On the driver's connection: SQLAlchemy's execute path cost more than the BEGIN.
        # Database.connect()'s readers begin deferred: a WAL reader needs no lock.
        reader = conn.get_execution_options().get(READER)
        conn.connection.driver_connection.execute("BEGIN" if reader else "BEGIN IMMEDIATE")

    return engine
