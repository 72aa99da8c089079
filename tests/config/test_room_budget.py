"""``[rocketchat] room_budget``: COUNT/DURATION, checked at load with the key's name."""

from __future__ import annotations

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


@pytest.mark.parametrize("value", ["10", "10/60", "x/1m", "-1/1m", "10/0s", "10/soon"])
def test_a_bad_budget_is_one_error_naming_the_key(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_settings({"rocketchat": {**RC, "room_budget": value}})
    assert str(caught.value) == (
        'rocketchat.room_budget: expected COUNT/DURATION like "10/1m" (new alert messages per '
        f"room within a duration), got {value!r}")
