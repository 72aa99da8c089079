"""``*`` and ``?`` patterns, matched in linear time.

Used by ``LIKE``, the webhook's include/exclude filters and rule type/source/entity filters.
Regular expressions would backtrack on patterns like ``*a*a*a*a*b`` against long values; the
greedy matcher below never revisits more than the last ``*``, so it stays O(len(text) * k)
with k the number of pattern segments, and O(len(text)) in practice.
"""

from __future__ import annotations

from functools import lru_cache


def has_wildcards(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def match(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """True when ``text`` matches ``pattern`` as a whole (``*`` any run, ``?`` one character)."""
    if ignore_case:
        pattern, text = pattern.lower(), text.lower()
    if not has_wildcards(pattern):
        return pattern == text
    return _match(_compress(pattern), text)


@lru_cache(maxsize=4096)
def _compress(pattern: str) -> str:
    # Consecutive stars mean the same as one; fewer stars, less work.
    out: list[str] = []
    for ch in pattern:
        if ch == "*" and out and out[-1] == "*":
            continue
        out.append(ch)
    return "".join(out)


def _match(pattern: str, text: str) -> bool:
    p = t = 0
    star_p = -1  # position after the last '*' seen
    star_t = 0  # where in text that '*' currently stops
    plen, tlen = len(pattern), len(text)
    while t < tlen:
        if p < plen and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < plen and pattern[p] == "*":
            star_p = p + 1
            star_t = t
            p += 1
        elif star_p >= 0:
            # Let the last star swallow one more character and retry from there.
            star_t += 1
            t = star_t
            p = star_p
        else:
            return False
    while p < plen and pattern[p] == "*":
        p += 1
    return p == plen


def match_any(patterns: tuple[str, ...] | list[str], text: str, *, ignore_case: bool = False
              ) -> bool:
    return any(match(p, text, ignore_case=ignore_case) for p in patterns)
