"""A user's roles are asked of Rocket.Chat once per ROLE_CACHE_SECONDS of the injected clock."""

from __future__ import annotations

from bot.chat.admins import ROLE_CACHE_SECONDS, AdminCheck
from bot.config import RocketChatSettings
from rules.clock import ManualClock
from tests.chat.desk_rig import NOW, RecordingRest


class CountingRest(RecordingRest):
    def __init__(self) -> None:
        super().__init__({"u-carol": ["admin"]})
        self.asked = 0

    def users_info(self, **kwargs: str | None) -> dict[str, object] | None:
        self.asked += 1
        return super().users_info(**kwargs)


def test_roles_are_cached_by_the_clock() -> None:
    clock = ManualClock(NOW)
    rest = CountingRest()
    settings = RocketChatSettings(url="http://x", user_id="botid", token="t",
                                  admin_roles=("admin",))
    check = AdminCheck(settings, lambda: rest, clock)
    assert check("u-carol", "carol") and check("u-carol", "carol")
    assert rest.asked == 1
    clock.advance(ROLE_CACHE_SECONDS - 1)
    assert check("u-carol", "carol") and rest.asked == 1
    clock.advance(2)  # older than the cache allows: asked again
    assert check("u-carol", "carol") and rest.asked == 2
