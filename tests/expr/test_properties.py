"""Property tests: no input makes compiling or evaluating raise anything but our errors."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.expr import Environment, EvaluationError, ExpressionError, compile_expression
from rules.expr.functions import FUNCTIONS
from rules.expr.template import compile_template

# EXPR_EXAMPLES=5000 for a deeper search than the default run affords.
SETTINGS = settings(max_examples=int(os.environ.get("EXPR_EXAMPLES", "200")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

TOKENS = ["a", "tags", ".", "x", "[", "]", "(", ")", "'s'", '"d"', "'", '"', "1", "2.5", "-",
          "+", "*", "/", "%", "=", "==", "!=", "<>", "<", "<=", ">", ">=", "AND", "&&", "OR",
          "||", "NOT", "!", "LIKE", "IN", "?", ":", ",", "true", "null", "upper", "count",
          "matches", "date_format", "/*", "*/", "\\", "${", "}", "@if{", "@else{}", "@end{}",
          "@else if{", "$${", "\n"]

token_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
glued_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)
any_text = st.one_of(st.text(max_size=80), token_soup, glued_soup,
                     st.text(st.characters(categories=["Cs", "Ll", "Po"]), max_size=20))


@SETTINGS
@given(any_text)
def test_compile_expression_raises_only_expression_error(text: str) -> None:
    try:
        compile_expression(text)
    except ExpressionError as exc:
        assert exc.column >= 1 and exc.line >= 1
        assert exc.reason


@SETTINGS
@given(any_text)
def test_compile_template_raises_only_expression_error(text: str) -> None:
    try:
        compile_template(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text)


@SETTINGS
@given(st.text(max_size=200).filter(lambda s: "$" not in s and "@" not in s))
def test_text_without_tags_renders_unchanged(text: str) -> None:
    assert compile_template(text).render(Environment(fields={})).text == text


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


FIELDS = ["entity", "message", "severity", "count_field", "when", "items", "tags", "flag"]

leaves = st.one_of(
    st.text(max_size=6).map(quote),
    st.integers(-1000, 1000).map(str),
    st.floats(0, 1e6, allow_nan=False).map(lambda f: repr(f) if "e" not in repr(f) else "1.5"),
    st.sampled_from(["true", "false", "null", "[]", "['a', 1]", "now"]),
    st.sampled_from(FIELDS),
    st.sampled_from(["tags.a", "tags['b-c']", "when.millis", "items[0]", "tags.missing"]),
)

BINARY = ["=", "!=", "<", "<=", ">", ">=", "AND", "OR", "+", "-", "*", "/", "%", "LIKE",
          "NOT LIKE", "IN", "NOT IN"]


def _call(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def build(name: str) -> st.SearchStrategy[str]:
        spec = FUNCTIONS[name]
        high = spec.max_args if spec.max_args is not None else spec.min_args + 2
        return st.lists(children, min_size=spec.min_args, max_size=high).map(
            lambda args: f"{spec.name}({', '.join(args)})")
    return st.sampled_from(sorted(FUNCTIONS)).flatmap(build)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"NOT ({c})"),
        children.map(lambda c: f"-({c})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        children.map(lambda c: f"({c}).x"),
        st.tuples(children, children).map(lambda t: f"({t[0]})[{t[1]}]"),
        _call(children),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)

values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=10),
    st.sampled_from(["503", "1.5", "", "false", "2026-01-01T00:00:00Z", "a\ud800b"]),
    st.datetimes(timezones=st.just(UTC)),
    st.lists(st.integers(0, 5), max_size=3),
)


def environment(data: st.DataObject) -> Environment:
    fields: dict[str, Any] = {name: data.draw(values) for name in FIELDS}
    fields["tags"] = data.draw(st.dictionaries(st.sampled_from(["a", "b-c", "x"]),
                                               st.text(max_size=5), max_size=3))
    return Environment(
        fields=fields, now=datetime(2026, 1, 1, tzinfo=UTC), count=lambda: 3,
        db_message_count=lambda *args: 1, db_message_last=lambda *args: {"message": "m"},
        rule_open=lambda name: name == "r")


@SETTINGS
@given(expressions, st.data())
def test_valid_expressions_raise_only_evaluation_error(text: str, data: st.DataObject) -> None:
    try:
        expr = compile_expression(text)
    except ExpressionError:
        return  # a constant part that can never work (1 / 0), a bad literal pattern
    try:
        expr.evaluate(environment(data))
    except EvaluationError as exc:
        # Every failure is one the language explains, not the safety net's catch-all.
        assert not exc.reason.startswith("internal error"), exc.reason


@SETTINGS
@given(expressions, st.data())
def test_templates_of_valid_expressions_always_render(text: str, data: st.DataObject) -> None:
    try:
        template = compile_template(f"<${{{text}}}>@if{{{text}}}yes@else{{}}no@end{{}}")
    except ExpressionError:
        return
    result = template.render(environment(data))
    assert result.text.startswith("<")
    assert result.text.endswith(("yes", "no"))


@SETTINGS
@given(values, values)
def test_equality_is_symmetric(left: Any, right: Any) -> None:
    environment = Environment(fields={"l": left, "r": right})
    assert compile_expression("l = r").evaluate(environment) == \
        compile_expression("r = l").evaluate(environment)
    assert compile_expression("l != r").evaluate(environment) != \
        compile_expression("l = r").evaluate(environment)
