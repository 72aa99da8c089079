"""Text functions, with ATSD's names and null rules (``functions-text`` of the ATSD docs).

Null-safe as in ATSD: a null text gives null (renders ``''``), or false for the tests
(``contains startsWith endsWith matches``). Other choices:

* ``length(null)`` is ``-1``, as in ATSD; ``length`` of a list or map counts its elements;
* ``contains(list, x)`` tests membership, ``contains(map, key)`` a key, else a substring;
* ``matches(text, regex)`` is true when the **whole** text matches, as Java's
  ``String.matches`` (write ``.*word.*`` to search); see :mod:`rules.expr.safe_regex`;
* ``coalesce`` takes a list (ATSD) or several arguments and returns the first that is neither
  null nor ``''``, else ``''``;
* ``concat(list[, sep])`` joins a list with ``sep`` (``','`` by default), as in ATSD;
  ``concat(a, b, ...)`` with anything else first joins its arguments with nothing between;
* ``split(s, sep)`` keeps ``"double quoted"`` runs together (ATSD); ``list(s[, sep])`` splits
  on ``','`` by default, ignores quotes and drops repeated items;
* ``keepAfter keepAfterLast keepBefore keepBeforeLast`` return ``s`` unchanged when the
  substring is empty or absent; ``abbreviate(s, n)`` needs ``n >= 4``.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from rules.expr.errors import UNKNOWN, EvaluationError, LiteralArgumentError
from rules.expr.safe_regex import MAX_INPUT, compile_safe
from rules.expr.types import Environment
from rules.expr.values import MAX_TEXT, check_list, check_text, equals, join_text, number, text


def upper(env: Environment, value: Any) -> str | None:
    return None if value is None else check_text(text(value).upper())


def lower(env: Environment, value: Any) -> str | None:
    return None if value is None else text(value).lower()


def trim(env: Environment, value: Any) -> str | None:
    return None if value is None else text(value).strip()


def length(env: Environment, value: Any) -> int:
    if value is None:
        return -1
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    return len(text(value))


def contains(env: Environment, value: Any, item: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, list | tuple):
        return any(equals(v, item) for v in value)
    if isinstance(value, Mapping):
        return text(item) in value
    return text(item) in text(value)


def starts_with(env: Environment, value: Any, prefix: Any) -> bool:
    return value is not None and text(value).startswith(text(prefix))


def ends_with(env: Environment, value: Any, suffix: Any) -> bool:
    return value is not None and text(value).endswith(text(suffix))


def replace(env: Environment, value: Any, old: Any, new: Any) -> str | None:
    if value is None:
        return None
    source, old_text, new_text = text(value), text(old), text(new)
    if not old_text:
        return source
    growth = source.count(old_text) * (len(new_text) - len(old_text))
    if len(source) + growth > MAX_TEXT:
        raise EvaluationError(f"replace: result longer than {MAX_TEXT} characters")
    return source.replace(old_text, new_text)


def matches(env: Environment, value: Any, pattern: Any) -> bool:
    if value is None or pattern is None:
        return False
    subject = text(value)
    if len(subject) > MAX_INPUT:
        raise EvaluationError(f"matches: text longer than {MAX_INPUT} characters")
    try:
        matcher = compile_safe(text(pattern))
    except ValueError as exc:
        raise EvaluationError(f"matches: {exc}") from None
    return matcher(subject)


def check_matches(args: tuple[Any, ...]) -> None:
    if isinstance(args[1], str):
        try:
            compile_safe(args[1])
        except ValueError as exc:
            raise LiteralArgumentError(1, str(exc)) from None


def if_empty(env: Environment, value: Any, fallback: Any) -> Any:
    return fallback if value is None or value == "" else value


def is_empty(env: Environment, value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | Mapping) and len(value) == 0)


def coalesce(env: Environment, *items: Any) -> Any:
    if len(items) == 1 and isinstance(items[0], list | tuple):
        items = tuple(items[0])
    return next((v for v in items if v is not None and v != ""), "")


def concat(env: Environment, *items: Any) -> str:
    if isinstance(items[0], list | tuple) and len(items) <= 2:
        separator = text(items[1]) if len(items) == 2 else ","
        return join_text(separator, (text(v) for v in items[0]))
    return join_text("", (text(v) for v in items))


def concat_lines(env: Environment, items: Any) -> str | None:
    if items is None:
        return None
    if not isinstance(items, list | tuple):
        return text(items)
    return join_text("\n", (text(v) for v in items))


def truncate(env: Environment, value: Any, size: Any) -> str | None:
    limit = number(size)
    if limit is None or limit < 0:
        raise EvaluationError(f"truncate: length must be a number >= 0, not {text(size)!r}")
    return None if value is None else text(value)[: int(min(limit, MAX_TEXT))]


def check_truncate(args: tuple[Any, ...]) -> None:
    limit = number(args[1]) if args[1] is not UNKNOWN else 0
    if limit is None or limit < 0:
        raise LiteralArgumentError(1, "truncate: length must be a number >= 0")


def abbreviate(env: Environment, value: Any, size: Any) -> str | None:
    limit = number(size)
    if limit is None or limit < 4:
        raise EvaluationError(f"abbreviate: length must be a number >= 4, not {text(size)!r}")
    if value is None:
        return None
    source = text(value)
    return source if len(source) <= limit else source[: int(limit) - 3] + "..."


def keep_after(env: Environment, value: Any, sub: Any) -> str | None:
    return _cut(value, sub, last=False, after=True)


def keep_after_last(env: Environment, value: Any, sub: Any) -> str | None:
    return _cut(value, sub, last=True, after=True)


def keep_before(env: Environment, value: Any, sub: Any) -> str | None:
    return _cut(value, sub, last=False, after=False)


def keep_before_last(env: Environment, value: Any, sub: Any) -> str | None:
    return _cut(value, sub, last=True, after=False)


def _cut(value: Any, sub: Any, *, last: bool, after: bool) -> str | None:
    if value is None:
        return None
    source, marker = text(value), text(sub)
    at = (source.rfind(marker) if last else source.find(marker)) if marker else -1
    if at < 0:
        return source
    return source[at + len(marker):] if after else source[:at]


def remove_beginning(env: Environment, value: Any, prefix: Any) -> str | None:
    return None if value is None else text(value).removeprefix(text(prefix))


def remove_ending(env: Environment, value: Any, suffix: Any) -> str | None:
    return None if value is None else text(value).removesuffix(text(suffix))


def cap_first(env: Environment, value: Any) -> str | None:
    source = None if value is None else text(value)
    return None if source is None else source[:1].upper() + source[1:]


_WORD_START = re.compile(r"(^|\s)(\S)")


def capitalize(env: Environment, value: Any) -> str | None:
    if value is None:
        return None
    return _WORD_START.sub(lambda m: m.group(1) + m.group(2).upper(), text(value))


def index_of(env: Environment, value: Any, sub: Any, start: Any = 0) -> int:
    begin = number(start)
    if begin is None:
        raise EvaluationError("indexOf: the start index must be a number")
    return -1 if value is None else text(value).find(text(sub), max(0, int(begin)))


def count_matches(env: Environment, value: Any, sub: Any) -> int:
    marker = text(sub)
    return 0 if value is None or not marker else text(value).count(marker)


def split(env: Environment, value: Any, separator: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    sep = text(separator)
    if not sep:
        raise EvaluationError("split: the separator must not be empty")
    parts: list[str] = []
    current: list[str] = []
    quoted, source, i = False, text(value), 0
    while i < len(source):
        if source[i] == '"':
            quoted = not quoted
        elif not quoted and source.startswith(sep, i):
            parts.append("".join(current))
            current = []
            i += len(sep)
            continue
        else:
            current.append(source[i])
        i += 1
    parts.append("".join(current))
    return check_list(tuple(parts))


def list_(env: Environment, value: Any, separator: Any = ",") -> tuple[str, ...] | None:
    if value is None:
        return None
    sep = text(separator)
    if not sep:
        raise EvaluationError("list: the separator must not be empty")
    return check_list(tuple(dict.fromkeys(text(value).split(sep))))


def urlencode(env: Environment, value: Any) -> str | None:
    return None if value is None else urllib.parse.quote(text(value), safe="")


def jsonencode(env: Environment, value: Any) -> str | None:
    return None if value is None else json.dumps(text(value), ensure_ascii=False)[1:-1]


def html_decode(env: Environment, value: Any) -> str | None:
    return None if value is None else html.unescape(text(value))


def unquote(env: Environment, value: Any) -> str | None:
    return None if value is None else text(value).strip("\"'")
