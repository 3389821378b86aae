"""Who may ask now, and room to answer: per-user and per-server limits, and a bounded work queue.

A question is admitted only if its asker and its server are under their limits and the work queue has room;
then it is counted and holds a place in the queue until it is answered. Nothing is queued beyond the queue's
bounds: a flood is refused at once, so it can neither pile up work nor delay other people's answers. Refusals
of channel messages (DMs, mentions) are told sparingly, once per user per window, because each one is a
message that Discord rate-limits; a slash command is always answered, privately.

Plain asyncio, no Discord: the handlers in `bot.discord_app.questions` and `bot.discord_app.buttons` turn a
`Refused` into a notice. `Cooldown` is the sliding window behind both limits.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Literal, Self, TypeVar

from bot.config import DEFAULT_SERVER_LIMIT, DEFAULT_USER_LIMIT, Limit

T = TypeVar("T")

WORKERS = 4
"""Questions searched at once (each in a thread); the rest of the thread pool stays free for other work."""
QUEUE_CAPACITY = 32
"""Questions searched or waiting at once, whoever asked; beyond that a question is refused as busy."""
PER_USER = 2
"""Questions of one user searched or waiting at once."""


class Cooldown:
    """A sliding window per key: `wait` says how long a key must wait, `take` counts its question."""

    def __init__(self, rate: int = 5, per: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("a cooldown needs a rate of at least 1 and a positive period")
        self.rate = rate
        self.per = per
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._swept_at = clock()

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


class Refused(Exception):
    """A question was not admitted: `reason` says which limit, `wait` how many seconds to wait."""

    def __init__(self, reason: Literal["user", "server", "busy"], wait: float) -> None:
        super().__init__(f"{reason} limit: retry in {wait:.1f} s")
        self.reason = reason
        self.wait = wait


class WorkQueue:
    """At most `workers` questions searched at once, `capacity` searched or waiting, `per_user` of a user."""

    def __init__(
        self, workers: int = WORKERS, capacity: int = QUEUE_CAPACITY, per_user: int = PER_USER
    ) -> None:
        if not 1 <= workers <= capacity or per_user < 1:
            raise ValueError("a work queue needs 1 <= workers <= capacity and per_user >= 1")
        self.capacity = capacity
        self.per_user = per_user
        self._workers = asyncio.Semaphore(workers)
        self._pending: dict[int, int] = {}

    @property
    def pending(self) -> int:
        """Questions searched or waiting now."""
        return sum(self._pending.values())

    def has_room(self, user_id: int) -> bool:
        """Whether a question of `user_id` would be admitted now."""
        return self.pending < self.capacity and self._pending.get(user_id, 0) < self.per_user

    def reserve(self, user_id: int) -> Ticket:
        """A place in the queue (check `has_room` first): hold it with `async with ticket:`."""
        self._pending[user_id] = self._pending.get(user_id, 0) + 1
        return Ticket(self, user_id)

    def _release(self, user_id: int) -> None:
        left = self._pending[user_id] - 1
        if left:
            self._pending[user_id] = left
        else:
            del self._pending[user_id]


class Ticket:
    """A place in the work queue, held until the `async with` block ends (or `release`)."""

    def __init__(self, queue: WorkQueue, user_id: int) -> None:
        self._queue = queue
        self._user_id = user_id
        self._held = True

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Wait for a free worker, then do `work` (a search)."""
        async with self._queue._workers:
            return await work()

    def release(self) -> None:
        """Give the place back (idempotent)."""
        if self._held:
            self._held = False
            self._queue._release(self._user_id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class Admission:
    """The per-user and per-server limits and the work queue, checked together for each question."""

    def __init__(
        self,
        user: Limit = DEFAULT_USER_LIMIT,
        server: Limit = DEFAULT_SERVER_LIMIT,
        queue: WorkQueue | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = Cooldown(user.rate, user.per, clock)
        self.servers = Cooldown(server.rate, server.per, clock)
        self.queue = queue or WorkQueue()
        self._clock = clock
        self._told: dict[int, float] = {}

    def admit(self, user_id: int, guild_id: int | None) -> Ticket:
        """A place in the queue for a question of `user_id` (in `guild_id`, None in DMs); else `Refused`.

        Nothing is counted unless every check passes, so a refused question costs its asker nothing.
        """
        if wait := self.users.wait(user_id):
            raise Refused("user", wait)
        if guild_id is not None and (wait := self.servers.wait(guild_id)):
            raise Refused("server", wait)
        if not self.queue.has_room(user_id):
            raise Refused("busy", 1.0)
        self.users.take(user_id)
        if guild_id is not None:
            self.servers.take(guild_id)
        return self.queue.reserve(user_id)

    def reserve(self, user_id: int) -> Ticket:
        """A place in the queue for work that asks nothing new (paging an answer); `Refused` if full."""
        if not self.queue.has_room(user_id):
            raise Refused("busy", 1.0)
        return self.queue.reserve(user_id)

    def notice_due(self, user_id: int) -> bool:
        """Whether to tell `user_id` about a refused channel message: the first time in each user window."""
        now = self._clock()
        window = self.users.per
        if now - self._told.get(user_id, now - window) < window:
            return False
        self._told = {user: at for user, at in self._told.items() if now - at < window}
        self._told[user_id] = now
        return True
