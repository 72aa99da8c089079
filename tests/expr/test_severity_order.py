"""Severity names order by rank, not alphabetically (ATSD rules write severity >= 'WARNING')."""

from __future__ import annotations

import pytest

from rules.expr import Environment, compile_expression


def holds(text: str, severity: str | None) -> bool:
    return bool(compile_expression(text).evaluate(Environment(fields={"severity": severity})))


@pytest.mark.parametrize("severity,expected", [
    ("NORMAL", False), ("WARNING", True), ("MINOR", True), ("CRITICAL", True), ("FATAL", True),
])
def test_at_least_warning(severity: str, expected: bool) -> None:
    assert holds("severity >= 'WARNING'", severity) is expected


def test_aliases_and_codes_compare_by_rank() -> None:
    assert holds("severity > 'warn'", "ERROR")  # CRITICAL (6) > WARNING (3)
    assert holds("severity >= 5", "MAJOR")
    assert not holds("severity < 'MINOR'", "MAJOR")  # alphabetically MAJOR < MINOR


def test_other_text_still_orders_alphabetically() -> None:
    assert compile_expression("'apple' < 'banana'").evaluate(Environment(fields={}))


def test_null_severity_orders_nothing() -> None:
    assert not holds("severity >= 'WARNING'", None)
