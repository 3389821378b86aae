"""A limit on questions: at most `rate` in any `per` seconds for each key (a user, or a server)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Cooldown:
    """A sliding window per key; `retry_after` counts a question when it is allowed."""

    def __init__(self, rate: int = 5, per: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("a cooldown needs a rate of at least 1 and a positive period")
        self.rate = rate
        self.per = per
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._swept_at = clock()

    def retry_after(self, key: int) -> float:
        """0 when `key` may ask now (and the question is counted), else the seconds left to wait."""
        wait = self.wait(key)
        if wait == 0:
            self.take(key)
        return wait

    def wait(self, key: int) -> float:
        """The seconds `key` must wait before its next question (0: it may ask now); counts nothing."""
        now = self._clock()
        times = self._asked.get(key)
        if times is None:
            return 0.0
        _forget(times, now - self.per)
        return max(0.0, times[0] + self.per - now) if len(times) >= self.rate else 0.0

    def take(self, key: int) -> None:
        """Count a question of `key` now."""
        now = self._clock()
        self._asked.setdefault(key, deque()).append(now)
        if now - self._swept_at >= self.per:  # keys that went quiet are dropped once per window
            self._swept_at = now
            for quiet in [k for k, times in self._asked.items() if not _forget(times, now - self.per)]:
                del self._asked[quiet]


def _forget(times: deque[float], horizon: float) -> deque[float]:
    """`times` without the moments at or before `horizon` (in place)."""
    while times and times[0] <= horizon:
        times.popleft()
    return times
