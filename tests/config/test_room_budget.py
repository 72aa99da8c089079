"""``[rocketchat] room_budget``: COUNT/DURATION, checked at load with the key's name."""

from __future__ import annotations

import re

import pytest

from bot.config import build_settings
from bot.config.sections import room_budget
from bot.errors import ConfigError

RC = {"url": "http://rc.example:3000", "user_id": "u1", "token": "t-secret"}


def test_the_default_and_a_written_budget() -> None:
    assert build_settings({"rocketchat": RC}).rocketchat.room_budget == "10/1m"  # type: ignore[union-attr]
    settings = build_settings({"rocketchat": {**RC, "room_budget": "5/30 second"}})
    assert room_budget(settings.rocketchat.room_budget) == (5, 30.0)  # type: ignore[union-attr]
    assert room_budget("0/1m") == (0, 60.0)


@pytest.mark.parametrize("value", ["10", "10/60", "x/1m", "-1/1m", "10/0s", "10/soon",
                                   "²/1m", "/1m"])
def test_a_bad_budget_is_one_error_naming_the_key(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_settings({"rocketchat": {**RC, "room_budget": value}})
    message = str(caught.value)
    assert message.startswith("rocketchat.room_budget: ") and "\n" not in message
    assert message.endswith(
        'expected COUNT/DURATION like "10/1m" (new alert messages per '
        f"room within a duration), got {value!r}")


@pytest.mark.parametrize(("value", "says"), [
    ("10/60", "a bare number ('60') has no unit: write 90s, 15m, 2h, 1h30m, 2d, 1w"),
    ("10/2 parsecs", "unknown unit 'parsecs'"), ("10/0s", "must be longer than 0")])
def test_the_budget_says_what_is_wrong_with_its_duration(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        build_settings({"rocketchat": {**RC, "room_budget": value}})
