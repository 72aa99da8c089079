"""Rate limits as Rocket.Chat applies them, plus test controls to force them.

REST (ApiClass `enforceRateLimit`): per route + HTTP method + client IP, default 10 calls per
60 000 ms, `X-RateLimit-Limit/-Remaining/-Reset` (epoch **ms**) on every limited response,
skipped for users holding `api-bypass-rate-limit` (roles admin, bot, app).
DDP (`DDPRateLimiter`): `sendMessage` 5 / 1 s per user, `createDirectMessage` 10 / 60 s per
user, both skipped for `send-many-messages` holders (admin, bot, app).

`set_rule(key, calls, window_s, force=...)` overrides or adds a rule for a REST route name
(`chat.postMessage`) or a DDP method name (`sendMessage`); `force=True` applies it to every
user, bypass roles included. `force_next(key, n)` makes the next n calls fail whatever the
counts say.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    calls: int
    window_s: float
    force: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_ms: int  # epoch milliseconds when the window resets

    @property
    def time_to_reset_ms(self) -> int:
        return max(0, self.reset_ms - int(time.time() * 1000))

    @property
    def wait_seconds(self) -> int:
        return math.ceil(self.time_to_reset_ms / 1000)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_ms),
        }


REST_DEFAULT = Rule(10, 60.0)
DDP_DEFAULTS = {"sendMessage": Rule(5, 1.0), "createDirectMessage": Rule(10, 60.0)}


class RateLimiter:
    def __init__(self, rest_default: Rule | None = REST_DEFAULT) -> None:
        self.rest_default = rest_default
        self.rules: dict[str, Rule] = dict(DDP_DEFAULTS)
        self._forced: dict[str, int] = {}
        self._buckets: dict[tuple[str, ...], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def set_rule(self, key: str, calls: int, window_s: float, force: bool = False) -> None:
        with self._lock:
            self.rules[key] = Rule(calls, window_s, force)
            self._buckets = {k: v for k, v in self._buckets.items() if k[0] != key}

    def force_next(self, key: str, count: int) -> None:
        with self._lock:
            self._forced[key] = self._forced.get(key, 0) + count

    def rule_for(self, key: str, rest: bool) -> Rule | None:
        return self.rules.get(key) or (self.rest_default if rest else None)

    def check(self, key: str, who: str, *, bypass: bool, rest: bool) -> Decision | None:
        """Count one call; None when the call is not subject to any limit."""
        rule = self.rule_for(key, rest)
        with self._lock:
            forced = self._forced.get(key, 0)
            if forced:
                self._forced[key] = forced - 1
                window = rule.window_s if rule else 60.0
                limit = rule.calls if rule else 0
                return Decision(False, limit, 0, int((time.time() + window) * 1000))
            if rule is None or (bypass and not rule.force):
                return None
            return self._count(key, who, rule)

    def _count(self, key: str, who: str, rule: Rule) -> Decision:
        moment = time.time()
        count, reset_at = self._buckets.get((key, who), (0, moment + rule.window_s))
        if moment >= reset_at:
            count, reset_at = 0, moment + rule.window_s
        count += 1
        self._buckets[(key, who)] = (count, reset_at)
        allowed = count <= rule.calls
        remaining = max(0, rule.calls - count)
        return Decision(allowed, rule.calls, remaining, int(reset_at * 1000))
