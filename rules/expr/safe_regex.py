"""Regular expressions for ``matches()`` that cannot hang the engine.

Python's ``re`` backtracks: ``(a+)+b`` takes exponential time on ``aaaa...c`` and even
``.*a.*a.*b`` is cubic, so a chat message crafted against a rule could stall every rule. So:

* a pattern with at most one **choice point** (a variable quantifier ``* + ? {m,n}`` or an
  alternation ``|``) runs on Python's ``re``: with a single choice point backtracking is
  bounded by text length times pattern length, and ``re`` is the fastest (about 1 us);
* any other pattern runs on RE2 (the ``google-re2`` package), whose automaton is linear in the
  text whatever the pattern (about 10 us a call, most of it binding overhead). RE2 has no
  back-references or look-arounds; such patterns are refused with RE2's reason;
* back-references are refused everywhere (they make matching NP-hard), patterns longer than
  :data:`MAX_PATTERN` too, and texts longer than :data:`MAX_INPUT` are an evaluation error.

A literal pattern is checked and compiled when the rule loads; others once per distinct text
(cached).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

try:  # google-re2 is a dependency; without it, only single-choice patterns are accepted
    import re2
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    re2 = None

MAX_PATTERN = 1000
MAX_INPUT = 1024 * 1024

Matcher = Callable[[str], bool]

_BRACES = re.compile(r"\{(\d*)(,?)(\d*)\}")


@lru_cache(maxsize=1024)
def compile_safe(pattern: str) -> Matcher:
    """A whole-text matcher for ``pattern``, or ``ValueError`` saying why it is refused."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regular expression longer than {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None
    except (OverflowError, RecursionError):
        raise ValueError("regular expression too complex") from None
    if choice_points(pattern) <= 1:
        return lambda text: compiled.fullmatch(text) is not None
    return _linear(pattern)


def _linear(pattern: str) -> Matcher:
    if re2 is None:
        raise ValueError("regular expression too complex for the backtracking engine "
                         "(install google-re2)")
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the user, not to stderr
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"regular expression not supported: {reason}") from None
    except UnicodeEncodeError:
        raise ValueError("regular expression contains an unpaired surrogate") from None

    def match(text: str) -> bool:
        try:
            return compiled.fullmatch(text) is not None
        except UnicodeEncodeError:
            # RE2 reads UTF-8; a lone surrogate (JSON allows "\ud800") becomes one '?'.
            clean = text.encode("utf-8", "replace").decode("utf-8")
            return compiled.fullmatch(clean) is not None

    return match


def choice_points(pattern: str) -> int:
    """Variable quantifiers and alternations in ``pattern``; ``ValueError`` on a
    back-reference."""
    count, i, n = 0, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if pattern[i + 1:i + 2].isdigit() and pattern[i + 1] != "0":
                raise ValueError("back-references are not allowed in regular expressions")
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if pattern.startswith("(?P=", i):
            raise ValueError("back-references are not allowed in regular expressions")
        if pattern.startswith("(?", i):
            i += 2  # '(?:', '(?i)' ...: that '?' is syntax, not a quantifier
            continue
        if ch == "|" or ch in "*+?":
            count += 1
        elif ch == "{":
            braces = _BRACES.match(pattern, i)
            if braces is not None and (braces.group(2) and braces.group(1) != braces.group(3)):
                count += 1
        i += 1
    return count


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
