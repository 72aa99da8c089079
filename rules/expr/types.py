"""The types the stages of the expression compiler share: what an expression sees and what a
parse-tree node compiles to.

They live here, below :mod:`rules.expr.compiler`, :mod:`rules.expr.operators` and the function
modules, so that each of those imports this module and none of them imports another's types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lark import Token, Tree


@dataclass(slots=True)
class Environment:
    """What an expression can see: command and window fields, the clock, engine callbacks."""

    fields: Mapping[str, Any]
    now: datetime | None = None
    count: Callable[[], int] | None = None
    db_message_count: Callable[..., int] | None = None
    db_message_last: Callable[..., Mapping[str, Any] | None] | None = None
    rule_open: Callable[[str], bool] | None = None


Fn = Callable[[Environment], Any]


@dataclass(frozen=True, slots=True)
class Node:
    """A compiled node: a function of the environment, or a constant (``const``, ``value``)."""

    fn: Fn
    const: bool = False
    value: Any = None
    boolean: bool = False  # fn always returns a bool: logic can skip truthy()


def constant(value: Any) -> Node:
    return Node(lambda env: value, True, value, isinstance(value, bool))


class NodeCompiler(Protocol):
    """What an operator's compile handler needs of the compiler: compile a child, fold."""

    def compile(self, node: Tree | Token) -> Node: ...

    def fold(self, node: Tree, result: Fn, parts: list[Node], boolean: bool = False) -> Node:
        """``result`` as a constant when every part is one; a node that calls it otherwise."""
        ...
