"""How values behave: truth, equality, ordering, arithmetic and text.

Values are ``None`` (null), ``bool``, ``int``/``float``, ``str``, ``datetime``, lists (tuples)
and mappings (``tags``, a ``db_message_last`` record). Choices, made for ATSD users:

* **Truth** (AND, OR, NOT, ``?:``, ``@if``, a filter's result): null, false, 0, ``''``, an empty
  list or map, and the text ``'false'`` (any case; tag values are text) are false, all else true.
* **Equality** (``=``, ``==``, ``!=``, ``<>``, ``IN``): null equals only null; a number and a
  number-like text compare as numbers (``tags.code = 500`` is true for the tag ``'500'``); two
  texts compare exactly (case-sensitive, ``'01' != '1'``); ``true``/``false`` equal the texts
  ``'true'``/``'false'`` in any case; a date equals an ISO 8601 text of the same instant or its
  epoch milliseconds.
* **Ordering** (``<``, ``<=``, ``>``, ``>=``): false when either side is null or ``''`` (an
  empty tag has no value to compare, and should not flood rule errors); numbers and
  number-like texts compare as numbers, also when both sides are number-like texts; severity
  names (and aliases) compare by rank, with each other and with codes (``'MAJOR' > 'MINOR'``);
  other texts compare by code point; dates compare with dates, ISO texts and epoch
  milliseconds. Anything else (``'abc' > 5``, a list with a number) is an
  :class:`EvaluationError`.
* **Arithmetic**: ``+`` concatenates when either side is text (null adds nothing), else adds
  numbers; ``- * / %`` need numbers or number-like texts; ``/`` is true division (``7 / 2`` is
  ``3.5``); a division by zero, or null in arithmetic, is an :class:`EvaluationError`.
* **Text** (``${}`` and string functions): null is ``''``; numbers print without a trailing
  ``.0``; dates print as ISO 8601 UTC with milliseconds; maps print as ATSD prints ``tags``,
  ``{name1=value1;name2=value2}`` sorted by name; lists print as ``[a, b]``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rules.clock import aware
from rules.command import Severity, format_iso_date, parse_iso_date
from rules.expr.errors import EvaluationError

MAX_TEXT = 1024 * 1024  # characters in any text an expression produces
MAX_LIST = 10_000  # elements in any list an expression produces

# Spaces around a number are allowed; only ASCII digits and ASCII blanks count.
_NUMBER_LIKE = re.compile(
    r"[ \t\r\n]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\r\n]*")
_INT_LIKE = re.compile(r"[ \t\r\n]*[+-]?[0-9]{1,18}[ \t\r\n]*")


def truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if value is True:
        return True
    if type(value) is str:
        return value != "" and value.lower() != "false"
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | tuple | Mapping):
        return len(value) > 0
    return True


def number(value: Any) -> int | float | None:
    """The number a value stands for (number-like texts included), else ``None``."""
    kind = type(value)
    if kind is int or kind is float:
        return value
    if kind is str and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)  # the common case, a numeric tag: no regular expression needed
    if kind is str and len(value) <= 400 and _NUMBER_LIKE.fullmatch(value):
        return int(value) if _INT_LIKE.fullmatch(value) else float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # an IntEnum or another int subclass
    return None


def text(value: Any) -> str:
    """A value as text, the way a placeholder renders it."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.name)
    if kind is int:
        return str(value) if value.bit_length() < 1000 else ("-" if value < 0 else "") + "Infinity"
    if kind is float:
        return _float_text(value)
    if isinstance(value, datetime):
        return format_iso_date(aware(value))
    if isinstance(value, Mapping):
        pairs = (f"{k}={text(value[k])}" for k in sorted(value, key=str))
        return "{" + join_text(";", pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + join_text(", ", (text(v) for v in value)) + "]"
    return str(value)


def join_text(separator: str, parts: Iterable[str]) -> str:
    """Join texts, failing as soon as the result would pass :data:`MAX_TEXT`."""
    # ['<1 MB text>', '<the same>', ...] must not build gigabytes before the limit is seen.
    out: list[str] = []
    size = 0
    for part in parts:
        size += len(part) + len(separator)
        if size > MAX_TEXT:
            raise EvaluationError(f"text longer than {MAX_TEXT} characters")
        out.append(part)
    return separator.join(out)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)




