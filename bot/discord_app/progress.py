"""Reindex progress: from the worker thread to throttled message edits on the event loop, in the command's
reply while Discord lets it be edited and in a message of its own after that."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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


REPLY_SECONDS = 14 * 60.0
"""How long a command's reply is edited: Discord's interaction token lasts 15 minutes, less a margin."""

Edit = Callable[[str], Awaitable[None]]
Post = Callable[[str], Awaitable[tuple[Edit, str]]]
"""Posts a text elsewhere (a DM, a channel); returns how to edit that message and where it went, in words."""

log = logging.getLogger("storybot")


class OutlivingReply:
    """A long job's messages: in the command's reply while its token lasts, then in a message of its own.

    Discord refuses edits of an interaction's reply 15 minutes after the command. About a minute before
    (`lasts` seconds after it was made), the last text shown moves to a message posted by `post`, the reply
    says where it went (`moved(where)`), and later texts edit that message. The move happens on a timer, so
    a job that shows nothing for a while still moves in time; `clock` and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        edit_reply: Edit,
        post: Post,
        *,
        first: str,
        moved: Callable[[str], str],
        lasts: float = REPLY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`first` is what is posted if the move comes before anything was shown."""
        self._edit_reply = edit_reply
        self._post = post
        self._moved = moved
        self._lasts = lasts
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._last = first
        self._elsewhere: Edit | None = None
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    @property
    def moved(self) -> bool:
        """Whether the texts now go to a message of their own."""
        return self._elsewhere is not None

    async def __aenter__(self) -> OutlivingReply:
        self._timer = asyncio.create_task(self._move_in_time())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer

    async def show(self, text: str) -> None:
        """Show `text` where the job's messages go now (moving first if the reply's time is up)."""
        async with self._lock:
            self._last = text
            if self._elsewhere is None and self._clock() - self._started >= self._lasts:
                await self._move()
                return
            await (self._elsewhere or self._edit_reply)(text)

    async def _move_in_time(self) -> None:
        await self._sleep(max(0.0, self._lasts - (self._clock() - self._started)))
        async with self._lock:
            if self._elsewhere is None:
                await self._move()

    async def _move(self) -> None:
        try:
            self._elsewhere, where = await self._post(self._last)
        except Exception:  # nowhere to move to: keep editing the reply for as long as Discord allows
            log.warning("could not move a long reply to a message of its own", exc_info=True)
            self._lasts = float("inf")
            await self._edit_reply(self._last)
            return
        await self._edit_reply(self._moved(where))
