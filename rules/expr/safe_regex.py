"""Regular expressions for ``matches()`` that cannot hang the engine.

Python's ``re`` backtracks, so a pattern such as ``(a+)+b`` takes exponential time on
``aaaa...c``. Three guards, all checked when the rule is loaded if the pattern is a literal:

* patterns longer than :data:`MAX_PATTERN` are refused;
* a quantified group that itself contains a quantifier or an alternation (``(a+)+``,
  ``(a|aa)*``, ``(\\w+\\s?)*``) and back-references (``\\1``, ``(?P=name)``) are refused: they
  are what makes backtracking explode;
* the text matched is at most :data:`MAX_INPUT` characters (longer is an evaluation error,
  not a silent cut), which bounds the polynomial cost that remains (``.*a.*b``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_PATTERN = 1000
MAX_INPUT = 16 * 1024


@dataclass(slots=True)
class _Group:
    repeats: bool = False  # contains a quantifier
    branches: bool = False  # contains '|'


@lru_cache(maxsize=1024)
def compile_safe(pattern: str) -> re.Pattern[str]:
    """Compile ``pattern`` or raise ``ValueError`` saying why it is refused."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regular expression longer than {MAX_PATTERN} characters")
    _check_structure(pattern)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    except (OverflowError, RecursionError):
        raise ValueError("regular expression too complex") from None


def _check_structure(pattern: str) -> None:
    stack = [_Group()]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < n and pattern[i + 1] in "123456789":
                raise ValueError("back-references are not allowed in regular expressions")
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if ch == "(":
            if pattern.startswith("(?P=", i):
                raise ValueError("back-references are not allowed in regular expressions")
            stack.append(_Group())
            i = _skip_group_prefix(pattern, i + 1)
            continue
        elif ch == ")" and len(stack) > 1:
            inner = stack.pop()
            end = _quantifier_end(pattern, i + 1)
            if end > i + 1 and _repeats(pattern[i + 1:end]) and (inner.repeats or inner.branches):
                raise ValueError("nested quantifiers are not allowed in regular expressions "
                                 "(they can take exponential time)")
            stack[-1].repeats |= inner.repeats or end > i + 1
            stack[-1].branches |= inner.branches
            i = end
            continue
        elif ch == "|":
            stack[-1].branches = True
        elif ch in "*+?{" and _quantifier_end(pattern, i) > i:
            stack[-1].repeats = True
            i = _quantifier_end(pattern, i)
            continue
        i += 1


def _skip_group_prefix(pattern: str, i: int) -> int:
    """Index after the ``?...`` of an extension group (``(?:``, ``(?<=``, ``(?P<n>``, ``(?i)``)."""
    if i >= len(pattern) or pattern[i] != "?":
        return i
    j = i + 1
    if pattern.startswith("P<", j):
        end = pattern.find(">", j)
        return len(pattern) if end < 0 else end + 1
    if pattern.startswith(("<=", "<!"), j):
        return j + 2
    if j < len(pattern) and pattern[j] in ":=!>":
        return j + 1
    while j < len(pattern) and (pattern[j].isalpha() or pattern[j] == "-"):
        j += 1  # inline flags such as (?i) or (?i-s:...)
    return j + 1 if j < len(pattern) and pattern[j] == ":" else j


def _skip_class(pattern: str, i: int) -> int:
    """Index after the character class that starts at ``pattern[i] == '['``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


_BRACES = re.compile(r"\{\d*(?:,\d*)?\}")


def _quantifier_end(pattern: str, i: int) -> int:
    """End of the quantifier (with a lazy/possessive suffix) at ``i``, or ``i`` if none."""
    if i >= len(pattern):
        return i
    if pattern[i] in "*+?":
        end = i + 1
    else:
        match = _BRACES.match(pattern, i)
        if match is None or match.group(0) == "{}" or match.group(0) == "{,}":
            return i
        end = match.end()
    if end < len(pattern) and pattern[end] in "?+":
        end += 1
    return end


def _repeats(quantifier: str) -> bool:
    """True when the quantifier may repeat its atom more than once."""
    core = quantifier.rstrip("?+") or quantifier[0]
    if core in ("*", "+"):
        return True
    if core == "?":
        return False
    low, _, high = core[1:-1].partition(",")
    if "," not in core:
        return int(low or 0) > 1
    return not high or int(high) > 1


def search_limit_ok(text: str) -> bool:
    return len(text) <= MAX_INPUT
