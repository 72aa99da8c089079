"""Parse tree to Python closures: each expression is compiled once, evaluated many times.

A node compiles to a :class:`Node`: a function of the :class:`Environment`, or a constant
when all its inputs are literals (folded at load time, so ``1 / 0`` is a load-time error).
Hot shapes (a field compared with a literal, ``tags.x``, two-operand AND/OR) get their own
closures to stay near a microsecond per comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lark import Token, Tree

from rules.command import utcnow
from rules.expr.access import index, member
from rules.expr.constraints import constraints
from rules.expr.errors import UNKNOWN, EvaluationError, ExpressionError, LiteralArgumentError
from rules.expr.functions import lookup
from rules.expr.operators import HANDLERS as OPERATOR_HANDLERS
from rules.expr.parser import parse, parse_number, position, unquote
from rules.expr.types import Environment, Fn, Node, constant
from rules.expr.values import MAX_LIST, check_list, truthy


class Expression:
    """A compiled expression: ``evaluate(env)`` gives its value, ``test(env)`` its truth.

    ``fields``: the top-level fields it reads. ``constraints``: for each plain field it
    demands, the texts that field must equal for the expression to be true (see
    :mod:`rules.expr.constraints`); for indexing rules by ``type`` and ``source``.
    """

    __slots__ = ("text", "fields", "constraints", "_fn", "_boolean")

    def __init__(self, text: str, fn: Fn, fields: frozenset[str],
                 constraints: Mapping[str, frozenset[str]] | None = None,
                 boolean: bool = False) -> None:
        self.text = text
        self.fields = fields
        self.constraints: Mapping[str, frozenset[str]] = constraints or {}
        self._fn = fn
        self._boolean = boolean  # the value is always a bool: test() need not convert it

    def evaluate(self, env: Environment) -> Any:
        try:
            return self._fn(env)
        except EvaluationError as exc:
            if exc.text is None:
                raise EvaluationError(exc.reason, self.text) from None
            raise
        except Exception as exc:  # a corner we did not foresee: still a rule error, not a crash
            raise EvaluationError(f"internal error: {type(exc).__name__}: {exc}",
                                  self.text) from exc

    def test(self, env: Environment) -> bool:
        value = self.evaluate(env)
        return value if self._boolean else truthy(value)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def compile_expression(text: str) -> Expression:
    """Compile ``text``; :class:`ExpressionError` for a syntax error, an unknown function,
    a wrong number of arguments or a literal argument that can never work.

    Expressions are immutable, so the same text compiles once and is shared."""
    if not isinstance(text, str):
        raise ExpressionError(str(text), 0, "expression must be text")
    return _compile(text)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Expression:
    compiler = _Compiler(text)
    tree = parse(text)
    node = compiler.compile(tree)
    return Expression(text, node.fn, frozenset(compiler.fields), constraints(tree),
                      node.boolean)


@dataclass(slots=True)
class _Compiler:
    text: str
    fields: set[str] = field(default_factory=set)

    def error(self, node: Tree | Token, reason: str) -> ExpressionError:
        return ExpressionError(self.text, position(node), reason)

    def compile(self, node: Tree | Token) -> Node:
        if not isinstance(node, Tree):  # the grammar makes every operand a tree
            raise self.error(node, f"unexpected {node!s}")
        handler = _HANDLERS.get(str(node.data))
        if handler is None:
            raise self.error(node, f"unsupported syntax {node.data!s}")
        return handler(self, node)

    def fold(self, node: Tree, result: Fn, parts: list[Node], boolean: bool = False) -> Node:
        """``result`` as a constant when every part is one, evaluated once, now."""
        if not all(p.const for p in parts):
            return Node(result, boolean=boolean)
        try:
            return constant(result(Environment(fields={})))
        except EvaluationError as exc:
            raise self.error(node, exc.reason) from None

    # -- literals and names ------------------------------------------------------------

    def string(self, node: Tree) -> Node:
        return constant(unquote(str(node.children[0])))

    def number(self, node: Tree) -> Node:
        return constant(parse_number(str(node.children[0])))

    def true(self, node: Tree) -> Node:
        return constant(True)

    def false(self, node: Tree) -> Node:
        return constant(False)

    def null(self, node: Tree) -> Node:
        return constant(None)

    def list_(self, node: Tree) -> Node:
        items = self.arguments(node.children[0] if node.children else None)
        if len(items) > MAX_LIST:
            raise self.error(node, f"list longer than {MAX_LIST} elements")
        if all(i.const for i in items):
            return constant(tuple(i.value for i in items))
        fns = tuple(i.fn for i in items)
        return Node(lambda env: check_list(tuple(f(env) for f in fns)))

    def arguments(self, args: Tree | None) -> list[Node]:
        return [] if args is None else [self.compile(c) for c in args.children]

    def field(self, node: Tree) -> Node:
        name = str(node.children[0])
        self.fields.add(name)
        if name == "now":
            return Node(_now)
        return Node(lambda env: env.fields.get(name))

    def member(self, node: Tree) -> Node:
        base, name = node.children[0], str(node.children[1])
        if isinstance(base, Tree) and base.data == "field" and str(base.children[0]) != "now":
            top = str(base.children[0])
            self.fields.add(top)
            return Node(_field_member(top, name))
        obj = self.compile(base).fn
        return Node(lambda env: member(obj(env), name))

    def index(self, node: Tree) -> Node:
        obj, key = self.compile(node.children[0]), self.compile(node.children[1])
        if key.const and isinstance(key.value, str):
            return self._member_of(obj, key.value)
        obj_fn, key_fn = obj.fn, key.fn
        return Node(lambda env: index(obj_fn(env), key_fn(env)))

    def _member_of(self, obj: Node, name: str) -> Node:
        obj_fn = obj.fn
        return Node(lambda env: index(obj_fn(env), name))

    # -- calls ---------------------------------------------------------------------------

    def call(self, node: Tree) -> Node:
        name_token = node.children[0]
        name = str(name_token)
        function = lookup(name)
        if function is None:
            raise self.error(name_token, f"unknown function {name!r}")
        args = self.arguments(node.children[1] if len(node.children) > 1 else None)
        self._check_arity(name_token, function.name, function.min_args, function.max_args,
                          len(args))
        if function.check is not None:
            self._check_literals(node, function.check, args)
        return Node(_call(function.impl, tuple(a.fn for a in args)))

    def _check_arity(self, token: Tree | Token, name: str, low: int, high: int | None,
                     got: int) -> None:
        if low <= got and (high is None or got <= high):
            return
        if high is None:
            wanted = f"at least {low}"
        else:
            wanted = str(low) if low == high else f"{low} to {high}"
        plural = "" if wanted.endswith("1") and not wanted.endswith("to 1") else "s"
        raise self.error(token, f"{name}() takes {wanted} argument{plural}, not {got}")

    def _check_literals(self, node: Tree, check: Callable[..., None], args: list[Node]) -> None:
        values = tuple(a.value if a.const else UNKNOWN for a in args)
        try:
            check(values)
        except LiteralArgumentError as exc:
            arg_trees = node.children[1].children
            raise self.error(arg_trees[exc.index], exc.reason) from None


def _now(env: Environment) -> Any:
    found = env.fields.get("now")
    if found is not None:
        return found
    return env.now or utcnow()


def _field_member(top: str, name: str) -> Fn:
    lower = name.lower()

    def read(env: Environment) -> Any:
        value = env.fields.get(top)
        if type(value) is dict:
            found = value.get(name)
            if found is None and lower != name:
                found = value.get(lower)
            return found
        return member(value, name)

    return read


def _call(impl: Callable[..., Any], args: tuple[Fn, ...]) -> Fn:
    if not args:
        return lambda env: impl(env)
    if len(args) == 1:
        (a,) = args
        return lambda env: impl(env, a(env))
    if len(args) == 2:
        a, b = args
        return lambda env: impl(env, a(env), b(env))
    return lambda env: impl(env, *[f(env) for f in args])


_HANDLERS: dict[str, Callable[[_Compiler, Tree], Node]] = {
    "string": _Compiler.string, "number": _Compiler.number, "true": _Compiler.true,
    "false": _Compiler.false, "null": _Compiler.null, "list": _Compiler.list_,
    "field": _Compiler.field, "member": _Compiler.member, "index": _Compiler.index,
    "call": _Compiler.call,
    **OPERATOR_HANDLERS,
}
