"""The functions an expression may call, with their arity and load-time argument checks.

Every function takes the evaluation environment first, then its evaluated arguments. Names
are matched without regard to case (``startsWith`` = ``startswith``). Choices:

* text functions (``upper lower trim replace truncate``) return null for a null text, so a
  missing tag renders as ``''``; ``contains startsWith endsWith matches`` are false for null;
* ``contains(list, x)`` tests membership, ``contains(map, key)`` a key, else a substring;
* ``matches(text, regex)`` is true when the **whole** text matches, as Java's
  ``String.matches`` (write ``.*word.*`` to search); patterns run on Python's ``re`` or on
  RE2 so that none can backtrack for ever, see :mod:`rules.expr.safe_regex`;
* ``ifEmpty(a, b)`` is ``b`` when ``a`` is null or ``''``; ``coalesce`` takes a list or
  several arguments and returns the first that is neither null nor ``''``;
* ``date_format(time, pattern[, zone])`` and ``elapsed_minutes(time)`` accept a date, an ISO
  8601 text or epoch milliseconds; ``elapsed_minutes`` is a fractional number of minutes;
* ``count() rule_open() db_message_count() db_message_last()`` ask the engine: see
  :mod:`rules.expr.engine_functions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rules.command import utcnow
from rules.expr import dates, safe_regex, values
from rules.expr import engine_functions as engine
from rules.expr.errors import UNKNOWN, EvaluationError, LiteralArgumentError
from rules.expr.values import check_text, describe, equals, join_text, number, text, to_date

if TYPE_CHECKING:
    from rules.expr.compiler import Environment


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


def _upper(env: Environment, value: Any) -> str | None:
    return None if value is None else check_text(text(value).upper())


def _lower(env: Environment, value: Any) -> str | None:
    return None if value is None else text(value).lower()


def _trim(env: Environment, value: Any) -> str | None:
    return None if value is None else text(value).strip()


def _length(env: Environment, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    return len(text(value))


def _contains(env: Environment, value: Any, item: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, list | tuple):
        return any(equals(v, item) for v in value)
    if isinstance(value, Mapping):
        return text(item) in value
    return text(item) in text(value)


def _starts_with(env: Environment, value: Any, prefix: Any) -> bool:
    return value is not None and text(value).startswith(text(prefix))


def _ends_with(env: Environment, value: Any, suffix: Any) -> bool:
    return value is not None and text(value).endswith(text(suffix))


def _replace(env: Environment, value: Any, old: Any, new: Any) -> str | None:
    if value is None:
        return None
    source, old_text, new_text = text(value), text(old), text(new)
    if not old_text:
        return source
    growth = source.count(old_text) * (len(new_text) - len(old_text))
    if len(source) + growth > values.MAX_TEXT:
        raise EvaluationError(f"replace: result longer than {values.MAX_TEXT} characters")
    return source.replace(old_text, new_text)


def _matches(env: Environment, value: Any, pattern: Any) -> bool:
    if value is None or pattern is None:
        return False
    subject = text(value)
    if len(subject) > safe_regex.MAX_INPUT:
        raise EvaluationError(f"matches: text longer than {safe_regex.MAX_INPUT} characters")
    try:
        matcher = safe_regex.compile_safe(text(pattern))
    except ValueError as exc:
        raise EvaluationError(f"matches: {exc}") from None
    return matcher(subject)


def _check_matches(args: tuple[Any, ...]) -> None:
    if isinstance(args[1], str):
        try:
            safe_regex.compile_safe(args[1])
        except ValueError as exc:
            raise LiteralArgumentError(1, str(exc)) from None


def _if_empty(env: Environment, value: Any, fallback: Any) -> Any:
    return fallback if value is None or value == "" else value


def _coalesce(env: Environment, *values: Any) -> Any:
    if len(values) == 1 and isinstance(values[0], list | tuple):
        values = tuple(values[0])
    return next((v for v in values if v is not None and v != ""), None)


def _concat(env: Environment, *values: Any) -> str:
    return join_text("", (text(v) for v in values))


def _truncate(env: Environment, value: Any, length: Any) -> str | None:
    limit = number(length)
    if limit is None or limit < 0:
        raise EvaluationError(f"truncate: length must be a number >= 0, not {text(length)!r}")
    return None if value is None else text(value)[: int(min(limit, values.MAX_TEXT))]


def _check_truncate(args: tuple[Any, ...]) -> None:
    if args[1] is not UNKNOWN and (number(args[1]) is None or number(args[1]) < 0):  # type: ignore[operator]
        raise LiteralArgumentError(1, "truncate: length must be a number >= 0")


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
        return dates.format_date(moment, text(pattern), _opt_text(zone))
    except ValueError as exc:
        raise EvaluationError(f"date_format: {exc}") from None


def _check_date_format(args: tuple[Any, ...]) -> None:
    for index, validate in ((1, dates.compile_pattern), (2, dates.zone)):
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
    Function("upper", 1, 1, _upper),
    Function("lower", 1, 1, _lower),
    Function("trim", 1, 1, _trim),
    Function("length", 1, 1, _length),
    Function("contains", 2, 2, _contains),
    Function("startsWith", 2, 2, _starts_with),
    Function("endsWith", 2, 2, _ends_with),
    Function("replace", 3, 3, _replace),
    Function("matches", 2, 2, _matches, _check_matches),
    Function("ifEmpty", 2, 2, _if_empty),
    Function("isEmpty", 1, 1, _is_empty),
    Function("coalesce", 1, None, _coalesce),
    Function("concat", 1, None, _concat),
    Function("truncate", 2, 2, _truncate, _check_truncate),
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
