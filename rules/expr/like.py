"""``LIKE`` patterns compiled once into the cheapest test that answers them.

``*`` matches any run of characters, ``?`` exactly one; the match is over the whole text and
case-sensitive. A pattern is split at its stars into fixed-length segments; the first must
start the text, the last must end it, and the others are found left to right, each at its
leftmost place after the previous one. For fixed-length segments that greedy choice is
always right, so nothing is ever retried: time is linear in the text (times the segment
length), whatever the pattern; ``*a*a*a*a*b`` on 100,000 characters included. Segments
without ``?`` use ``str`` methods; a segment with ``?`` becomes a quantifier-free regular
expression. The common shapes (``x``, ``x*``, ``*x``, ``*x*``) get a single ``str`` call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Matcher = Callable[[str], bool]
_At = Callable[[str, int], bool]  # does the segment match at this position?
_Find = Callable[[str, int, int], int]  # leftmost start of the segment in text[a:b], or -1


@lru_cache(maxsize=4096)
def compile_like(pattern: str) -> Matcher:
    if "*" not in pattern:
        if "?" not in pattern:
            return lambda text: text == pattern
        at, size = _at(pattern), len(pattern)
        return lambda text: len(text) == size and at(text, 0)
    parts = pattern.split("*")
    head, tail = parts[0], parts[-1]
    middle = tuple(p for p in parts[1:-1] if p)
    if "?" not in pattern:
        shortcut = _shortcut(head, middle, tail)
        if shortcut is not None:
            return shortcut
    return _glob(head, middle, tail)


def _shortcut(head: str, middle: tuple[str, ...], tail: str) -> Matcher | None:
    if len(middle) == 1 and not head and not tail:
        needle = middle[0]
        return lambda text: needle in text
    if middle:
        return None
    if not tail:
        return lambda text: text.startswith(head)
    if not head:
        return lambda text: text.endswith(tail)
    return None


def _glob(head: str, middle: tuple[str, ...], tail: str) -> Matcher:
    head_at, tail_at = _at(head), _at(tail)
    finders = tuple((_find(part), len(part)) for part in middle)
    fixed = len(head) + len(tail)

    def match(text: str) -> bool:
        size = len(text)
        if size < fixed or not head_at(text, 0) or not tail_at(text, size - len(tail)):
            return False
        start, stop = len(head), size - len(tail)
        for find, length in finders:
            found = find(text, start, stop)
            if found < 0:
                return False
            start = found + length
        return True

    return match


def _regex(segment: str) -> re.Pattern[str]:
    return re.compile("".join("." if ch == "?" else re.escape(ch) for ch in segment), re.DOTALL)


def _at(segment: str) -> _At:
    if "?" not in segment:
        return lambda text, pos: text.startswith(segment, pos)
    rx = _regex(segment)
    return lambda text, pos: rx.match(text, pos) is not None


def _find(segment: str) -> _Find:
    if "?" not in segment:
        return lambda text, a, b: text.find(segment, a, b)
    rx = _regex(segment)

    def find(text: str, a: int, b: int) -> int:
        found = rx.search(text, a, b)
        return found.start() if found is not None else -1

    return find
