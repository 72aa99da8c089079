"""``Expression.constraints``: what a filter demands of plain text fields, for indexing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.expr import Environment, compile_expression

SEED_XML_FILTER = ("type = 'webhook' && source = 'slack' || source = 'telegram' "
                   "&& entity = 'slack' || entity = 'telegram'")


@pytest.mark.parametrize(("text", "expected"), [
    ("tags.bot != 'true' AND source = 'rocket.chat'", {"source": {"rocket.chat"}}),
    ("source == 'a'", {"source": {"a"}}),
    ("'a' = source", {"source": {"a"}}),
    ("type = 'webhook' AND source IN ('slack', 'telegram')",
     {"type": {"webhook"}, "source": {"slack", "telegram"}}),
    ("source = 'x' OR source IN ['y', 'z']", {"source": {"x", "y", "z"}}),
    ("(type = 'a' AND source = 's') OR (type = 'b' AND entity = 'e')", {"type": {"a", "b"}}),
    ("source = 'a' AND source = 'b'", {"source": set()}),  # can never be true
    ("source = 'a' AND (source = 'a' OR source = 'b')", {"source": {"a"}}),
    (SEED_XML_FILTER, {}),  # its last branch does not constrain type or source
    ("source != 'a'", {}),
    ("NOT source = 'a'", {}),
    ("source = 1", {}),
    ("source IN ('a', tags.x)", {}),
    ("source LIKE 'a*'", {}),
    ("now = 'x'", {}),
    ("tags.source = 'a'", {}),
    ("source = 'a' ? true : false", {}),
    ("true", {}),
])
def test_constraints(text: str, expected: dict[str, set[str]]) -> None:
    found = compile_expression(text).constraints
    assert {k: set(v) for k, v in found.items()} == expected


names = st.sampled_from(["a", "b", "c"])
atoms = st.one_of(
    names.map(lambda v: f"source = '{v}'"),
    st.lists(names, max_size=3).map(lambda vs: "source IN (" + ", ".join(f"'{v}'" for v in vs)
                                    + ")"),
    names.map(lambda v: f"type = '{v}'"),
    names.map(lambda v: f"source != '{v}'"),
    st.just("tags.x = 'a'"),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    joined = st.tuples(inner, st.sampled_from(["AND", "OR"]), inner)
    return joined.map(lambda t: f"({t[0]} {t[1]} {t[2]})")


filters = st.recursive(atoms, _combine, max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(filters, names, names)
def test_constraints_never_exclude_a_command_that_passes(text: str, source: str,
                                                         kind: str) -> None:
    expr = compile_expression(text)
    fields = {"source": source, "type": kind, "tags": {"x": "a"}}
    if expr.test(Environment(fields=fields)):
        for name, allowed in expr.constraints.items():
            assert fields[name] in allowed
