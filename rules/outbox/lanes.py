"""Lanes: the claimed rows of one round split into groups that may be delivered side by side.

Two rows share a lane when they belong to the same alert and endpoint (an alert's open,
repeats and cancel must arrive in order) or go to the same room of the same endpoint (a
room shows replies in the order they were made); rows linked through a chain of such pairs
share one too. Within a lane rows go one at a time in id order; different lanes go
concurrently (:class:`LaneRunner`), so a slow room does not hold up the others and a burst
over many rooms is not bound by one request's round trip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def lane_keys(row: Any) -> list[tuple[Any, ...]]:
    """What orders ``row`` against others: its alert, its room, or else its endpoint."""
    keys: list[tuple[Any, ...]] = []
    if row.alert_id is not None:
        keys.append(("alert", row.endpoint, row.alert_id))
    target = row.target if isinstance(row.target, dict) else {}
    room = target.get("room_id")
    if room:
        keys.append(("room", row.endpoint, str(room)))
    # no alert and no room (an http or log row without an alert): one lane per endpoint
    return keys or [("endpoint", row.endpoint)]


def split(rows: Sequence[Any]) -> list[list[Any]]:
    """``rows`` (in id order) as lanes, each in id order; lanes ordered by their first row."""
    owner: dict[tuple[Any, ...], int] = {}  # key -> lane index
    parent: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_lane: list[int] = []
    for row in rows:
        here = len(parent)
        parent.append(here)
        for key in lane_keys(row):
            seen = owner.setdefault(key, here)
            if seen != here:  # this key already has a lane: join (union) the two
                a, b = find(seen), find(here)
                parent[max(a, b)] = min(a, b)
        row_lane.append(here)
    lanes: dict[int, list[Any]] = {}
    for row, index in zip(rows, row_lane, strict=True):
        lanes.setdefault(find(index), []).append(row)
    return [lanes[k] for k in sorted(lanes)]


class LaneRunner:
    """Runs a function over lanes: inline for one lane, on a small thread pool for several."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def map(self, work: Callable[[list[Any]], list[T]], lanes: list[list[Any]]) -> list[T]:
        """``work`` for each lane; every lane's results, concatenated. Every lane finishes
        (or raises) before this returns, so none is still sending when the round records."""
        if len(lanes) <= 1 or self.workers == 1:
            return [item for lane in lanes for item in work(lane)]
        futures = [self._executor().submit(work, lane) for lane in lanes]
        results: list[T] = []
        error: BaseException | None = None
        for future in futures:  # wait for all, even after one failed
            try:
                results.extend(future.result())
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others
                error = error or exc
        if error is not None:
            raise error
        return results

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="outbox-lane")
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
