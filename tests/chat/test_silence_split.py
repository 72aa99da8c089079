"""How ``silence`` splits its words into matchers, a duration and a comment (spec:
conversation, sections 2 and 3): a duration attempt is never a matcher, an unknown unit is
named, ``1h 30m`` is refused with the one-word form; examples and properties."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chat.commands import Usage
from bot.chat.silence_commands import split_silence
from rules.definitions.durations import format_span
from rules.silences import describe
from tests.fuzz.budget import fuzz

SYNTAX = "write 90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'"


@pytest.mark.parametrize(("text", "matchers", "seconds", "comment"), [
    ("entity=db1 1h checking", "entity=db1", 3600, "checking"),
    ("disk-full 2 hours", "rule=disk-full", 7200, ""),
    ("entity=db1 1h30m", "entity=db1", 5400, ""),
    ("entity=db1 1.5h", "entity=db1", 5400, ""),
    ("entity=db1 2hours late", "entity=db1", 7200, "late"),
    ("entity=db1 1h 3 disks failed", "entity=db1", 3600, "3 disks failed"),
    ("entity=db1 1h 2nd try", "entity=db1", 3600, "2nd try"),
    ("rule=2fa 10m", "rule=2fa", 600, ""),
])
def test_splits(text: str, matchers: str, seconds: int, comment: str) -> None:
    found, span, said = split_silence(text.split())
    assert (describe(found), span, said) == (matchers, timedelta(seconds=seconds), comment)


@pytest.mark.parametrize(("text", "detail"), [
    ("entity=db1 2y", f"unknown unit 'y' in '2y': {SYNTAX}"),
    ("entity=db1 2 parsecs", f"unknown unit 'parsecs' in '2 parsecs': {SYNTAX}"),
    ("entity=db1 2x 1h", f"unknown unit 'x' in '2x': {SYNTAX}"),
    ("entity=db1 2fa 1h", f"unknown unit 'fa' in '2fa': {SYNTAX}"),
    ("entity=db1 30", f"`30` has no unit: {SYNTAX}"),
    ("entity=db1 1h 30m x", "write the duration as one word, like `1h30m`, not `1h 30m`; "
                            "the comment follows it"),
    ("entity=db1 2 hour 30 minute", "not `2 hour 30 minute`"),
    ("entity=db1 91d", "duration '91d' is longer than the limit of 90d"),
    ("entity=db1 0m", "duration '0m' must be longer than 0"),
    ("entity=db1", f"no duration: end the matchers with one, like {SYNTAX[6:]}"),
])
def test_refuses_naming_what_is_wrong(text: str, detail: str) -> None:
    with pytest.raises(Usage) as caught:
        split_silence(text.split())
    assert detail in caught.value.detail


units = st.sampled_from(["s", "m", "h", "d", "w"])
spans = st.integers(min_value=60, max_value=89 * 86400).map(lambda s: timedelta(seconds=s))
names = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
comments = st.lists(st.from_regex(r"[a-z][a-z ]{0,8}", fullmatch=True).map(str.strip)
                    .filter(bool), max_size=4)


@fuzz(200)
@given(names, spans, comments)
def test_a_written_silence_reads_back(name: str, span: timedelta, words: list[str]) -> None:
    found, read, comment = split_silence([f"entity={name}", format_span(span), *words])
    assert (describe(found), read, comment) == (f"entity={name}", span, " ".join(words))


@fuzz(200)
@given(st.integers(min_value=0, max_value=999), st.from_regex(r"[a-z]{1,6}", fullmatch=True),
       names)
def test_digits_and_letters_are_a_duration_never_a_matcher(count: int, unit: str,
                                                           name: str) -> None:
    attempt = f"{count}{unit}"
    try:
        found, _, comment = split_silence([f"entity={name}", attempt, "note"])
    except Usage as refused:  # an unknown unit named, or a duration out of range
        assert f"'{unit}'" in refused.detail or "longer than" in refused.detail
    else:
        assert (describe(found), comment) == (f"entity={name}", "note")
