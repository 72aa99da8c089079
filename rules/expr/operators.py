"""Compiling the operators: logic, comparison, LIKE, IN, arithmetic and ``?:``.

Semantics of each value pairing live in :mod:`rules.expr.values`; this module only builds
closures, with shortcuts for the shapes rules use most (a value against a literal).
``x NOT LIKE p`` and ``x NOT IN l`` are exactly ``NOT (x LIKE p)`` and ``NOT (x IN l)``, so a
missing tag is ``NOT LIKE`` anything, just as ``null != 'x'`` is true. ``LIKE`` is
case-sensitive, as ``=`` is; ``*`` matches any run of characters and ``?`` one character.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lark import Token, Tree

from rules.expr.errors import EvaluationError
from rules.expr.like import compile_like
from rules.expr.types import Environment, Fn, Node, NodeCompiler
from rules.expr.values import (
    add,
    describe,
    divide,
    equals,
    modulo,
    multiply,
    negate,
    number,
    order,
    subtract,
    text,
    truthy,
)


def _compile_all(c: NodeCompiler, node: Tree) -> list[Node]:
    return [c.compile(child) for child in node.children if isinstance(child, Tree)]


def truth(part: Node) -> Fn:
    """A function giving the truth of ``part``: its own function when that gives a bool."""
    if part.boolean:
        return part.fn
    fn = part.fn
    return lambda env: truthy(fn(env))


def ternary(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    cond, yes, no = truth(parts[0]), parts[1].fn, parts[2].fn
    return c.fold(node, lambda env: yes(env) if cond(env) else no(env), parts,
                  parts[1].boolean and parts[2].boolean)


def or_expr(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    fns = tuple(truth(p) for p in parts)
    if len(fns) == 2:
        a, b = fns
        return c.fold(node, lambda env: a(env) or b(env), parts, True)
    return c.fold(node, lambda env: any(f(env) for f in fns), parts, True)


def and_expr(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    fns = tuple(truth(p) for p in parts)
    if len(fns) == 2:
        a, b = fns
        return c.fold(node, lambda env: a(env) and b(env), parts, True)
    return c.fold(node, lambda env: all(f(env) for f in fns), parts, True)


def not_(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    fn = truth(parts[0])
    return c.fold(node, lambda env: not fn(env), parts, True)


def compare(c: NodeCompiler, node: Tree) -> Node:
    left, op_token, right = node.children
    parts = [c.compile(left), c.compile(right)]
    op = str(op_token)
    if op in ("=", "==", "!=", "<>"):
        fn = _equality(parts[0], parts[1])
        if op in ("!=", "<>"):
            eq = fn
            fn = lambda env: not eq(env)  # noqa: E731
    else:
        fn = _ordering(op, parts[0], parts[1])
    return c.fold(node, fn, parts, True)


def _equality(left: Node, right: Node) -> Fn:
    a, b = left.fn, right.fn
    if right.const and type(right.value) in (str, int, float):
        literal, kind = right.value, type(right.value)

        def eq_literal(env: Environment) -> bool:
            value = a(env)
            return value == literal if type(value) is kind else equals(value, literal)

        return eq_literal
    return lambda env: equals(a(env), b(env))


_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda r: r < 0, "<=": lambda r: r <= 0, ">": lambda r: r > 0, ">=": lambda r: r >= 0,
}


def _ordering(op: str, left: Node, right: Node) -> Fn:
    test = _ORDER_TESTS[op]
    a, b = left.fn, right.fn
    if right.const and type(right.value) in (int, float):
        literal = right.value

        def ordered_number(env: Environment) -> bool:
            original = value = a(env)
            kind = type(value)
            if kind is str:
                value = number(value)
                kind = type(value)
            if kind is int or kind is float:
                return test((value > literal) - (value < literal))
            result = order(original, literal)  # null, or the slow path that explains a mismatch
            return result is not None and test(result)

        return ordered_number

    def ordered(env: Environment) -> bool:
        result = order(a(env), b(env))
        return result is not None and test(result)

    return ordered


def like(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    return c.fold(node, _like(parts[0], parts[1]), parts, True)


def not_like(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    fn = _like(parts[0], parts[1])
    return c.fold(node, lambda env: not fn(env), parts, True)


def _like(subject: Node, pattern: Node) -> Fn:
    a, p = subject.fn, pattern.fn
    if pattern.const and isinstance(pattern.value, str):
        matcher = compile_like(pattern.value)

        def like_literal(env: Environment) -> bool:
            value = a(env)
            if type(value) is str:
                return matcher(value)
            return value is not None and matcher(text(value))

        return like_literal

    def like_any(env: Environment) -> bool:
        value, pat = a(env), p(env)
        return value is not None and pat is not None and compile_like(text(pat))(text(value))

    return like_any


def in_(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    return c.fold(node, _in(parts[0], parts[1]), parts, True)


def not_in(c: NodeCompiler, node: Tree) -> Node:
    parts = _compile_all(c, node)
    fn = _in(parts[0], parts[1])
    return c.fold(node, lambda env: not fn(env), parts, True)


def _in(subject: Node, container: Node) -> Fn:
    a, b = subject.fn, container.fn
    if container.const and isinstance(container.value, tuple) and container.value and all(
            type(v) is str for v in container.value):
        choices = frozenset(container.value)
        literal = container.value

        def in_texts(env: Environment) -> bool:
            value = a(env)
            return value in choices if type(value) is str else member_of(value, literal)

        return in_texts
    return lambda env: member_of(a(env), b(env))


def member_of(value: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, list | tuple):
        return any(equals(value, item) for item in container)
    if isinstance(container, Mapping):
        return value is not None and text(value) in container
    raise EvaluationError(f"IN needs a list, not {describe(container)}")


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add, "-": subtract, "*": multiply, "/": divide,
    "%": modulo,
}


def arithmetic(c: NodeCompiler, node: Tree) -> Node:
    """``a + b - c``: the grammar gives operands and operator tokens in turn, left to right."""
    parts = _compile_all(c, node)
    ops = [_ARITHMETIC[str(t)] for t in node.children if isinstance(t, Token)]
    if len(parts) == 2:
        return c.fold(node, _binary(ops[0], parts[0].fn, parts[1].fn), parts)
    return c.fold(node, _chain(parts[0].fn, tuple(zip(ops, (p.fn for p in parts[1:]),
                                                       strict=True))), parts)


def _binary(op: Callable[[Any, Any], Any], a: Fn, b: Fn) -> Fn:
    return lambda env: op(a(env), b(env))


def _chain(first: Fn, rest: tuple[tuple[Callable[[Any, Any], Any], Fn], ...]) -> Fn:
    # A loop, not nested closures: `1 + 1 + ... + 1` must not grow the call stack.
    def chained(env: Environment) -> Any:
        value = first(env)
        for op, operand in rest:
            value = op(value, operand(env))
        return value

    return chained


def sign(c: NodeCompiler, node: Tree) -> Node:
    op_token, operand = node.children
    parts = [c.compile(operand)]
    fn = parts[0].fn
    if str(op_token) == "-":
        return c.fold(node, lambda env: negate(fn(env)), parts)
    return c.fold(node, lambda env: negate(negate(fn(env))), parts)


HANDLERS: dict[str, Callable[[NodeCompiler, Tree], Node]] = {
    "ternary": ternary, "or_expr": or_expr, "and_expr": and_expr, "not_": not_,
    "compare": compare, "like": like, "not_like": not_like, "in_": in_, "not_in": not_in,
    "sum": arithmetic, "product": arithmetic, "sign": sign,
}
