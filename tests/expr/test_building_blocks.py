"""The pieces under the language: guarded regular expressions, LIKE matchers, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.expr import dates, safe_regex, wildcard
from rules.expr.like import compile_like


@pytest.mark.parametrize(("pattern", "points"), [
    (r"abc", 0), (r"\d{3}", 0), (r"[*+?|{]x", 0), (r"\*\+\?\|", 0), (r"(?i)abc", 0),
    (r"(?:abc)", 0), (r"(?P<x>ab)", 0), (r"a{2,5}", 1), (r"a{2,}", 1), (r"a|b", 1),
    (r"(?<=a)b+", 1), (r".*web-\d+", 2), (r"(a+)+b", 2), (r"^(error|warn):.*", 2),
])
def test_choice_points(pattern: str, points: int) -> None:
    assert safe_regex.choice_points(pattern) == points


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    (r"deploy .* on web-\d+", "deploy failed on web-01", True),
    (r"(?i)DEPLOY.*", "deploy failed", True),
    (r"\d{3}", "503", True),
    (r"\d{3}", "5031", False),
    (r"(?<=a)b+", "abb", False),  # whole-text match: the look-behind has nothing before it
    (r"(\w+\s?)+", "deploy failed on web", True),
    (r"(a|aa)*c", "aaac", True),
    (r"^(error|warn):.*", "warn: disk", True),
    (r"é+", "éé", True),
])
def test_patterns_match_the_whole_text(pattern: str, text: str, expected: bool) -> None:
    assert safe_regex.compile_safe(pattern)(text) is expected


@pytest.mark.parametrize(("pattern", "text"), [
    (r"(a+)+b", "a" * 50_000 + "c"),
    (r"(a|aa)*c", "a" * 50_000),
    (r"(\w+\s?)*!", "word " * 20_000),
    (r".*a.*a.*a.*b", "a" * 200_000),
    (r"a?" * 40 + "a" * 40, "a" * 39),
])
def test_catastrophic_patterns_answer_on_long_texts(pattern: str, text: str) -> None:
    # Correctness only: a backtracking engine would not return from these for years;
    # their speed is in bench/expr.py.
    assert safe_regex.compile_safe(pattern)(text) is False


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(x)\1", "back-references"),
    (r"(?P<n>a)(?P=n)", "back-references"),
    (r"(?=a).*b+", "not supported"),  # a look-ahead in a pattern that needs RE2
    (r"(", "invalid regular expression"),
    ("a" * 1001, "longer than"),
])
def test_dangerous_or_invalid_patterns_are_refused(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        safe_regex.compile_safe(pattern)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("", "", True), ("", "a", False), ("abc", "abc", True), ("abc", "abd", False),
    ("*", "", True), ("*", "anything", True), ("a*", "abc", True), ("a*", "bac", False),
    ("*c", "abc", True), ("*c", "cab", False), ("a*c", "ac", True), ("a*c", "a", False),
    ("ab*ba", "aba", False), ("ab*ba", "abba", True), ("*b*", "abc", True),
    ("*b*", "ac", False), ("a*b*c", "axxbyyc", True), ("a*b*c", "acb", False),
    ("a**c", "abc", True), ("*a*a*", "aa", True), ("*a*a*", "a", False),
    ("a?c", "abc", True), ("a?c", "ac", False), ("*?", "", False), ("???", "abc", True),
])
def test_like_matchers(pattern: str, text: str, expected: bool) -> None:
    assert compile_like(pattern)(text) is expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab*?", max_size=8), st.text(alphabet="ab", max_size=12))
def test_like_matches_the_reference_wildcard_matcher(pattern: str, text: str) -> None:
    assert compile_like(pattern)(text) is wildcard.match(pattern, text)


@pytest.mark.parametrize(("text", "expected"), [
    ("15 minute", timedelta(minutes=15)), ("1 hour", timedelta(hours=1)),
    ("2 days", timedelta(days=2)), ("1.5 HOURS", timedelta(minutes=90)),
    ("30 second", timedelta(seconds=30)), ("500 milliseconds", timedelta(milliseconds=500)),
    ("1 week", timedelta(weeks=1)), (" 3 minutes ", timedelta(minutes=3)),
])
def test_intervals(text: str, expected: timedelta) -> None:
    assert dates.parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "hour", "5 parsec", "-1 hour", "1 month", "99999 days"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        dates.parse_interval(text)


MOMENT = datetime(2016, 6, 9, 16, 15, 4, 5000, tzinfo=UTC)


@pytest.mark.parametrize(("pattern", "zone", "expected"), [
    ("yyyy-MM-dd HH:mm:ss", None, "2016-06-09 16:15:04"),
    ("yyyy-MM-dd HH:mm:ss.SSS XXX z", "Europe/Berlin", "2016-06-09 18:15:04.005 +02:00 CEST"),
    ("EEE, d MMM yy h:mm a", None, "Thu, 9 Jun 16 4:15 PM"),
    ("'at' HH 'o''clock' Z", "Asia/Kolkata", "at 21 o'clock +0530"),
    ("D u EEEE MMMM k K X", "UTC", "161 4 Thursday June 16 4 Z"),
    ("S SS SSSSSS", None, "0 00 005000"),
    ("X XX", "Asia/Kolkata", "+0530 +0530"),
    ("ZZZZZ", "America/New_York", "-04:00"),
    ("hh a", "America/New_York", "12 PM"),
    ("''", None, "'"),
])
def test_java_patterns(pattern: str, zone: str | None, expected: str) -> None:
    assert dates.format_date(MOMENT, pattern, zone) == expected


@pytest.mark.parametrize(("pattern", "reason"), [
    ("yyyy-qq", "unsupported date pattern letter 'q'"),
    ("'open", "unterminated quote"),
    ("y" * 201, "longer than"),
])
def test_bad_patterns(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        dates.compile_pattern(pattern)


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "Europe/"])
def test_unknown_zones(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        dates.zone(name)
