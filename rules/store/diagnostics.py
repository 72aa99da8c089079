"""The webhook request log and the security incident log, each capped to the newest N rows.

Rows come back as dicts with aware UTC datetimes for the API (which writes them as ISO 8601)
and the Incoming Webhooks and Incidents pages. Text is made storable before it is written:
PostgreSQL refuses NUL characters and neither database stores lone surrogates, and a log
write must never fail on what a client sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, desc, func, insert, select

from rules.clock import aware
from rules.store.db import Database
from rules.store.tables import base as schema

REQUEST_FIELDS = (
    "received_at", "method", "path", "remote_addr", "user", "content_type", "size", "body",
    "headers", "command", "message_id", "outcome", "error", "status",
)
INCIDENT_FIELDS = ("at", "remote_addr", "path", "user", "reason")

# Built once: a statement built per call costs SQLAlchemy a cache-key walk every time, which
# was a third of a webhook request's time in bench/webhook.py.
_INSERT_REQUEST = insert(schema.webhook_requests)
_INSERT_INCIDENT = insert(schema.security_incidents)
_TRIM = {
    table.name: delete(table).where(table.c.id <= bindparam("cutoff"))
    for table in (schema.webhook_requests, schema.security_incidents)
}


def storable(text: str | None, limit: int | None = None) -> str | None:
    """``text`` with NUL and unencodable characters replaced, cut to ``limit`` characters."""
    if text is None:
        return None
    if limit is not None and len(text) > limit:
        text = text[:limit]
    clean = text.encode("utf-8", "replace").decode("utf-8")
    return clean.replace("\x00", "\ufffd")


def _storable_json(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): _storable_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable_json(v) for v in value]
    return value


def record_request(conn: Connection, *, keep: int = 100, **fields: Any) -> int:
    """Insert one request-log row and drop rows beyond the newest ``keep``; returns its id.

    ``fields``: any of :data:`REQUEST_FIELDS`; ``received_at``, ``method``, ``path``,
    ``remote_addr``, ``size``, ``outcome`` and ``status`` are required.
    """
    result = conn.execute(_INSERT_REQUEST, _request_values(fields))
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    _trim(conn, schema.webhook_requests, new_id, keep)
    return new_id


def record_requests(db: Database, rows: list[dict[str, Any]], *, keep: int = 100) -> None:
    """Insert several request-log rows in one transaction, then keep the newest ``keep``.

    The batching writer's call (webhook/requestlog.py): on SQLite the transaction commits
    without waiting for the disk (:func:`_no_fsync`).
    """
    if not rows:
        return
    with db.writing, db.engine.connect() as conn, _no_fsync(conn), conn.begin():
        conn.execute(_INSERT_REQUEST, [_request_values(r) for r in rows])
        newest = conn.execute(select(func.max(schema.webhook_requests.c.id))).scalar()
        if newest is not None:
            _trim(conn, schema.webhook_requests, int(newest), keep)


@contextmanager
def _no_fsync(conn: Connection) -> Iterator[None]:
    """SQLite: commit log batches with ``synchronous=NORMAL`` on this connection.

    The batch is written under the ingestor's lock; with ``FULL`` its fsync (several ms)
    would hold up every ingest for that long. In WAL mode NORMAL still survives a process
    crash, and the next ingest commit (FULL) syncs these pages with its own. The pragma
    cannot change inside a transaction, hence the raw connection around ``begin()``; the
    connection's own level is restored before it returns to the pool (or it is discarded).
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    level = raw.execute("PRAGMA synchronous").fetchone()[0]
    raw.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        try:
            raw.execute(f"PRAGMA synchronous={int(level)}")
        except Exception:
            conn.invalidate()  # never hand a weaker connection to the ingest
            raise


def _request_values(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(REQUEST_FIELDS)
    if unknown:
        raise TypeError(f"unknown request-log fields: {sorted(unknown)}")
    values = {name: None for name in REQUEST_FIELDS} | fields
    for name in ("method", "path", "remote_addr", "user", "content_type", "body", "error",
                 "outcome"):
        values[name] = storable(values.get(name))
    values["method"] = (values["method"] or "")[:16]
    values["remote_addr"] = (values["remote_addr"] or "")[:64]
    values["outcome"] = (values["outcome"] or "")[:32]
    for name in ("user", "content_type"):
        if values.get(name) is not None:
            values[name] = values[name][:256]
    for name in ("headers", "command"):
        values[name] = _storable_json(values.get(name))
    return values


def list_requests(conn: Connection, limit: int = 100, *, bodies: bool = True
                  ) -> list[dict[str, Any]]:
    """The newest ``limit`` requests, newest first; without body and headers unless
    ``bodies`` (a list page shows neither, and they are the bulk of a row)."""
    table = schema.webhook_requests
    columns = [c for c in table.c if bodies or c.name not in ("body", "headers")]
    rows = conn.execute(select(*columns).order_by(desc(table.c.id)).limit(max(limit, 0)))
    return [_request_dict(row) for row in rows]


def get_request(conn: Connection, request_id: int) -> dict[str, Any] | None:
    table = schema.webhook_requests
    row = conn.execute(select(table).where(table.c.id == request_id)).first()
    return _request_dict(row) if row is not None else None


def record_incident(conn: Connection, *, at: datetime, remote_addr: str, path: str,
                    user: str | None, reason: str, keep: int = 100) -> int:
    """Insert one security incident (never a password) and keep the newest ``keep``."""
    result = conn.execute(_INSERT_INCIDENT, {
        "at": at,
        "remote_addr": (storable(remote_addr) or "")[:64],
        "path": storable(path) or "",
        "user": storable(user, 256),
        "reason": storable(reason, 512) or "",
    })
    new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    _trim(conn, schema.security_incidents, new_id, keep)
    return new_id


def list_incidents(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    table = schema.security_incidents
    rows = conn.execute(select(table).order_by(desc(table.c.id)).limit(max(limit, 0)))
    return [
        {"id": row.id, "at": aware(row.at), "remote_addr": row.remote_addr, "path": row.path,
         "user": row.user, "reason": row.reason}
        for row in rows
    ]


def _trim(conn: Connection, table: Any, newest_id: int, keep: int) -> None:
    # Ids only grow, so "older than the newest N" is a primary-key range: cheap on any store.
    # Concurrent writers may briefly leave a few extra rows; the next insert removes them.
    cutoff = newest_id - max(keep, 1)
    if cutoff > 0:
        conn.execute(_TRIM[table.name], {"cutoff": cutoff})


def _request_dict(row: Any) -> dict[str, Any]:
    data = {name: getattr(row, name) for name in REQUEST_FIELDS if name in row._fields}
    data["received_at"] = aware(row.received_at)
    return {"id": row.id, **data}
