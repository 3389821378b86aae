"""Reindex progress, from the worker thread to throttled message edits on the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Show = Callable[[int, int], Awaitable[None]]


class ProgressRelay:
    """Call it from any thread with (done, total); `run` shows the updates, at most one per `interval`.

    The first update and the last one (done == total) are always shown; updates in between that arrive
    within `interval` of the previous edit are skipped, so a fast reindex does not flood Discord with edits.
    """

    def __init__(self, show: Show, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._show = show
        self._interval = interval
        self._clock = clock
        self._loop = asyncio.get_running_loop()
        self._updates: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()

    def __call__(self, done: int, total: int) -> None:
        """Thread-safe: queue an update for the event loop."""
        self._loop.call_soon_threadsafe(self._updates.put_nowait, (done, total))

    def close(self) -> None:
        """No more updates will come (call on the event loop); `run` returns once the queue is shown."""
        self._updates.put_nowait(None)

    async def run(self) -> None:
        """Show updates until `close`."""
        last_shown: float | None = None
        while (update := await self._updates.get()) is not None:
            done, total = update
            now = self._clock()
            if last_shown is None or done >= total or now - last_shown >= self._interval:
                await self._show(done, total)
                last_shown = now
