"""How long the realtime client waits before connecting again: the reconnect policy.

Exponential with "equal jitter": half the delay fixed, half random, so that many bots dropped
by one server restart do not come back at the same instant. The random source is injected, so
a test can make the delays repeatable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class ReconnectPolicy:
    initial: float = 0.5
    maximum: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` sessions in a row ended without subscribing."""
        ceiling = min(self.maximum, self.initial * 2 ** min(failures, 32))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)
