"""Schema upgrades, one function per version step, run by ``Database.create_schema``.

``create_all`` has already added the tables new in a version when an upgrade runs; an upgrade
adds the columns new on existing tables and moves data whose shape changed. Each runs inside
the one transaction of ``create_schema``, so a failed upgrade leaves version and data as they
were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Column, Connection, MetaData, String, Table, insert, inspect, select, text

from rules.store.tables.base import Time
from rules.store.tables.conversation import silences
from rules.store.tables.engine import alerts, outbox

log = logging.getLogger(__name__)


def _add_columns(conn: Connection, table_name: str, columns: list[Column]) -> None:
    present = {c["name"] for c in inspect(conn).get_columns(table_name)}
    for column in columns:
        if column.name in present:
            continue
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f'ALTER TABLE {table_name} ADD COLUMN "{column.name}" {kind}'))


def to_version_2(conn: Connection) -> None:
    """Silences with matchers, silenced notifications naming their silence, alert notes.

    The per-rule silences of version 1 (``rule_silences``) become ``rule=NAME`` silences.
    """
    _add_columns(conn, "outbox", [outbox.c.silence_id])
    _add_columns(conn, "alerts", [alerts.c.ack_by, alerts.c.ack_reason, alerts.c.closed_by,
                                  alerts.c.close_note])
    if not inspect(conn).has_table("rule_silences"):
        return
    old = Table("rule_silences", MetaData(), Column("rule", String(256)),
                Column("until", Time), Column("created_at", Time))
    rows = list(conn.execute(select(old.c.rule, old.c.until, old.c.created_at)))
    for rule, until, created in rows:
        conn.execute(insert(silences).values(
            matchers={"rule": rule}, starts_at=created, ends_at=until, created_at=created,
            author="(before the upgrade)", comment=""))
    conn.execute(text("DROP TABLE rule_silences"))
    log.info("upgrade: %d per-rule silence(s) became rule= silences", len(rows))


# version N -> N+1
UPGRADES: dict[int, Callable[[Connection], None]] = {1: to_version_2}
