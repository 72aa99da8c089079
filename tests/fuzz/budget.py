"""Shared settings of the fuzz suite: example counts per profile and a resource budget.

``make test`` runs a few hundred examples per property (a few thousand in all);
``HYPOTHESIS_PROFILE=fuzz`` (``make chaos``) runs ten times as many (tens of thousands).

:func:`bounded` checks that one input stays within a CPU-time and memory budget. The budgets
are limits against blow-ups (quadratic matching, entity expansion, unbounded recursion), set
one to two orders of magnitude above what an input takes here, not speed goals.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"


def fuzz(examples: int) -> settings:
    """``examples`` in make test, ten times as many under the fuzz profile."""
    return settings(max_examples=examples * 10 if DEEP else examples, deadline=None,
                    database=None, derandomize=not DEEP,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def bounded(cpu_seconds: float = 2.0, megabytes: float = 64.0) -> Iterator[None]:
    tracemalloc.start()
    started = time.process_time()
    try:
        yield
    finally:
        used = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert used < cpu_seconds, f"{used:.2f}s of CPU for one input"
    assert peak < megabytes * 2**20, f"{peak / 2**20:.1f} MB for one input"
