"""A tiny, safe interpreter for the JavaScript subset that integration scripts use.

Rocket.Chat runs `class Script { prepare_outgoing_request({ request }) {...} }` in a JS sandbox;
the simulator cannot run JavaScript, so it interprets a small subset instead. Supported:
`class Script` with methods whose parameter is `{ request }`/`{ request, response }` or a
plain name; statements `const/let/var x = ...`, `return ...`, `if (...) ... else ...`,
assignments (`x = ...`, `a.b = ...`, `a['b'] = ...`) and expression statements (`console.log`);
expressions: string/number/template literals, `true/false/null/undefined`, names, member
access, calls, object/array literals (incl. shorthand and `...spread`), `+ - * /`, comparisons,
`=== !== == !=`, `&& || !`, `?:`, `typeof`. Built-ins: `encodeURIComponent`, `encodeURI`,
`String`, `Number`, `JSON.stringify/parse`, `console.*` (no-ops), and common string/array
methods. Anything else raises `ScriptError` when the integration is saved (stored as
`scriptError`, and every trigger then records a failed delivery instead of guessing).
No Python object is reachable from a script: there is no eval and no attribute access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.rocketchat_server.jsvalues import UNDEFINED


class ScriptError(Exception):
    """The script uses syntax or features outside the supported subset, or failed to run."""


TOKEN = re.compile(
    r"""(?P<ws>\s+|//[^\n]*|/\*.*?\*/)
      |(?P<num>\d+(?:\.\d+)?)
      |(?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      |(?P<tpl>`(?:[^`\\]|\\.)*`)
      |(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
      |(?P<op>\.\.\.|===|!==|==|!=|<=|>=|&&|\|\||\+=|-=|[{}()\[\];,.:?+\-*/!=<>])""",
    re.VERBOSE | re.DOTALL,
)
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unescape(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(int(match.group(1), 16))
        return ESCAPES.get(match.group(2), match.group(2))

    text = re.sub(r"\\(?:u([0-9a-fA-F]{4})|(.))", one, body, flags=re.DOTALL)
    # \uD83D\uDE00 pairs (JSON's ensure_ascii) become one character again.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@dataclass
class Tok:
    kind: str
    value: str


def tokenize(source: str) -> list[Tok]:
    tokens: list[Tok] = []
    position = 0
    while position < len(source):
        match = TOKEN.match(source, position)
        if match is None:
            raise ScriptError(f"unsupported character {source[position]!r} at {position}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Tok(kind, match.group()))
    tokens.append(Tok("eof", ""))
    return tokens


class Parser:
    """Recursive descent over the subset; produces nested tuples (a tiny AST)."""

    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.i = 0

    # -- helpers --------------------------------------------------------------------------

    def peek(self, value: str | None = None, offset: int = 0) -> bool:
        tok = self.tokens[self.i + offset]
        return value is None or (tok.kind in ("op", "name") and tok.value == value)

    def take(self, value: str | None = None, kind: str | None = None) -> Tok:
        tok = self.tokens[self.i]
        if (value is not None and tok.value != value) or (kind is not None and tok.kind != kind):
            raise ScriptError(f"expected {value or kind}, found {tok.value or tok.kind!r}")
        self.i += 1
        return tok

    def accept(self, value: str) -> bool:
        if self.tokens[self.i].kind in ("op", "name") and self.tokens[self.i].value == value:
            self.i += 1
            return True
        return False

    # -- program --------------------------------------------------------------------------

    def program(self) -> dict[str, tuple[Any, ...]]:
        methods: dict[str, tuple[Any, ...]] = {}
        while not self.peek() or self.tokens[self.i].kind != "eof":
            if self.accept(";"):
                continue
            self.take("class")
            if self.take(kind="name").value != "Script":
                raise ScriptError("only `class Script` is supported")
            self.take("{")
            while not self.accept("}"):
                if self.accept(";"):
                    continue
                name = self.take(kind="name").value
                methods[name] = (self.params(), self.block())
        if not methods:
            raise ScriptError("no `class Script` found")
        return methods

    def params(self) -> tuple[str, list[str]]:
        self.take("(")
        if self.accept(")"):
            return ("none", [])
        if self.accept("{"):
            names = [self.take(kind="name").value]
            while self.accept(","):
                names.append(self.take(kind="name").value)
            self.take("}")
            self.take(")")
            return ("destructure", names)
        name = self.take(kind="name").value
        self.take(")")
        return ("plain", [name])

    def block(self) -> list[tuple[Any, ...]]:
        self.take("{")
        body = []
        while not self.accept("}"):
            body.append(self.statement())
        return body

    def statement(self) -> tuple[Any, ...]:
        if self.accept(";"):
            return ("empty",)
        if self.peek("{"):
            return ("block", self.block())
        if self.peek("const") or self.peek("let") or self.peek("var"):
            self.i += 1
            name = self.take(kind="name").value
            value = self.expression() if self.accept("=") else ("lit", UNDEFINED)
            self.accept(";")
            return ("let", name, value)
        if self.accept("return"):
            value = ("lit", UNDEFINED) if self.peek(";") or self.peek("}") else self.expression()
            self.accept(";")
            return ("return", value)
        if self.accept("if"):
            self.take("(")
            test = self.expression()
            self.take(")")
            then = self.statement()
            other = self.statement() if self.accept("else") else ("empty",)
            return ("if", test, then, other)
        expr = self.expression()
        for op in ("=", "+=", "-="):
            if self.accept(op):
                if expr[0] not in ("name", "member"):
                    raise ScriptError("invalid assignment target")
                value = self.expression()
                expr = ("assign", expr, value if op == "=" else ("bin", op[0], expr, value))
                break
        self.accept(";")
        return ("expr", expr)

    # -- expressions ----------------------------------------------------------------------

    def expression(self) -> tuple[Any, ...]:
        test = self.binary(0)
        if self.accept("?"):
            then = self.expression()
            self.take(":")
            return ("cond", test, then, self.expression())
        return test

    LEVELS = (("||",), ("&&",), ("===", "!==", "==", "!="), ("<", ">", "<=", ">="),
              ("+", "-"), ("*", "/"))  # fmt: skip

    def binary(self, level: int) -> tuple[Any, ...]:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tokens[self.i].kind == "op" and self.tokens[self.i].value in self.LEVELS[level]:
            op = self.take().value
            left = ("bin", op, left, self.binary(level + 1))
        return left

    def unary(self) -> tuple[Any, ...]:
        if self.accept("!"):
            return ("not", self.unary())
        if self.accept("-"):
            return ("neg", self.unary())
        if self.accept("typeof"):
            return ("typeof", self.unary())
        return self.postfix(self.primary())

    def postfix(self, expr: tuple[Any, ...]) -> tuple[Any, ...]:
        while True:
            if self.accept("."):
                expr = ("member", expr, ("lit", self.take(kind="name").value))
            elif self.accept("["):
                expr = ("member", expr, self.expression())
                self.take("]")
            elif self.accept("("):
                args = []
                while not self.accept(")"):
                    args.append(self.expression())
                    if not self.peek(")"):
                        self.take(",")
                expr = ("call", expr, args)
            else:
                return expr

    def primary(self) -> tuple[Any, ...]:
        tok = self.take()
        if tok.kind == "num":
            return ("lit", float(tok.value) if "." in tok.value else int(tok.value))
        if tok.kind == "str":
            return ("lit", _unescape(tok.value[1:-1]))
        if tok.kind == "tpl":
            return self.template(tok.value[1:-1])
        if tok.kind == "name":
            constants = {"true": True, "false": False, "null": None, "undefined": UNDEFINED}
            if tok.value in constants:
                return ("lit", constants[tok.value])
            if tok.value in ("function", "new", "class", "this", "while", "for", "await"):
                raise ScriptError(f"`{tok.value}` is not supported by the simulator")
            return ("name", tok.value)
        if tok.value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if tok.value == "{":
            return self.object_literal()
        if tok.value == "[":
            items = []
            while not self.accept("]"):
                items.append(self.expression())
                if not self.peek("]"):
                    self.take(",")
            return ("array", items)
        raise ScriptError(f"unexpected {tok.value or tok.kind!r}")

    def object_literal(self) -> tuple[Any, ...]:
        entries: list[tuple[Any, ...]] = []
        while not self.accept("}"):
            if self.accept("..."):
                entries.append(("spread", self.expression()))
            else:
                key_tok = self.take()
                key = _unescape(key_tok.value[1:-1]) if key_tok.kind == "str" else key_tok.value
                value = self.expression() if self.accept(":") else ("name", key)
                entries.append(("kv", key, value))
            if not self.peek("}"):
                self.take(",")
        return ("object", entries)

    def template(self, raw: str) -> tuple[Any, ...]:
        parts: list[tuple[Any, ...]] = []
        for index, chunk in enumerate(re.split(r"\$\{(.*?)\}", raw, flags=re.DOTALL)):
            if index % 2:
                sub = Parser(chunk)
                parts.append(sub.expression())
            elif chunk:
                parts.append(("lit", _unescape(chunk)))
        return ("template", parts)


def compile_script(source: str) -> dict[str, tuple[Any, ...]]:
    """Parse a script; raises ScriptError on anything outside the subset."""
    return Parser(source).program()


def run(methods: dict[str, tuple[Any, ...]], name: str, argument: dict[str, Any]) -> Any:
    """Call `Script#<name>(argument)`; UNDEFINED when the method does not exist."""
    from tests.rocketchat_server.jsruntime import run_method

    return run_method(methods, name, argument)
