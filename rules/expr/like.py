"""``LIKE`` patterns compiled once into the cheapest test that answers them.

``*`` matches any run of characters, ``?`` exactly one; the match is over the whole text and
case-sensitive. Patterns made only of literal text and ``*`` become ``==``, ``startswith``,
``endswith``, ``in`` or a left-to-right chain of ``str.find`` (greedy leftmost matching is
exact for ``*``-only patterns, and never backtracks); patterns with ``?`` go to the linear
matcher in :mod:`rules.wildcard`. Either way ``*a*a*a*a*b`` on 100,000 characters stays linear.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from rules import wildcard

Matcher = Callable[[str], bool]


@lru_cache(maxsize=4096)
def compile_like(pattern: str) -> Matcher:
    if "?" in pattern:
        return lambda text: wildcard.match(pattern, text)
    if "*" not in pattern:
        return lambda text: text == pattern
    parts = pattern.split("*")
    head, middle, tail = parts[0], [p for p in parts[1:-1] if p], parts[-1]
    if not middle:
        return _ends(head, tail)
    return _chain(head, tuple(middle), tail)


def _ends(head: str, tail: str) -> Matcher:
    if not head and not tail:
        return lambda text: True
    if not tail:
        return lambda text: text.startswith(head)
    if not head:
        return lambda text: text.endswith(tail)
    size = len(head) + len(tail)
    return lambda text: len(text) >= size and text.startswith(head) and text.endswith(tail)


def _chain(head: str, middle: tuple[str, ...], tail: str) -> Matcher:
    if not head and not tail and len(middle) == 1:
        needle = middle[0]
        return lambda text: needle in text

    def match(text: str) -> bool:
        if not text.startswith(head):
            return False
        start, stop = len(head), len(text) - len(tail)
        if stop < start or not text.endswith(tail):
            return False
        for part in middle:
            found = text.find(part, start, stop)
            if found < 0:
                return False
            start = found + len(part)
        return True

    return match
