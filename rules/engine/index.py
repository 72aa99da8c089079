"""The rule index: which rules a command can match, found by its exact type and source.

Each compiled rule declares the exact (lower-case) types and sources a command must have to
pass it (:func:`index_values`): from its ``types``/``sources`` fields, or read from its
filter when the filter is a conjunction naming them (:func:`required_value`). A rule with
none is filed under "any". A command is tested only against the rules filed under its
(type, source), its type alone, its source alone, and "any", so the cost of rules on other
sources stays near zero however many there are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from rules.command import MessageCommand
from rules.expr import wildcard

_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_OR = re.compile(r"\|\||\bor\b", re.IGNORECASE)
_AND = re.compile(r"&&|\band\b", re.IGNORECASE)
_EQUALS = re.compile(r"^(?:(\w+)\s*==?\s*@(\d+)@|@(\d+)@\s*==?\s*(\w+))$")
_IN = re.compile(r"^(\w+)\s+in\s*\(\s*(@\d+@(?:\s*,\s*@\d+@)*)\s*\)$", re.IGNORECASE)


def index_values(declared: tuple[str, ...], filter_text: str | None, name: str
                  ) -> tuple[str, ...]:
    """Exact values a command's ``name`` must have for this rule, or () when unknown."""
    if declared:
        return declared if not any(wildcard.has_wildcards(v) for v in declared) else ()
    return required_value(filter_text, name) if filter_text else ()


def required_value(filter_text: str, name: str) -> tuple[str, ...]:
    """The values ``name`` must take for ``filter_text`` to be true, or ``()`` when unknown.

    Found when the filter is a conjunction (``AND`` at the top level, no top-level ``OR`` or
    ``?:``) with a term ``name = 'x'``, ``name IN ('x', 'y')`` or ``(name = 'x' OR name =
    'y')`` - the shape ``rules export`` writes. Any other shape gives ``()``: the rule is then
    tested against every command, which is slower but never wrong. Values are lower-cased:
    command types and sources are lower-case, so an upper-case literal can never match.
    """
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        literals.append(match.group(0)[1:-1])
        return f"@{len(literals) - 1}@"

    shape = _STRING.sub(hide, filter_text)
    if "/*" in shape or "'" in shape or '"' in shape:
        return ()  # a comment or an unterminated string: do not guess
    top = _depth0(shape)
    if top is None or _OR.search(top) or "?" in top:
        return ()
    for term in _split(shape, top, _AND):
        values = _term_values(_unwrap(term.strip()), name, literals)
        if values:
            return values
    return ()


def conjuncts(filter_text: str) -> list[str]:
    """The top-level AND parts of ``filter_text`` as written (one part when it has no
    top-level AND, or when a comment or an OR / ``?:`` at the top makes the split unsafe)."""
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        literals.append(match.group(0))
        return f"@{len(literals) - 1}@"

    shape = _STRING.sub(hide, filter_text)
    top = _depth0(shape)
    if top is None or "/*" in shape or _OR.search(top) or "?" in top:
        return [filter_text]
    parts = [p.strip() for p in _split(shape, top, _AND)]
    if len(parts) < 2 or not all(parts):
        return [filter_text]
    restore = re.compile(r"@(\d+)@")
    return [restore.sub(lambda m: literals[int(m.group(1))], p) for p in parts]


def _depth0(shape: str) -> str | None:
    """``shape`` with everything inside parentheses blanked; None when unbalanced."""
    depth, out = 0, []
    for ch in shape:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        out.append(ch if depth == 0 and ch not in "()" else " ")
    return "".join(out) if depth == 0 else None


def _split(shape: str, top: str, separator: re.Pattern[str]) -> list[str]:
    parts, start = [], 0
    for match in separator.finditer(top):
        parts.append(shape[start:match.start()])
        start = match.end()
    parts.append(shape[start:])
    return parts


def _unwrap(term: str) -> str:
    while term.startswith("(") and term.endswith(")") and _depth0(term[1:-1]) is not None:
        term = term[1:-1].strip()
    return term


def _term_values(term: str, name: str, literals: list[str]) -> tuple[str, ...]:
    found = _EQUALS.match(term)
    if found:
        field_name = found.group(1) or found.group(4)
        return _values(field_name, [found.group(2) or found.group(3)], name, literals)
    found = _IN.match(term)
    if found:
        return _values(found.group(1), re.findall(r"\d+", found.group(2)), name, literals)
    top = _depth0(term)
    if top is None or not _OR.search(top) or "?" in top or _AND.search(top):
        return ()
    values: list[str] = []
    for part in _split(term, top, _OR):
        one = _term_values(_unwrap(part.strip()), name, literals)
        if not one:
            return ()  # one alternative without a known value: nothing is required
        values += one
    return tuple(dict.fromkeys(values))


def _values(field_name: str, numbers: list[str], name: str, literals: list[str]
            ) -> tuple[str, ...]:
    if field_name.lower() != name:
        return ()
    texts = [literals[int(n)] for n in numbers]
    if any("\\" in t for t in texts):
        return ()  # escapes: leave the exact value to the expression
    return tuple(t.lower() for t in texts)


class Indexed(Protocol):
    """What the index needs of a rule (a :class:`rules.engine.compiled.R`)."""

    @property
    def order(self) -> int: ...

    @property
    def index_types(self) -> tuple[str, ...]: ...

    @property
    def index_sources(self) -> tuple[str, ...]: ...


R = TypeVar("R", bound=Indexed)


class RuleIndex(Generic[R]):
    """Rules filed by exact (type, source); the candidates of a command in rule order."""

    def __init__(self, rules: Sequence[R]) -> None:
        self._buckets: dict[tuple[str | None, str | None], list[R]] = {}
        for rule in rules:
            for type_key in rule.index_types or (None,):
                for source_key in rule.index_sources or (None,):
                    self._buckets.setdefault((type_key, source_key), []).append(rule)
        self._cache: dict[tuple[str, str], tuple[R, ...]] = {}

    def candidates(self, command: MessageCommand) -> tuple[R, ...]:
        key = (command.type, command.source)
        found = self._cache.get(key)
        if found is None:
            found = self._lookup(command.type.lower(), command.source.lower())
            if len(self._cache) > 10_000:  # bound the cache against many distinct sources
                self._cache.clear()
            self._cache[key] = found
        return found

    def _lookup(self, type_: str, source: str) -> tuple[R, ...]:
        seen: dict[int, R] = {}
        for key in ((type_, source), (type_, None), (None, source), (None, None)):
            for rule in self._buckets.get(key, ()):
                seen[rule.order] = rule
        return tuple(seen[k] for k in sorted(seen))
