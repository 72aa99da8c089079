"""The one duration syntax (spec: conversation, section 2), example by example and as
properties: what it reads, what it refuses, and that the compact form reads back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.definitions.durations import (
    MAX_SILENCE,
    DurationError,
    duration_text,
    format_span,
    parse_duration,
    parse_span,
)
from tests.fuzz.budget import fuzz


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("2d", 172800),
    ("1w", 604800), ("2 hour", 7200), ("30 minute", 1800), ("30 minutes", 1800),
    ("1.5 hour", 5400), ("2 HOURS", 7200), (" 45s ", 45), ("1w2d3h4m5s", 788645),
    ("5 min", 300), ("1H", 3600),
])
def test_reads(text: str, seconds: int) -> None:
    assert parse_span(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("text", "says"), [
    ("30", "bare number"), ("2.5", "bare number"), ("", "missing"), ("soon", "invalid"),
    ("2 parsecs", "unknown unit"), ("0m", "longer than 0"), ("h", "invalid"),
    ("1h 30m", "invalid"), ("-5m", "invalid"), ("99999999999w", "too long"),
])
def test_refuses_with_the_syntax(text: str, says: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_span(text)
    assert says in str(caught.value)


def test_a_json_number_is_a_bare_number_too() -> None:
    with pytest.raises(DurationError, match=r"^a bare number \(7200\) has no unit: write 90s"):
        parse_span(7200)  # type: ignore[arg-type]


def test_limit_and_zero() -> None:
    assert parse_span("90d", maximum=MAX_SILENCE) == MAX_SILENCE
    with pytest.raises(DurationError, match="longer than the limit of 90d"):
        parse_span("91d", maximum=MAX_SILENCE)
    assert parse_span("0s", allow_zero=True) == timedelta(0)


def test_rule_files_and_config_refuse_bare_numbers_too() -> None:
    """No exception: YAML's and TOML's numbers (``delay_open: 30``, ``messages = 7200``) and
    number strings get the same error as chat; zero alone needs no unit (it is off)."""
    assert parse_duration("1h30m") == 5400 and parse_duration("2 hour") == 7200
    assert parse_duration(0) == 0 and parse_duration("0") == 0 and parse_duration("0s") == 0
    for value in (30, 2.5, "30", " 3600 ", "7200.0"):
        with pytest.raises(DurationError) as caught:
            parse_duration(value)
        assert str(caught.value).startswith("a bare number (") and \
            "has no unit: write 90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'" in str(caught.value)


@pytest.mark.parametrize(("seconds", "text"), [
    (30, "30s"), (5400, "1h30m"), (600, "10m"), (1.5, "1.5 second"), (86400, "1d")])
def test_duration_text_reads_back(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text and parse_duration(text) == seconds


spans = st.integers(min_value=1, max_value=400 * 86400).map(lambda s: timedelta(seconds=s))


@fuzz(300)
@given(spans)
def test_compact_form_reads_back(span: timedelta) -> None:
    assert parse_span(format_span(span)) == span


@fuzz(300)
@given(st.integers(min_value=1, max_value=5000),
       st.sampled_from(["second", "minute", "hour", "day", "week"]), st.booleans())
def test_atsd_form(count: int, unit: str, plural: bool) -> None:
    size = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[unit]
    text = f"{count} {unit}{'s' if plural else ''}"
    assert parse_span(text) == timedelta(seconds=count * size)


@fuzz(300)
@given(st.integers(min_value=1, max_value=10**12))
def test_bare_numbers_never_pass(number: int) -> None:
    with pytest.raises(DurationError, match="no unit"):
        parse_span(str(number))


@fuzz(500)
@given(st.text(max_size=40))
def test_any_text_is_a_span_or_one_clear_error(text: str) -> None:
    try:
        span = parse_span(text, maximum=MAX_SILENCE)
    except DurationError as exc:
        message = str(exc)
        assert message and "\n" not in message
    else:
        assert timedelta(0) < span <= MAX_SILENCE


@fuzz(300)
@given(st.one_of(st.integers(min_value=1, max_value=10**12),
                 st.floats(min_value=0.001, max_value=1e9, allow_nan=False),
                 st.integers(min_value=1, max_value=10**9).map(str)))
def test_parse_duration_never_takes_a_bare_number(number: object) -> None:
    with pytest.raises(DurationError, match="no unit"):
        parse_duration(number)
