"""Literals, field forms and what ``expr.fields`` reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rules.expr import Environment, compile_expression
from tests.expr.helpers import NOW, ev


@pytest.mark.parametrize(("text", "expected"), [
    ("'text'", "text"),
    ('"text"', "text"),
    (r"'it\'s'", "it's"),
    (r'"say \"hi\""', 'say "hi"'),
    (r"'a\nb\tc\\d'", "a\nb\tc\\d"),
    (r"'\d+'", r"\d+"),  # unknown escapes stay, for regular expressions
    ("''", ""),
    ("42", 42),
    ("3.25", 3.25),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("12345678901234567890", 1.2345678901234567e19),
    ("true", True),
    ("TRUE", True),
    ("false", False),
    ("False", False),
    ("null", None),
    ("NULL", None),
    ("['a', 'b']", ("a", "b")),
    ("[]", ()),
    ("[1, 'x', null, true,]", (1, "x", None, True)),
    ("[[1], [2, 3]]", ((1,), (2, 3))),
    ("/* a comment */ 1", 1),
])
def test_literals(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("entity", "rocketchat-bot"),
    ("type", "webhook"),
    ("source", "rocket.chat"),
    ("message", "deploy failed on web-01"),
    ("severity", "WARNING"),
    ("tags.user_name", "bob"),
    ("tags.USER_NAME", "bob"),  # tag names are stored lower-case
    ("tags['odd-name']", "dash"),
    ('tags["user_name"]', "bob"),
    ("tags.missing", None),
    ("tags['missing']", None),
    ("no_such_field", None),
    ("no_such_field.below", None),
    ("rule", "seed"),
    ("repeat_count", 2),
    ("open_time", datetime(2026, 11, 28, 11, 30, tzinfo=UTC)),
    ("open_time.hour", 11),
    ("open_time.millis", 1795865400000),
    ("now", NOW),
    ("now.minute", 0),
    ("['x', 'y'][1]", "y"),
    ("['x', 'y'][-1]", "y"),
    ("['x', 'y'][5]", None),
    ("'abc'[0]", "a"),
])
def test_fields(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_tags_field_is_the_map() -> None:
    assert ev("tags")["code"] == "503"


def test_now_comes_from_fields_then_environment() -> None:
    other = datetime(2030, 1, 1, tzinfo=UTC)
    assert ev("now", now=other) == other
    assert compile_expression("now").evaluate(Environment(fields={}, now=NOW)) == NOW
    assert isinstance(compile_expression("now").evaluate(Environment(fields={})), datetime)


def test_keywords_as_tag_names() -> None:
    fields = {"tags": {"and": "1", "in": "2", "not": "3", "like": "4", "true": "5"}}
    environment = Environment(fields=fields)
    assert ev("tags.and + tags.in + tags.not + tags.like + tags.true", environment) == "12345"


def test_field_names_starting_with_keywords() -> None:
    environment = Environment(fields={"notify": 1, "order": 2, "index": 3, "nullable": 4})
    assert ev("notify + order + index + nullable", environment) == 10


@pytest.mark.parametrize(("text", "fields"), [
    ("tags.bot != 'true' AND source = 'rocket.chat'", {"tags", "source"}),
    ("upper(message) LIKE '*X*' OR tags['a'] = entity", {"message", "tags", "entity"}),
    ("count() > 1", set()),
    ("now.millis > open_time.millis", {"now", "open_time"}),
    ("1 + 2", set()),
])
def test_fields_referenced(text: str, fields: set[str]) -> None:
    assert compile_expression(text).fields == frozenset(fields)


def test_text_kept_and_compiled_once() -> None:
    expr = compile_expression("source = 'x'")
    assert expr.text == "source = 'x'"
    assert compile_expression("source = 'x'") is expr
