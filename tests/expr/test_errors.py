"""Load-time errors point at the column; limits are errors, never crashes."""

from __future__ import annotations

import pytest

from rules.expr import EvaluationError, ExpressionError, compile_expression
from tests.expr.helpers import ev


@pytest.mark.parametrize(("text", "reason", "column"), [
    ("source = ", "unexpected end of expression", 10),
    ("source == = 'x'", "unexpected '='", 11),
    ("a b", "unexpected 'b'", 3),
    ("tags.", "unexpected end of expression", 6),
    ("(a = 1", "unexpected end of expression", 7),
    ("a = 1)", "unexpected ')'", 6),
    ("message LIKE", "unexpected end of expression", 13),
    ("a = 'open", "unterminated string", 5),
    ('a = "open', "unterminated string", 5),
    ("a = 1 /* open", "unterminated comment", 7),
    ("a = #", "unexpected character '#'", 5),
    ("a = 1 = 2", "unexpected '='", 7),  # comparisons do not chain
    ("a ? b", "unexpected end of expression", 6),
    ("IN ('a')", "unknown function 'IN'", 1),  # a keyword where a name must be is a name
    ("a = 1 AND", "unexpected end of expression", 10),
    ("", "empty expression", 1),
    ("   ", "empty expression", 1),
    ("tags.bot != 'true' AND foo(source)", "unknown function 'foo'", 24),
])
def test_syntax_errors_name_the_column(text: str, reason: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    error = info.value
    assert reason in error.reason
    assert error.column == column
    assert error.text == text
    assert str(error) == f"{error.reason} at column {column} in: {text}"


def test_message_format_from_the_interface() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("source = foo(1)")
    assert str(info.value) == "unknown function 'foo' at column 10 in: source = foo(1)"


def test_multi_line_expression_names_the_line() -> None:
    text = "source = 'x'\n  AND nofn(1)"
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert (info.value.line, info.value.column) == (2, 7)
    assert "at line 2, column 7" in str(info.value)


def test_hint_lists_what_was_expected() -> None:
    with pytest.raises(ExpressionError, match="expected"):
        compile_expression("upper(message")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    deep = "NOT " * 200 + "true"
    with pytest.raises(ExpressionError, match="nested deeper than 64"):
        compile_expression(deep)
    calls = "upper(" * 100 + "'x'" + ")" * 100
    with pytest.raises(ExpressionError, match="nested deeper than 64"):
        compile_expression(calls)
    minus = "-" * 5000 + "1"
    with pytest.raises(ExpressionError, match="nested deeper than 64"):
        compile_expression(minus)


def test_parentheses_and_flat_chains_are_not_nesting() -> None:
    assert ev("(" * 200 + "1" + ")" * 200) == 1
    many = " OR ".join(f"entity = 'e{i}'" for i in range(500))
    assert ev(many, entity="e499") is True
    assert ev(" + ".join(["1"] * 1000)) == 1000


def test_moderate_nesting_is_fine() -> None:
    assert ev("upper(" * 30 + "'x'" + ")" * 30) == "X"


def test_too_long_expression() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        compile_expression("1 + " * 10_000 + "1")


@pytest.mark.parametrize("text", ["(" * 5000 + "1" + ")" * 5000, "[" * 300 + "]" * 300])
def test_deep_brackets_fail_before_parsing(text: str) -> None:
    with pytest.raises(ExpressionError, match="brackets nested deeper than 256") as info:
        compile_expression(text)
    assert info.value.column == 257


def test_brackets_in_strings_do_not_count() -> None:
    assert ev("'" + "(" * 300 + "' + \"[\\\"\"") == "(" * 300 + '["'



def test_not_text() -> None:
    with pytest.raises(ExpressionError, match="must be text"):
        compile_expression(42)  # type: ignore[arg-type]


def test_text_produced_is_bounded() -> None:
    big = "x" * 600_000
    with pytest.raises(EvaluationError, match="text longer than"):
        ev("big + big", big=big)
    with pytest.raises(EvaluationError, match="text longer than"):
        ev("concat(big, big)", big=big)


def test_text_of_a_list_of_long_texts_is_bounded() -> None:
    big = "x" * 300_000
    with pytest.raises(EvaluationError, match="text longer than"):
        ev("'' + [big, big, big, big]", big=big)
    with pytest.raises(EvaluationError, match="text longer than"):
        ev("concat(m)", m={"a": big, "b": big, "c": big, "d": big})
    with pytest.raises(EvaluationError, match="text longer than"):
        ev("concat(" + ", ".join(["big"] * 5000) + ")", big=big)
    with pytest.raises(EvaluationError, match="replace: result longer than"):
        ev("replace(big, 'x', 'xxxx')", big=big)


def test_list_produced_is_bounded() -> None:
    items = list(range(6000))
    with pytest.raises(EvaluationError, match="list longer than"):
        ev("items + items", items=items)


def test_evaluation_error_names_the_expression() -> None:
    with pytest.raises(EvaluationError) as info:
        ev("1 / (repeat_count - 2)")
    assert info.value.reason == "division by zero"
    assert info.value.text == "1 / (repeat_count - 2)"
    assert str(info.value) == "division by zero in: 1 / (repeat_count - 2)"
