"""Wildcards at volume: LIKE in expressions and the ``*``/``?`` patterns of user limits.

Both must agree with a reference matcher (dynamic programming, obviously right) on short
inputs, and stay linear-ish on pathological ones such as ``*a*a*a*a*b`` against a long run of
``a``: a backtracking matcher goes quadratic or worse there.
"""

from __future__ import annotations

import contextlib
from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from rules.expr import Environment, compile_expression, wildcard
from rules.expr.like import compile_like
from tests.fuzz.budget import bounded, fuzz

patterns = st.text(alphabet="ab*?", max_size=12)
texts = st.text(alphabet="abc", max_size=14)


def reference(pattern: str, text: str) -> bool:
    @cache
    def at(p: int, t: int) -> bool:
        if p == len(pattern):
            return t == len(text)
        if pattern[p] == "*":
            return at(p + 1, t) or (t < len(text) and at(p, t + 1))
        return t < len(text) and pattern[p] in ("?", text[t]) and at(p + 1, t + 1)

    return at(0, 0)


@fuzz(400)
@given(patterns, texts)
def test_like_agrees_with_the_reference(pattern: str, text: str) -> None:
    assert compile_like(pattern)(text) == reference(pattern, text)


@fuzz(400)
@given(patterns, texts)
def test_user_limit_patterns_agree_with_the_reference(pattern: str, text: str) -> None:
    assert wildcard.match(pattern, text) == reference(pattern, text)


units = st.sampled_from(["a", "aa", "a?", "?a", "ab"])
ends = st.sampled_from(["b", "?b", "c", "", "*b"])


def star_pattern(unit: str, repeat: int, end: str) -> str:
    return "*" + "*".join([unit] * repeat) + "*" + end


pathological = st.builds(star_pattern, units, st.integers(1, 40), ends)


@fuzz(100)
@given(units, st.integers(1, 40), ends, st.integers(10_000, 200_000))
def test_pathological_like_patterns_stay_bounded(unit: str, repeat: int, end: str,
                                                 size: int) -> None:
    pattern, text = star_pattern(unit, repeat, end), "a" * size
    expression = compile_expression(f"message LIKE '{pattern}'")
    env = Environment(fields={"message": text, "tags": {}})
    with bounded(cpu_seconds=1.0):
        result = expression.evaluate(env)
    # a run of 'a' holds any number of the units unless they need a 'b'; the end must be empty
    assert result == ("b" not in unit and end == "")


@fuzz(100)
@given(pathological)
def test_pathological_limit_patterns_stay_bounded(pattern: str) -> None:
    text = "a" * 512  # entity names and webhook paths are capped at 512 characters
    with bounded(cpu_seconds=1.0):
        wildcard.match(pattern, text)


@fuzz(100)
@given(st.text(max_size=40), st.integers(1_000, 100_000))
def test_matches_regex_against_long_values_is_bounded(regex: str, size: int) -> None:
    """``matches()`` with any pattern (RE2 for all but single-choice ones) never blows up."""
    from rules.expr import EvaluationError, ExpressionError

    quoted = regex.replace("\\", "\\\\").replace("'", "\\'")
    try:
        expression = compile_expression(f"matches('{quoted}', message)")
    except ExpressionError:
        return
    env = Environment(fields={"message": "a" * size + "!", "tags": {}})
    with bounded(cpu_seconds=1.0), contextlib.suppress(EvaluationError):
        expression.evaluate(env)
