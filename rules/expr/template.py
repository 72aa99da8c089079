"""Notification texts: ``${expression}`` placeholders and ``@if{}...@else{}...@end{}`` blocks.

Syntax (ATSD's, see spec/rules.md "Templates")::

    User ${tags.alias}/@${tags.user_name} said "${message}"
    @if{severity = 'CRITICAL'}Wake up!@else{severity = 'MAJOR'}Look soon.@else{}FYI.@end{}

* ``${expr}`` renders the value as text (:func:`rules.expr.to_text`): null is ``''``.
* ``@if{cond}`` opens a block, ``@else{cond}`` (or ``@else if{cond}``) adds an else-if branch,
  ``@else{}`` the final branch, ``@end{}`` closes it; blocks nest. The first branch whose
  condition is true renders, by the truth rules of :mod:`rules.expr.values`.
* A control tag alone on its line takes the whole line with it, newline included, so that
  multi-line templates do not fill chat messages with blank lines. (ATSD keeps those lines;
  nobody wants them.) Anywhere else the text around a tag is kept exactly.
* Control tags ignore case (``@IF{}`` = ``@if{}``), as expression keywords do.
* ``$${`` writes a literal ``${``. Any other ``$`` or ``@`` is plain text (``@${user}`` is a
  mention).
* A placeholder that fails at run time stays in the text as written and is reported in
  :attr:`Rendered.errors` as ``(expression, reason)``; a condition that fails counts as false
  and is reported the same way. A template that cannot compile raises
  :class:`~rules.expr.errors.ExpressionError` pointing at the line and column in the template.
* The rendered text is at most :data:`MAX_OUTPUT` characters; past that it is cut and the cut
  is reported as an error. Blocks nest at most :data:`MAX_BLOCK_DEPTH` deep.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rules.expr.compiler import Expression, compile_expression
from rules.expr.errors import EvaluationError, ExpressionError
from rules.expr.types import Environment
from rules.expr.values import text as _to_text
from rules.expr.values import truthy as _truthy

MAX_OUTPUT = 1024 * 1024
MAX_TEMPLATE = 256 * 1024
MAX_BLOCK_DEPTH = 32  # @if blocks inside @if blocks

_TAG = re.compile(r"\$\$\{|\$\{|@if\{|@else\s*if\{|@else\{|@end\{\}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    errors: list[tuple[str, str]] = field(default_factory=list)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class _Placeholder:
    expression: Expression
    raw: str  # the placeholder as written, kept in the output when it fails
    # the field it reads when it is nothing but a field (``${entity}``): read directly
    field: str | None = None


def _placeholder(expression: Expression, raw: str) -> _Placeholder:
    text = expression.text.strip()
    plain = (text != "now" and _IDENTIFIER.fullmatch(text) is not None
             and expression.fields == frozenset((text,)))
    return _Placeholder(expression, raw, text if plain else None)


@dataclass(frozen=True, slots=True)
class _Case:
    condition: Expression | None  # None: the final @else{}
    body: list[Any]


@dataclass(frozen=True, slots=True)
class _Block:
    cases: list[_Case]


class Template:
    """A compiled template; :meth:`render` is pure and safe to call from many threads."""

    __slots__ = ("text", "fields", "_parts", "_flat")

    def __init__(self, text: str, parts: list[Any], fields: frozenset[str]) -> None:
        self.text = text
        self.fields = fields
        self._parts = tuple(parts)
        self._flat = all(type(p) is not _Block for p in parts)

    def render(self, env: Environment) -> Rendered:
        if self._flat:
            return self._render_flat(env)
        out = _Output()
        _render(self._parts, env, out)
        return Rendered("".join(out.parts), out.errors)

    def _render_flat(self, env: Environment) -> Rendered:
        # Most notification texts have no @if: one pass, one join, the limit checked once.
        pieces: list[str] = []
        errors: list[tuple[str, str]] = []
        for part in self._parts:
            if type(part) is str:
                pieces.append(part)
                continue
            if part.field is not None:
                # most placeholders name a field: skip the expression's call layers (on any
                # fault the general path below runs it again and reports it as it would)
                read = _read_field(env, part.field)
                if read is not None:
                    pieces.append(read)
                    continue
            try:
                pieces.append(_to_text(part.expression.evaluate(env)))
            except EvaluationError as exc:
                errors.append((part.expression.text, exc.reason))
                pieces.append(part.raw)
        text = "".join(pieces)
        if len(text) > MAX_OUTPUT:
            text = text[:MAX_OUTPUT]
            errors.append(("", f"rendered text cut at {MAX_OUTPUT} characters"))
        return Rendered(text, errors)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _read_field(env: Environment, name: str) -> str | None:
    """The text of field ``name``; None when reading it fails (the caller evaluates it)."""
    try:
        return _to_text(env.fields.get(name))
    except Exception:  # noqa: BLE001 - the caller's evaluation reports it
        return None


@dataclass(slots=True)
class _Output:
    parts: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    size: int = 0
    full: bool = False

    def write(self, chunk: str) -> None:
        if self.full:
            return
        if self.size + len(chunk) > MAX_OUTPUT:
            chunk = chunk[: MAX_OUTPUT - self.size]
            self.full = True
            self.errors.append(("", f"rendered text cut at {MAX_OUTPUT} characters"))
        self.parts.append(chunk)
        self.size += len(chunk)


def _render(parts: Sequence[Any], env: Environment, out: _Output) -> None:
    for part in parts:
        if type(part) is str:
            out.write(part)
        elif type(part) is _Placeholder:
            try:
                out.write(_to_text(part.expression.evaluate(env)))
            except EvaluationError as exc:
                out.errors.append((part.expression.text, exc.reason))
                out.write(part.raw)
        else:
            _render_block(part, env, out)


def _render_block(block: _Block, env: Environment, out: _Output) -> None:
    for case in block.cases:
        if case.condition is None or _holds(case.condition, env, out):
            _render(case.body, env, out)
            return


def _holds(condition: Expression, env: Environment, out: _Output) -> bool:
    try:
        return _truthy(condition.evaluate(env))
    except EvaluationError as exc:
        out.errors.append((condition.text, exc.reason))
        return False


def compile_template(text: str) -> Template:
    """Compile a template; :class:`ExpressionError` names the line and column of a fault."""
    if not isinstance(text, str):
        raise ExpressionError(str(text), 0, "template must be text")
    return _compile(text)


@lru_cache(maxsize=2048)
def _compile(text: str) -> Template:
    if len(text) > MAX_TEMPLATE:
        raise ExpressionError(text[:200], 0, f"template longer than {MAX_TEMPLATE} characters")
    parser = _Parser(text)
    parts = parser.parse()
    return Template(text, parts, frozenset(parser.fields))


@dataclass(slots=True)
class _Open:
    block: _Block
    offset: int  # where its @if{ is, for "@if without @end{}"
    has_else: bool = False


@dataclass(slots=True)
class _Parser:
    text: str
    fields: set[str] = field(default_factory=set)
    pos: int = 0  # start of the literal text not yet emitted
    root: list[Any] = field(default_factory=list)
    stack: list[_Open] = field(default_factory=list)

    def parse(self) -> list[Any]:
        scan = 0
        while (match := _TAG.search(self.text, scan)) is not None:
            scan = self._tag(match)
        self._literal(len(self.text))
        if self.stack:
            raise ExpressionError(self.text, self.stack[-1].offset, "@if{ without @end{}")
        return self.root

    @property
    def current(self) -> list[Any]:
        return self.stack[-1].block.cases[-1].body if self.stack else self.root

    def _literal(self, end: int) -> None:
        if end > self.pos:
            self.current.append(self.text[self.pos:end])

    def _tag(self, match: re.Match[str]) -> int:
        tag, start = match.group(0).lower(), match.start()
        if tag == "$${":
            self._literal(start)
            self.current.append("${")
            self.pos = match.end()
            return self.pos
        if tag == "${":
            return self._placeholder(start, match.end())
        if tag == "@end{}":
            return self._control(start, match.end(), lambda: self._end(start))
        body_end = self._closing(start, match.end())
        source = self.text[match.end():body_end]
        if tag == "@if{":
            return self._control(start, body_end + 1, lambda: self._if(start, source))
        return self._control(start, body_end + 1, lambda: self._else(start, match.end(), source))

    def _placeholder(self, start: int, body_start: int) -> int:
        end = self._closing(start, body_start)
        self._literal(start)
        expression = self._compile(body_start, self.text[body_start:end])
        self.current.append(_placeholder(expression, self.text[start:end + 1]))
        self.pos = end + 1
        return self.pos

    def _compile(self, offset: int, source: str) -> Expression:
        try:
            expression = compile_expression(source)
        except ExpressionError as exc:
            raise exc.shifted(self.text, offset) from None
        self.fields |= expression.fields
        return expression

    def _closing(self, start: int, i: int) -> int:
        """Index of the ``}`` that closes the tag opened at ``start`` (quotes respected)."""
        quote = ""
        while i < len(self.text):
            ch = self.text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "}":
                return i
            i += 1
        what = "placeholder" if self.text.startswith("${", start) else "tag"
        raise ExpressionError(self.text, start, f"missing '}}' to close the {what}")

    def _control(self, start: int, end: int, apply: Callable[[], None]) -> int:
        # A tag alone on its line removes that line, newline included.
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end
        alone = (line_start >= self.pos and not self.text[line_start:start].strip()
                 and not self.text[end:line_end].strip())
        self._literal(line_start if alone else start)
        apply()
        self.pos = min(line_end + 1, len(self.text)) if alone else end
        return max(self.pos, end)

    def _if(self, start: int, source: str) -> None:
        condition = self._compile(self.text.index("{", start) + 1, source)
        if len(self.stack) >= MAX_BLOCK_DEPTH:
            raise ExpressionError(self.text, start, f"@if blocks nested deeper than "
                                  f"{MAX_BLOCK_DEPTH}")
        block = _Block([_Case(condition, [])])
        self.current.append(block)
        self.stack.append(_Open(block, start))

    def _else(self, start: int, body_start: int, source: str) -> None:
        if not self.stack:
            raise ExpressionError(self.text, start, "@else without @if{")
        top = self.stack[-1]
        if top.has_else:
            raise ExpressionError(self.text, start, "@else after the final @else{}")
        if source.strip():
            top.block.cases.append(_Case(self._compile(body_start, source), []))
        else:
            top.has_else = True
            top.block.cases.append(_Case(None, []))

    def _end(self, start: int) -> None:
        if not self.stack:
            raise ExpressionError(self.text, start, "@end{} without @if{")
        self.stack.pop()
