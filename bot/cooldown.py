"""A per-user limit on questions: at most `rate` in any `per` seconds, across /ask, DMs and mentions."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Cooldown:
    """A sliding window per user; `retry_after` counts a question when it is allowed."""

    def __init__(self, rate: int = 5, per: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("a cooldown needs a rate of at least 1 and a positive period")
        self.rate = rate
        self.per = per
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int) -> float:
        """0 when the user may ask now (and the question is counted), else the seconds left to wait."""
        now = self._clock()
        self._forget_before(now - self.per)
        times = self._asked.setdefault(user_id, deque())
        if len(times) >= self.rate:
            return times[0] + self.per - now
        times.append(now)
        return 0.0

    def _forget_before(self, horizon: float) -> None:
        for user_id in list(self._asked):
            times = self._asked[user_id]
            while times and times[0] <= horizon:
                times.popleft()
            if not times:
                del self._asked[user_id]
