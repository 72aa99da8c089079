"""What a filter demands of plain fields, read from its parse tree, for rule indexing.

``constraints(tree)`` maps a field name to the texts it must equal for the expression to be
true: ``type = 'webhook' AND source IN ('slack', 'telegram')`` gives
``{'type': {'webhook'}, 'source': {'slack', 'telegram'}}``. Only ``field = 'text'``,
``field == 'text'`` and ``field IN ('text', ...)`` constrain; AND intersects, OR keeps a field
only when every branch constrains it (and unites the texts); anything else constrains nothing.
So the engine can skip a rule whose constraint a command's text field does not meet, and
never skips one that could be true. (A field holding a non-text value, such as a number,
may equal a text differently; command fields ``entity``, ``type`` and ``source`` are text.)
"""

from __future__ import annotations

from lark import Token, Tree

from rules.expr.parser import unquote

Constraints = dict[str, frozenset[str]]


def constraints(tree: Tree | Token) -> Constraints:
    if not isinstance(tree, Tree):
        return {}
    kind = str(tree.data)
    if kind == "compare":
        return _equality(tree)
    if kind == "in_":
        return _membership(tree)
    if kind == "and_expr":
        return _all_of([constraints(c) for c in tree.children])
    if kind == "or_expr":
        return _any_of([constraints(c) for c in tree.children])
    return {}


def _field(node: Tree | Token) -> str | None:
    if isinstance(node, Tree) and node.data == "field" and str(node.children[0]) != "now":
        return str(node.children[0])
    return None


def _text(node: Tree | Token) -> str | None:
    if isinstance(node, Tree) and node.data == "string":
        return unquote(str(node.children[0]))
    return None


def _equality(tree: Tree) -> Constraints:
    left, op, right = tree.children
    if str(op) not in ("=", "=="):
        return {}
    for field_node, value_node in ((left, right), (right, left)):
        name, value = _field(field_node), _text(value_node)
        if name is not None and value is not None:
            return {name: frozenset({value})}
    return {}


def _membership(tree: Tree) -> Constraints:
    name = _field(tree.children[0])
    container = tree.children[-1]
    if name is None or not isinstance(container, Tree) or container.data != "list":
        return {}
    items = container.children[0].children if container.children else []
    texts = [_text(item) for item in items]
    if any(t is None for t in texts):
        return {}
    return {name: frozenset(t for t in texts if t is not None)}


def _all_of(parts: list[Constraints]) -> Constraints:
    merged: Constraints = {}
    for part in parts:
        for name, allowed in part.items():
            merged[name] = merged[name] & allowed if name in merged else allowed
    return merged


def _any_of(parts: list[Constraints]) -> Constraints:
    if not parts:
        return {}
    shared = set(parts[0]).intersection(*parts[1:])
    return {name: frozenset().union(*(p[name] for p in parts)) for name in shared}
