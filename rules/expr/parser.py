"""Text to parse tree: the lark grammar in ``grammar.lark``, errors that point at a column.

The LALR parser builds its tree without recursion, so depth is checked here, iteratively,
before anything walks the tree recursively: a too-deep expression is an
:class:`ExpressionError`, never a ``RecursionError``.
"""

from __future__ import annotations

import re
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from rules.expr.errors import ExpressionError

MAX_TEXT = 32 * 1024  # characters of one expression (parsing costs about 20 us a token)
MAX_DEPTH = 64  # nesting of the parse tree (parentheses do not count, calls and operators do)
MAX_BRACKETS = 256  # nesting of ( and [, checked before parsing so that it fails fast

_GRAMMAR = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True,
               maybe_placeholders=False)

# How terminals are named to a user in "expected ..." hints.
_TERMINAL_TEXT = {
    "RPAR": "')'", "LPAR": "'('", "RSQB": "']'", "LSQB": "'['", "COMMA": "','",
    "DOT": "'.'", "COLON": "':'", "QMARK": "'?'", "CMP": "a comparison", "NAME": "a name",
    "STRING": "a string", "NUMBER": "a number", "LIKE": "LIKE", "IN": "IN", "NOT": "NOT",
    "_AND": "AND", "_OR": "OR", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/' or '%'",
    "TRUE": "true", "FALSE": "false", "NULL": "null", "BANG": "'!'", "$END": "end of text",
}


def parse(text: str) -> Tree:
    """Parse one expression; :class:`ExpressionError` names the column of any fault."""
    if len(text) > MAX_TEXT:
        raise ExpressionError(text[:200], 0, f"expression longer than {MAX_TEXT} characters")
    if not text.strip():
        raise ExpressionError(text, 0, "empty expression")
    _check_brackets(text)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except LarkError as exc:  # any other parser fault still becomes a user-facing error
        raise ExpressionError(text, 0, f"invalid expression ({exc})") from None
    _check_depth(text, tree)
    return tree


def _check_brackets(text: str) -> None:
    depth, quote, i = 0, "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
            if depth > MAX_BRACKETS:
                raise ExpressionError(text, i, f"brackets nested deeper than {MAX_BRACKETS}")
        elif ch in ")]":
            depth -= 1
        i += 1


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionError:
    if isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream or 0
        reason = f"unexpected character {text[offset]!r}"
        if text[offset] in "'\"":
            reason = "unterminated string"
        elif text.startswith("/*", offset):
            reason = "unterminated comment"
        return ExpressionError(text, offset, reason)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        token = exc.token
        offset = token.start_pos if token.start_pos is not None else 0
        if token.value == "*" and text[offset - 1:offset] == "/":
            return ExpressionError(text, offset - 1, "unterminated comment")
        return ExpressionError(text, offset, f"unexpected {token.value!r}{_hint(exc)}")
    return ExpressionError(text, len(text), f"unexpected end of expression{_hint(exc)}")


def _hint(exc: UnexpectedInput) -> str:
    expected = sorted({_TERMINAL_TEXT.get(name, name) for name in getattr(exc, "expected", ())
                       if not name.startswith("__")})
    if not expected or len(expected) > 8:
        return ""
    return ", expected " + " or ".join(expected)


def _check_depth(text: str, tree: Tree) -> None:
    stack: list[tuple[Tree, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(text, position(node),
                                  f"expression nested deeper than {MAX_DEPTH}")
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + (child.data != "args")))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def unquote(token: str) -> str:
    # Unknown escapes keep their backslash, so that '\d+' reaches matches() as written.
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), token[1:-1])


def parse_number(token: str) -> int | float:
    if token.isdigit() and len(token) <= 18:
        return int(token)
    return float(token)


def position(node: Tree | Token) -> int:
    """0-based offset of a tree node or token in the source text."""
    if isinstance(node, Token):
        return node.start_pos or 0
    return getattr(node.meta, "start_pos", 0) if not node.meta.empty else 0
