"""build_insert: the element's index in every error, dates parsed per element (the memo of the
last ISO date never serves a relative date or another text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webhook.api.messages_query import build_insert
from webhook.errors import ApiError

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _date(text: str) -> datetime:
    return build_insert({"entity": "e", "message": "m", "date": text}, 0, NOW)[0].date


def test_dates_are_parsed_per_element() -> None:
    assert _date("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert _date("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert _date("2024-05-01T10:00:00.5+02:00") == datetime(2024, 5, 1, 8, 0, 0, 500000,
                                                            tzinfo=UTC)
    assert _date("now - 1 * HOUR") == NOW - timedelta(hours=1)
    assert build_insert({"entity": "e", "message": "m", "date": "now"}, 0,
                        NOW + timedelta(days=1))[0].date == NOW + timedelta(days=1)


@pytest.mark.parametrize(("element", "error"), [
    ("x", "message[3]: expected an object"),
    ({"message": "m"}, "message[3]: entity is required"),
    ({"entity": "e", "message": "m", "tags": {"a": [1]}}, "message[3].tags.a: expected"),
    ({"entity": "e", "message": "m", "date": "yesterday"}, "message[3].date: invalid date"),
    ({"entity": "e", "message": "m", "persist": 1}, "message[3].persist: expected true"),
    ({"entity": "e" * 513, "message": "m"}, "message[3].entity: longer than 512"),
    ({"entity": "e", "message": "m\x00"}, "message[3]: message contains a NUL"),
])
def test_errors_name_the_element(element: object, error: str) -> None:
    with pytest.raises(ApiError) as caught:
        build_insert(element, 3, NOW)
    assert caught.value.message.startswith(error)
