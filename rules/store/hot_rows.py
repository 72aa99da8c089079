"""How the hot statements bind a row: JSON serialized by the caller and bound as text, times
converted once per instant.

Shared by every module with a row written once or more per message (messages, explanations,
windows, alerts, outbox): SQLAlchemy's JSON type serializes with a fresh ``json.dumps`` set-up
and SQLite's time converter formats the text in Python per column, which together cost more
than SQLite's own work on those rows (callgrind, bench/insert.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import JSON, Column, Table, column, table
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import UserDefinedType

from rules.store.tables.base import Time


class JSONText(UserDefinedType[str]):
    """A JSON column's value already serialized as SQLAlchemy's JSON type would (``json.dumps``
    text, see :data:`json_text`): bound as it is, with no bind processor and no cast. SQLite
    stores the same text; PostgreSQL reads the untyped parameter as the column's ``json``."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSON"  # never used for DDL: the tables declare their own JSON columns


def _json_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with the default settings, its C encoder built once instead of per call
    (that set-up was most of the cost of the small JSON values of the hot rows)."""
    make = getattr(json.encoder, "c_make_encoder", None)  # CPython's, not in the typeshed stubs
    if make is None:  # pragma: no cover - CPython always has the C encoder
        return json.dumps
    encode = make(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ",
                  False, False, True)
    return lambda value: "".join(encode(value, 0))


json_text = _json_encoder()


class RawJSON(str):
    """JSON text a caller made itself (the :data:`json_text` of its value, character for
    character), bound as it is: for a value of a fixed shape made once per command, where
    building the text directly costs a fraction of encoding it (a window's counters)."""

    __slots__ = ()


def as_json_text(value: Any) -> str:
    """:data:`json_text` of ``value``, or ``value`` itself when it is :class:`RawJSON`."""
    return value if type(value) is RawJSON else json_text(value)


class Instant(UserDefinedType[datetime]):
    """A time column's value converted by the column type's own bind processor (``Time``'s
    for the dialect), which remembers the instants it converted (:func:`remembering`).

    Why: a command writes the same ``now`` into several columns and rows (its outbox row's
    three times, its window's event and update times, the window's written at the commit,
    after the other commands' rows), and SQLite's converter formats the text in Python each
    time. No cast either: PostgreSQL's driver sends a datetime as a timestamp.
    Use the one instance :data:`INSTANT`, so that every column shares what it remembers.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "TIMESTAMP WITH TIME ZONE"  # never used for DDL

    def bind_processor(self, dialect: Any) -> Callable[[Any], Any] | None:
        convert = Time.dialect_impl(dialect).bind_processor(dialect)
        return remembering(convert) if convert is not None else None


REMEMBERED = 1024  # instants remembered per converter, then it starts again


def remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` for values that never change (datetimes), remembering the values it
    converted by identity: the same object gives the text made the first time.

    By identity, not equality: equal datetimes in different zones make different texts.
    Each remembered value is kept alive with its text (an id is never reused meanwhile); at
    :data:`REMEMBERED` values the memo starts over. A race between threads can only cost a
    conversion (dict operations are atomic), never pair a text with another value.
    """
    memo: dict[int, tuple[Any, Any]] = {}

    def process(value: Any) -> Any:
        if value is None:
            return None
        found = memo.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        converted = convert(value)
        if len(memo) >= REMEMBERED:
            memo.clear()
        memo[id(value)] = (value, converted)
        return converted

    return process


INSTANT = Instant()


def hot_row(source: Table) -> TableClause:
    """``source`` as the hot statements bind it: the same table and columns, its JSON columns
    taking text serialized by the caller (:data:`json_text`, :class:`JSONText`) and its time
    columns converted once per instant (:data:`INSTANT`). The SQL is the same."""
    def bound(c: Column[Any]) -> Any:
        if isinstance(c.type, JSON):
            return JSONText()
        return INSTANT if c.type is Time else c.type
    return table(source.name, *(column(c.name, bound(c)) for c in source.c))
