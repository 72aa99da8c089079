"""The reconnect policy: exponential, capped, with equal jitter from an injected random source."""

from __future__ import annotations

import random

from bot.realtime.reconnect import ReconnectPolicy


def test_delays_double_then_cap_and_keep_half_fixed() -> None:
    policy = ReconnectPolicy(initial=0.5, maximum=30.0, rng=random.Random(7))
    for failures, ceiling in [(0, 0.5), (1, 1.0), (3, 4.0), (6, 30.0), (500, 30.0)]:
        delay = policy.delay(failures)
        assert ceiling / 2 <= delay <= ceiling


def test_the_same_seed_gives_the_same_delays() -> None:
    first = ReconnectPolicy(rng=random.Random(42))
    second = ReconnectPolicy(rng=random.Random(42))
    assert [first.delay(n) for n in range(8)] == [second.delay(n) for n in range(8)]
