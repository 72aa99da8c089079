"""The functions an expression may call: name, arity, implementation, load-time check.

Every function takes the evaluation environment first, then its evaluated arguments. Names
are matched without regard to case (``startsWith`` = ``startswith``). Text functions live in
:mod:`rules.expr.text_functions`, the ones that ask the engine in
:mod:`rules.expr.engine_functions`; dates and numbers are here:

* ``date_format(time, pattern[, zone])`` and ``elapsed_minutes(time)`` accept a date, an ISO
  8601 text or epoch milliseconds; ``elapsed_minutes`` is a fractional number of minutes;
* ``abs(n)``, ``round(n[, digits])`` take numbers or number-like texts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rules.expr.engine_functions as engine
import rules.expr.text_functions as tf
from rules.command import utcnow
from rules.expr.dates import compile_pattern, format_date
from rules.expr.dates import zone as time_zone
from rules.expr.errors import EvaluationError, LiteralArgumentError
from rules.expr.types import Environment
from rules.expr.values import describe, number, text, to_date

Check = Callable[[tuple[Any, ...]], None]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    check: Check | None = None


def _opt_text(value: Any) -> str | None:
    return None if value is None else text(value)


def _date_arg(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    found = to_date(value)
    if found is None:
        raise EvaluationError(f"{name}: not a date: {describe(value)} {text(value)[:40]!r}")
    return found


def _date_format(env: Environment, value: Any, pattern: Any, zone: Any = None) -> str | None:
    moment = _date_arg("date_format", value)
    if moment is None:
        return None
    try:
        return format_date(moment, text(pattern), _opt_text(zone))
    except ValueError as exc:
        raise EvaluationError(f"date_format: {exc}") from None


def _check_date_format(args: tuple[Any, ...]) -> None:
    for index, validate in ((1, compile_pattern), (2, time_zone)):
        if index < len(args) and isinstance(args[index], str):
            try:
                validate(args[index])
            except ValueError as exc:
                raise LiteralArgumentError(index, f"date_format: {exc}") from None


def _elapsed_minutes(env: Environment, value: Any) -> float | None:
    moment = _date_arg("elapsed_minutes", value)
    if moment is None:
        return None
    now = env.now or utcnow()
    return (now - moment).total_seconds() / 60


def _abs(env: Environment, value: Any) -> Any:
    n = number(value) if not isinstance(value, bool) else None
    if n is None:
        raise EvaluationError(f"abs: not a number: {describe(value)}")
    return abs(n)


def _round(env: Environment, value: Any, digits: Any = 0) -> Any:
    n = number(value) if not isinstance(value, bool) else None
    places = number(digits)
    if n is None or places is None:
        raise EvaluationError("round: arguments must be numbers")
    places = max(-20, min(20, int(places)))
    try:
        result = round(n, places)
    except (OverflowError, ValueError):
        return n
    return int(result) if places <= 0 and isinstance(result, float) and result.is_integer() \
        else result


def _is_empty(env: Environment, value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | Mapping) and len(value) == 0)


_TABLE = (
    Function("upper", 1, 1, tf.upper),
    Function("lower", 1, 1, tf.lower),
    Function("trim", 1, 1, tf.trim),
    Function("length", 1, 1, tf.length),
    Function("contains", 2, 2, tf.contains),
    Function("startsWith", 2, 2, tf.starts_with),
    Function("endsWith", 2, 2, tf.ends_with),
    Function("replace", 3, 3, tf.replace),
    Function("matches", 2, 2, tf.matches, tf.check_matches),
    Function("ifEmpty", 2, 2, tf.if_empty),
    Function("isEmpty", 1, 1, tf.is_empty),
    Function("coalesce", 1, None, tf.coalesce),
    Function("concat", 1, None, tf.concat),
    Function("concatLines", 1, 1, tf.concat_lines),
    Function("truncate", 2, 2, tf.truncate, tf.check_truncate),
    Function("abbreviate", 2, 2, tf.abbreviate),
    Function("keepAfter", 2, 2, tf.keep_after),
    Function("keepAfterLast", 2, 2, tf.keep_after_last),
    Function("keepBefore", 2, 2, tf.keep_before),
    Function("keepBeforeLast", 2, 2, tf.keep_before_last),
    Function("removeBeginning", 2, 2, tf.remove_beginning),
    Function("removeEnding", 2, 2, tf.remove_ending),
    Function("capFirst", 1, 1, tf.cap_first),
    Function("capitalize", 1, 1, tf.capitalize),
    Function("indexOf", 2, 3, tf.index_of),
    Function("locate", 2, 3, tf.index_of),
    Function("countMatches", 2, 2, tf.count_matches),
    Function("split", 2, 2, tf.split),
    Function("list", 1, 2, tf.list_),
    Function("urlencode", 1, 1, tf.urlencode),
    Function("jsonencode", 1, 1, tf.jsonencode),
    Function("htmlDecode", 1, 1, tf.html_decode),
    Function("unquote", 1, 1, tf.unquote),
    Function("date_format", 2, 3, _date_format, _check_date_format),
    Function("elapsed_minutes", 1, 1, _elapsed_minutes),
    Function("count", 0, 0, engine.count),
    Function("db_message_count", 3, 5, engine.db_message_count, engine.check_db),
    Function("db_message_last", 3, 5, engine.db_message_last, engine.check_db),
    Function("rule_open", 1, 1, engine.rule_open),
    Function("abs", 1, 1, _abs),
    Function("round", 1, 2, _round),
)

FUNCTIONS: dict[str, Function] = {f.name.lower(): f for f in _TABLE}
FUNCTION_NAMES: frozenset[str] = frozenset(f.name for f in _TABLE)


def lookup(name: str) -> Function | None:
    return FUNCTIONS.get(name.lower())
