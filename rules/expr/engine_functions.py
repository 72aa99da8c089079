"""Functions that ask the engine: ``count()``, ``rule_open()``, ``db_message_count()``,
``db_message_last()``.

They call the callbacks of the :class:`~rules.expr.types.Environment`; a missing callback, or one
that raises, is an :class:`EvaluationError` naming the function. The ``db_message_*``
arguments follow ATSD: ``(interval, type, source[, tags[, entity]])`` where a null or ``''``
type or source matches all, tags are a map or ``'a=1,b=2'`` (``;`` also separates), and the
entity defaults to the current one while null, ``''`` or ``'*'`` means every entity. The
callbacks receive ``(interval: timedelta, type: str | None, source: str | None,
tags: Mapping[str, str], entity: str | None)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rules.expr.dates import parse_interval
from rules.expr.errors import UNKNOWN, EvaluationError, LiteralArgumentError
from rules.expr.types import Environment
from rules.expr.values import text


def _opt_text(value: Any) -> str | None:
    return None if value is None else text(value)


def _ask(callback: Callable[..., Any] | None, name: str, *args: Any) -> Any:
    """Call an engine callback; its failure is this expression's error, named as such."""
    if callback is None:
        raise EvaluationError(f"{name}() is not available here")
    try:
        return callback(*args)
    except EvaluationError:
        raise
    except Exception as exc:  # the store or the engine failed: a rule error, not a crash
        raise EvaluationError(f"{name}() failed: {type(exc).__name__}: {exc}") from exc


def count(env: Environment) -> int:
    return int(_ask(env.count, "count"))


def rule_open(env: Environment, name: Any) -> bool:
    return bool(_ask(env.rule_open, "rule_open", text(name)))


def _db_args(env: Environment, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    interval, kind, source = args[0], args[1], args[2]
    tags = args[3] if len(args) > 3 else None
    entity = args[4] if len(args) > 4 else env.fields.get("entity")
    try:
        span = parse_interval(text(interval))
        tag_filter = _tag_filter(tags)
    except ValueError as exc:
        raise EvaluationError(f"{name}: {exc}") from None
    entity_text = _opt_text(entity)
    return (span, _opt_text(kind) or None, _opt_text(source) or None, tag_filter,
            None if entity_text in (None, "", "*") else entity_text)


def _tag_filter(tags: Any) -> Mapping[str, str]:
    if tags is None or tags == "":
        return {}
    if isinstance(tags, Mapping):
        return {str(k): text(v) for k, v in tags.items()}
    pairs: dict[str, str] = {}
    for item in text(tags).replace(";", ",").split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"invalid tags {text(tags)!r}: expected 'name=value,name2=value2'")
        pairs[name.strip()] = value.strip()
    return pairs


def check_db(args: tuple[Any, ...]) -> None:
    checks: tuple[tuple[int, Callable[[Any], Any]], ...] = (
        (0, lambda v: parse_interval(text(v))), (3, _tag_filter))
    for index, validate in checks:
        if index < len(args) and args[index] is not UNKNOWN:
            try:
                validate(args[index])
            except ValueError as exc:
                raise LiteralArgumentError(index, str(exc)) from None


def db_message_count(env: Environment, *args: Any) -> int:
    query = _db_args(env, "db_message_count", args)
    return int(_ask(env.db_message_count, "db_message_count", *query))


def db_message_last(env: Environment, *args: Any) -> Mapping[str, Any] | None:
    query = _db_args(env, "db_message_last", args)
    found: Mapping[str, Any] | None = _ask(env.db_message_last, "db_message_last", *query)
    return found
