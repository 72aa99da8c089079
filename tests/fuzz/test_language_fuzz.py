"""The rule language and the template renderer under deep, huge and random input.

What tests/expr already covers (random text only raises ExpressionError; valid expressions only
raise EvaluationError) is not repeated; this adds what hostile rule files and messages do:
nesting thousands deep in every bracket and operator form, huge flat chains, huge tag maps,
templates with thousands of placeholders and deep ``@if`` blocks, all within a CPU and
memory budget, and templates rendered against hostile field values.
"""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from rules.expr import Environment, EvaluationError, ExpressionError, compile_expression
from rules.expr.template import compile_template
from tests.fuzz.budget import bounded, fuzz

WRAPPERS = [("(", ")"), ("NOT ", ""), ("!", ""), ("-", ""), ("[", "]"), ("upper(", ")"),
            ("tags[", "]"), ("true ? ", " : 1"), ("${", "}"), ("'", "'")]


def compiles_or_refuses(text: str, cpu_seconds: float = 2.0) -> None:
    with bounded(cpu_seconds=cpu_seconds, megabytes=128):
        try:
            compile_expression(text)
        except ExpressionError as exc:
            assert str(exc)


@fuzz(60)
@given(st.lists(st.sampled_from(WRAPPERS), min_size=1, max_size=6), st.integers(1, 20_000))
def test_deep_nesting_of_any_form(forms: list[tuple[str, str]], depth: int) -> None:
    opening = "".join(f[0] for f in forms) * (depth // len(forms) + 1)
    closing = "".join(f[1] for f in reversed(forms)) * (depth // len(forms) + 1)
    compiles_or_refuses((opening + "1" + closing)[:40_000])


@fuzz(12)
@given(st.sampled_from([" AND ", " OR ", " + ", " * ", " || ", " && ", ", "]),
       st.integers(1, 2_500))
def test_huge_flat_chains(operator: str, count: int) -> None:
    # up to the 32 KB limit: about a second of parsing under tracemalloc; linear in length
    compiles_or_refuses(operator.join(["tags.x = 'y'"] * count), cpu_seconds=6.0)


@fuzz(100)
@given(st.integers(0, 50_000), st.integers(0, 2_000))
def test_huge_tag_maps_and_values(tags: int, size: int) -> None:
    expression = compile_expression("tags.k1 = 'v' OR message LIKE '*x*' OR "
                                    "contains(message, 'z')")
    env_tags = {f"k{i}": "v" * (size // 100 + 1) for i in range(tags)}
    env = Environment(fields={"message": "y" * size * 50, "tags": env_tags})
    with bounded(cpu_seconds=2.0, megabytes=128), contextlib.suppress(EvaluationError):
        expression.evaluate(env)


@fuzz(50)
@given(st.integers(1, 5_000), st.integers(0, 200), st.text(max_size=30))
def test_templates_with_many_placeholders_and_deep_blocks(holders: int, depth: int,
                                                          value: str) -> None:
    text = ("@if{true}" * depth + "${message}${tags.a}" * holders + "@end{}" * depth)
    with bounded(cpu_seconds=3.0, megabytes=128):
        try:
            template = compile_template(text)
        except ExpressionError as exc:
            assert str(exc)
            return
        rendered = template.render(Environment(fields={"message": value, "tags": {"a": value}}))
    assert len(rendered.text) <= 1024 * 1024 + 100


@fuzz(300)
@given(st.text(max_size=200), st.dictionaries(st.text(max_size=10), st.text(max_size=50),
                                              max_size=20))
def test_templates_render_hostile_values_verbatim(message: str, tags: dict[str, str]) -> None:
    """Values are data, never template or expression text: '${...}' in a message stays."""
    template = compile_template("[${message}] ${tags}")
    with bounded():
        rendered = template.render(Environment(fields={"message": message, "tags": tags}))
    assert rendered.text.startswith(f"[{message}] ")
