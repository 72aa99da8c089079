"""Every function: results, null handling, arity and argument errors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rules.expr import (
    FUNCTION_NAMES,
    Environment,
    EvaluationError,
    ExpressionError,
    compile_expression,
)
from tests.expr.helpers import NOW, command_fields, ev


@pytest.mark.parametrize(("text", "expected"), [
    ("upper(message)", "DEPLOY FAILED ON WEB-01"),
    ("UPPER('a')", "A"),  # function names ignore case
    ("upper(tags.missing)", None),
    ("lower('MiXeD')", "mixed"),
    ("lower(5)", "5"),
    ("trim('  x y  ')", "x y"),
    ("trim(tags.missing)", None),
    ("length(message)", 23),
    ("length(tags.missing)", -1),  # as in ATSD
    ("length(['a', 'b'])", 2),
    ("length(tags) > 3", True),
    ("length(503)", 3),
    ("contains(message, 'failed')", True),
    ("contains(message, 'FAILED')", False),
    ("contains(tags.missing, 'x')", False),
    ("contains(['a', 'b'], 'b')", True),
    ("contains([1, 2], '2')", True),
    ("contains(tags, 'user_name')", True),
    ("startsWith(message, 'deploy')", True),
    ("startswith(message, 'failed')", False),
    ("startsWith(tags.missing, '')", False),
    ("endsWith(message, 'web-01')", True),
    ("endsWith(message, 'web')", False),
    ("replace(message, 'web', 'db')", "deploy failed on db-01"),
    ("replace('a.b.c', '.', '')", "abc"),
    ("replace('abc', '', 'x')", "abc"),
    ("replace(tags.missing, 'a', 'b')", None),
    ("matches(message, 'deploy .* on web-\\d+')", True),
    ("matches(message, 'failed')", False),  # the whole text must match
    ("matches(message, '.*failed.*')", True),
    ("matches(tags.missing, '.*')", False),
    ("matches(tags.code, '[0-9]{3}')", True),
    ("matches(message, '(\\w+\\s?)+-\\d+')", True),  # nested quantifiers run on RE2
    ("ifEmpty(tags.missing, 'anon')", "anon"),
    ("ifEmpty(tags.empty, 'anon')", "anon"),
    ("ifEmpty(tags.user_name, 'anon')", "bob"),
    ("ifEmpty(0, 1)", 0),
    ("isEmpty(tags.missing)", True),
    ("isEmpty('')", True),
    ("isEmpty([])", True),
    ("isEmpty('x')", False),
    ("coalesce([tags.missing, tags.empty, tags.user_name])", "bob"),
    ("coalesce(tags.missing, '', 'x', 'y')", "x"),
    ("coalesce([null, ''])", ""),
    ("concat('a', 1, null, true)", "a1true"),
    ("concat(tags.user_name)", "bob"),
    ("concat(['a', null, 'b'], '-')", "a--b"),  # ATSD's concat(list, separator)
    ("concat(['a', 'b'])", "a,b"),
    ("concat(['a'], 'b', 'c')", "[a]bc"),
    ("concatLines(['a', 'b'])", "a\nb"),
    ("concatLines(tags.missing)", None),
    ("abbreviate('hello world', 6)", "hel..."),
    ("abbreviate('hello world', 100)", "hello world"),
    ("keepAfter('hello.new.world', '.')", "new.world"),
    ("keepAfterLast('hello.new.world', '.')", "world"),
    ("keepBefore('hello.new.world', '.')", "hello"),
    ("keepBeforeLast('hello.new.world', '.')", "hello.new"),
    ("keepAfter('hello', 'x')", "hello"),
    ("keepAfter('hello', '')", "hello"),
    ("keepAfter(tags.missing, '.')", None),
    ("removeBeginning('hello world', 'he')", "llo world"),
    ("removeBeginning('hello world', 'be')", "hello world"),
    ("removeEnding('hello world', 'ld')", "hello wor"),
    ("capFirst('hello world')", "Hello world"),
    ("capitalize('hello  big\tworld')", "Hello  Big\tWorld"),
    ("indexOf('hello world', 'o')", 4),
    ("indexOf('hello world', 'o', 5)", 7),
    ("indexOf('hello world', 'Z')", -1),
    ("locate('hello world', 'w')", 6),
    ("countMatches('hello world', 'o')", 2),
    ("countMatches('hello', '')", 0),
    ("split('hello \"new world\"', ' ')", ("hello", "new world")),
    ("split('a,b,,c', ',')", ("a", "b", "", "c")),
    ("split('a--b', '--')[1]", "b"),
    ("split(tags.missing, ',')", None),
    ("list('b,a,b')", ("b", "a")),
    ("list('x y x', ' ')", ("x", "y")),
    ("urlencode('hello world/?')", "hello%20world%2F%3F"),
    ("jsonencode('say \"hi\"\n')", 'say \\"hi\\"\\n'),
    ("htmlDecode('hello &gt; world')", "hello > world"),
    ("unquote('\"hello world\"')", "hello world"),
    ("keepAfter(message, ' ')", "failed on web-01"),  # a chat command's arguments
    ("truncate(message, 6)", "deploy"),
    ("truncate('ab', 10)", "ab"),
    ("truncate(message, '3')", "dep"),
    ("truncate(tags.missing, 3)", None),
    ("abs(-2.5)", 2.5),
    ("abs(tags.code)", 503),
    ("round(2.567, 2)", 2.57),
    ("round(2.5)", 2),
    ("round('7.7')", 8),
])
def test_text_and_value_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("date_format(open_time, 'yyyy-MM-dd HH:mm:ss')", "2026-11-28 11:30:00"),
    ("date_format(open_time, 'yyyy-MM-dd HH:mm', 'Europe/Berlin')", "2026-11-28 12:30"),
    ("date_format(open_time, \"HH:mm z\", 'America/New_York')", "06:30 EST"),
    ("date_format(open_time, 'EEE, d MMM yy h:mm a')", "Sat, 28 Nov 26 11:30 AM"),
    ("date_format(open_time, 'EEEE MMMM dd')", "Saturday November 28"),
    ("date_format(open_time, \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\", 'Asia/Kolkata')",
     "2026-11-28T17:00:00.000+05:30"),
    ("date_format(open_time, 'HH:mm:ss.SSS X')", "11:30:00.000 Z"),
    ("date_format(open_time, 'Z', 'Asia/Kolkata')", "+0530"),
    ("date_format('2016-06-09T16:15:04.005Z', 'SSS')", "005"),
    ("date_format(1465488904005, 'yyyy HH')", "2016 16"),
    ("date_format(open_time, \"'at' H 'o''clock'\")", "at 11 o'clock"),
    ("date_format(tags.missing, 'yyyy')", None),
    ("elapsed_minutes(open_time)", 30.0),
    ("elapsed_minutes('2026-11-28T11:59:30Z')", 0.5),
    ("elapsed_minutes(tags.missing)", None),
    ("round(elapsed_minutes(open_time)) >= 30", True),
])
def test_date_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_date_format_of_a_naive_date_is_utc() -> None:
    assert ev("date_format(t, 'HH:mm')", t=datetime(2026, 1, 1, 9, 5)) == "09:05"


@pytest.mark.parametrize(("text", "reason"), [
    ("date_format(message, 'yyyy')", "date_format: not a date"),
    ("date_format(open_time, tags.user_name)", "unsupported date pattern letter 'b'"),
    ("date_format(open_time, 'HH', tags.user_name)", "unknown time zone 'bob'"),
    ("elapsed_minutes('soon')", "elapsed_minutes: not a date"),
    ("truncate(message, tags.user_name)", "truncate: length must be a number"),
    ("matches(message, tags.pattern)", "not supported"),
    ("matches(long, '.*')", "longer than"),
    ("abs(message)", "abs: not a number"),
    ("round(message)", "round: arguments must be numbers"),
    ("abbreviate(message, 3)", "abbreviate: length must be a number >= 4"),
    ("split(message, '')", "split: the separator must not be empty"),
    ("list(message, '')", "list: the separator must not be empty"),
    ("indexOf(message, 'a', 'x')", "indexOf: the start index must be a number"),
    ("split(many, ',')", "list longer than"),
    ("upper(huge + huge)", "text longer than"),
])
def test_function_errors_at_run_time(text: str, reason: str) -> None:
    fields = command_fields(long="x" * (1024 * 1024 + 1), huge="y" * 600_000,
                            many="," * 20_000)
    fields["tags"] = {**fields["tags"], "pattern": "(?=a).*b+"}
    with pytest.raises(EvaluationError, match=reason):
        compile_expression(text).evaluate(Environment(fields=fields, now=NOW))


@pytest.mark.parametrize(("text", "reason", "column"), [
    ("nofunc(1)", "unknown function 'nofunc'", 1),
    ("upper()", "upper() takes 1 argument, not 0", 1),
    ("1 + trim('a', 'b')", "trim() takes 1 argument, not 2", 5),
    ("replace('a', 'b')", "replace() takes 3 arguments, not 2", 1),
    ("date_format(now)", "date_format() takes 2 to 3 arguments, not 1", 1),
    ("count(1)", "count() takes 0 arguments, not 1", 1),
    ("concat()", "concat() takes at least 1 argument, not 0", 1),
    ("db_message_count('1 hour', 'a')", "takes 3 to 5 arguments, not 2", 1),
    ("matches(message, '(?<=a)b+c*')", "not supported", 18),
    ("matches(message, '(x)\\1')", "back-references", 18),
    ("matches(message, '[a-')", "invalid regular expression", 18),
    ("date_format(now, 'yyyy-qq')", "unsupported date pattern letter 'q'", 18),
    ("date_format(now, 'yyyy', 'Mars/Base')", "unknown time zone 'Mars/Base'", 26),
    ("truncate(message, -1)", "length must be a number >= 0", 19),
    ("db_message_count('5 parsec', '', '')", "invalid interval '5 parsec'", 18),
    ("db_message_last('1 hour', '', '', 'novalue')", "invalid tags 'novalue'", 35),
])
def test_function_errors_at_load_time(text: str, reason: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert reason in info.value.reason
    assert info.value.column == column


def test_count_and_rule_open_call_the_environment() -> None:
    asked: list[str] = []

    def rule_open(name: str) -> bool:
        asked.append(name)
        return name == "disk_full"

    environment = Environment(fields={}, count=lambda: 4, rule_open=rule_open)
    assert ev("count() = 4 AND rule_open('disk_' + 'full')", environment) is True
    assert ev("rule_open('other')", environment) is False
    assert asked == ["disk_full", "other"]


@pytest.mark.parametrize("text", ["count()", "rule_open('x')", "db_message_count('1 hour', '', '')",
                                  "db_message_last('1 hour', '', '')"])
def test_engine_functions_without_a_callback(text: str) -> None:
    with pytest.raises(EvaluationError, match="is not available here"):
        ev(text)


class _Store:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def count(self, *args: Any) -> int:
        self.calls.append(args)
        return 7

    def last(self, *args: Any) -> Mapping[str, Any] | None:
        self.calls.append(args)
        return {"message": "backup done", "severity": "NORMAL", "tags": {"job": "nightly"}}


def test_db_message_count_arguments() -> None:
    store = _Store()
    environment = Environment(fields=command_fields(), db_message_count=store.count)
    assert ev("db_message_count('15 minute', 'backup', '') > 5", environment) is True
    assert ev("db_message_count('1 hour', null, 'cron', 'job=nightly, host=a')", environment) == 7
    assert ev("db_message_count('2 days', 'x', 'y', tags, '*')", environment) == 7
    assert ev("db_message_count('30 seconds', 'x', 'y', '', 'web-01')", environment) == 7
    assert store.calls == [
        (timedelta(minutes=15), "backup", None, {}, "rocketchat-bot"),
        (timedelta(hours=1), None, "cron", {"job": "nightly", "host": "a"}, "rocketchat-bot"),
        (timedelta(days=2), "x", "y", command_fields()["tags"], None),
        (timedelta(seconds=30), "x", "y", {}, "web-01"),
    ]


def test_db_message_last_fields() -> None:
    store = _Store()
    environment = Environment(fields=command_fields(), db_message_last=store.last)
    assert ev("db_message_last('1 hour', 'backup', '').message", environment) == "backup done"
    assert ev("db_message_last('1 hour', 'backup', '').tags.job", environment) == "nightly"
    assert ev("db_message_last('1 hour', 'b', '')['severity'] = 'NORMAL'", environment) is True
    nothing = Environment(fields={}, db_message_last=lambda *args: None)
    assert ev("db_message_last('1 hour', 'b', '').message", nothing) is None
    assert ev("db_message_last('1 hour', 'b', '') = null", nothing) is True


def test_db_interval_from_a_field_is_checked_at_run_time() -> None:
    environment = Environment(fields={"span": "3 fortnights"}, db_message_count=lambda *a: 0)
    with pytest.raises(EvaluationError, match="invalid interval"):
        ev("db_message_count(span, '', '')", environment)


def test_a_failing_callback_becomes_an_evaluation_error() -> None:
    def broken() -> int:
        raise RuntimeError("store is down")

    with pytest.raises(EvaluationError, match=r"count\(\) failed: RuntimeError: store is down"):
        ev("count() > 1", Environment(fields={}, count=broken))


def test_unpaired_surrogates_from_json_do_not_break_regexes() -> None:
    # JSON may carry "\ud800"; RE2 reads UTF-8, so such a character is matched as one '?'.
    assert ev("matches(m, '.*a.*b')", m="a\ud800b") is True
    assert ev("matches(m, 'a.b')", m="a\ud800b") is True
    with pytest.raises(ExpressionError, match="unpaired surrogate"):
        compile_expression("matches(m, '\ud800.*x+')")


def test_function_names_listed() -> None:
    required = {"upper", "lower", "trim", "length", "contains", "startsWith", "endsWith",
                "replace", "matches", "ifEmpty", "coalesce", "concat", "truncate", "date_format",
                "elapsed_minutes", "count", "db_message_count", "db_message_last", "rule_open"}
    assert required <= FUNCTION_NAMES


def test_elapsed_minutes_without_now_uses_the_clock() -> None:
    environment = Environment(fields={"t": datetime.now(UTC) - timedelta(minutes=10)})
    assert 9.9 < ev("elapsed_minutes(t)", environment) < 60
