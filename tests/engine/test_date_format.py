"""format_iso_date: the text of an instant, the same with its small table of texts as without."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from rules import command
from rules.command import format_iso_date


def _strftime(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def test_milliseconds_are_cut_not_rounded() -> None:
    assert format_iso_date(datetime(2016, 6, 9, 16, 15, 4, 5999, tzinfo=UTC)) == (
        "2016-06-09T16:15:04.005Z")


def test_an_instant_prints_in_utc_whatever_its_zone_and_however_often() -> None:
    utc = datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    for value in (utc, plus_two, utc, plus_two):
        assert format_iso_date(value) == "2024-03-01T10:00:00.123Z"


def test_years_before_1000_print_as_strftime_did() -> None:
    value = datetime(999, 5, 5, 1, 2, 3, tzinfo=UTC)
    assert format_iso_date(value) == _strftime(value) == "999-05-05T01:02:03.000Z"


def test_naive_datetimes_are_read_as_local_time_and_not_kept() -> None:
    value = datetime(2024, 3, 1, 10, 0, 0)
    assert format_iso_date(value) == _strftime(value)
    assert value not in command._FORMATTED  # noqa: SLF001 - the local zone may change


def test_the_table_of_texts_stays_small() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(command._FORMATTED_MAX + 10):  # noqa: SLF001
        value = start + timedelta(milliseconds=n)
        assert format_iso_date(value) == _strftime(value)
    assert len(command._FORMATTED) <= command._FORMATTED_MAX  # noqa: SLF001