def describe(value: Any) -> str:
    """A short name of a value's kind, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def to_date(value: Any) -> datetime | None:
    """A date from a date, an ISO 8601 text or epoch milliseconds; ``None`` if it is none."""
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, str):
        try:
            return parse_iso_date(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def millis(value: datetime) -> int:
    return int(aware(value).timestamp() * 1000)


def equals(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    lt, rt = type(left), type(right)
    if lt is rt and lt is not list and lt is not tuple and lt is not datetime:
        return bool(left == right)
    if lt is bool or rt is bool:
        return _bool_equals(left, right)
    if isinstance(left, datetime) or isinstance(right, datetime):
        return _date_equals(left, right)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(equals, left, right))
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    a, b = number(left), number(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return bool(left == right)
    return False


def _bool_equals(left: Any, right: Any) -> bool:
    if isinstance(left, bool) and isinstance(right, bool):
        return left == right
    flag, other = (left, right) if isinstance(left, bool) else (right, left)
    return isinstance(other, str) and other.strip().lower() == ("true" if flag else "false")


def _date_equals(left: Any, right: Any) -> bool:
    a, b = to_date(left), to_date(right)
    return a is not None and b is not None and a == b


def order(left: Any, right: Any) -> int | None:
    """-1, 0 or 1; ``None`` when either side is null. Raises for values that do not order."""
    if left is None or right is None or left == "" or right == "":
        return None
    a, b = _comparable(left, right)
    return (a > b) - (a < b)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, datetime) or isinstance(right, datetime):
        a, b = to_date(left), to_date(right)
        if a is not None and b is not None:
            return a, b
    elif not isinstance(left, bool) and not isinstance(right, bool):
        x, y = number(left), number(right)
        if x is not None and y is not None:
            return x, y
        # Severity names order by rank (WARNING < CRITICAL), also against a code: ATSD rules
        # write `severity >= 'WARNING'`, which alphabetical order would get wrong.
        s, t = _rank(left, x), _rank(right, y)
        if s is not None and t is not None:
            return s, t
        if isinstance(left, str) and isinstance(right, str):
            return left, right
    raise EvaluationError(f"cannot compare {describe(left)} {_short(left)} "
                          f"with {describe(right)} {_short(right)}")


def _rank(value: Any, as_number: float | int | None) -> float | int | None:
    """A severity's code: from its name (or alias), or the number itself."""
    if as_number is not None:
        return as_number
    if isinstance(value, str):
        return SEVERITY_CODES.get(value.strip().upper())
    return None


SEVERITY_CODES: dict[str, int] = {s.name: int(s) for s in Severity} | {
    "INFO": int(Severity.NORMAL), "WARN": int(Severity.WARNING), "ERROR": int(Severity.CRITICAL),
}


def _short(value: Any) -> str:
    shown = repr(text(value)) if isinstance(value, str) else text(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def check_text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise EvaluationError(f"text longer than {MAX_TEXT} characters")
    return value


def check_list(value: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(value) > MAX_LIST:
        raise EvaluationError(f"list longer than {MAX_LIST} elements")
    return value


def add(left: Any, right: Any) -> Any:
    if isinstance(left, str) or isinstance(right, str):
        return check_text(text(left) + text(right))
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return check_list(tuple(left) + tuple(right))
    a, b = _operands("+", left, right)
    return _bounded(a + b)


def subtract(left: Any, right: Any) -> Any:
    a, b = _operands("-", left, right)
    return _bounded(a - b)


def multiply(left: Any, right: Any) -> Any:
    a, b = _operands("*", left, right)
    return _bounded(a * b)


def divide(left: Any, right: Any) -> Any:
    a, b = _operands("/", left, right)
    if b == 0:
        raise EvaluationError("division by zero")
    result = a / b
    return int(result) if isinstance(a, int) and isinstance(b, int) and a % b == 0 else result


def modulo(left: Any, right: Any) -> Any:
    a, b = _operands("%", left, right)
    if b == 0:
        raise EvaluationError("division by zero")
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.fmod(a, b)
        except ValueError:  # fmod(inf, x)
            return math.nan
    return int(math.copysign(abs(a) % abs(b), a))  # the sign of the dividend, as in Java


def negate(value: Any) -> Any:
    n = number(value) if not isinstance(value, bool) else None
    if n is None:
        raise EvaluationError(f"cannot negate {describe(value)}")
    return -n


def _operands(op: str, left: Any, right: Any) -> tuple[Any, Any]:
    a = number(left) if not isinstance(left, bool) else None
    b = number(right) if not isinstance(right, bool) else None
    if a is None or b is None:
        raise EvaluationError(f"cannot apply '{op}' to {describe(left)} and {describe(right)}")
    return a, b


def _bounded(value: Any) -> Any:
    # Integers stay machine-sized so that no chain of products builds a huge number.
    if isinstance(value, int) and value.bit_length() > 63:
        return float(value)
    return value
