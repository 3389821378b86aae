"""A graceful stop: the work in flight is tracked, so that stopping can let it finish or tell its users.

Each handler's task is registered when it starts (slash commands in the tree's `interaction_check`, buttons
in `errors.guarded`, messages in the message listener) with what to tell its user if it must be abandoned.
`stop()` then refuses new work, waits up to `grace` seconds for the registered tasks, cancels those still
running and sends each of their users its notice, all while the connection to Discord is still open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("storybot")

Notify = Callable[[], Awaitable[None]]
"""Tells a handler's user that the bot is restarting (called after its task was cancelled)."""

NOTICE_TIMEOUT = 3.0
"""Seconds the restarting notices may take in all, after the grace period."""


class Lifecycle:
    """In-flight handler tasks, and `stop()`: finish them within `grace` seconds, or tell their users."""

    def __init__(self, grace: float = 5.0) -> None:
        self.grace = grace
        self.closing = False
        self._tasks: dict[asyncio.Task[object], Notify] = {}

    def track(self, notify: Notify) -> None:
        """Register the current task until it ends; `notify` tells its user if it has to be abandoned."""
        task = asyncio.current_task()
        if task is None or task in self._tasks:
            return
        self._tasks[task] = notify
        task.add_done_callback(self._forget)

    @property
    def running(self) -> int:
        """Handler tasks in flight."""
        return len(self._tasks)

    async def stop(self) -> None:
        """Refuse new work, wait for the work in flight, then cancel what is left and tell its users."""
        self.closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        me = asyncio.current_task()
        # New tasks may register meanwhile (a refusal being answered): each round waits for them too.
        while (tasks := [t for t in self._tasks if t is not me]) and (left := deadline - loop.time()) > 0:
            await asyncio.wait(tasks, timeout=left)
        abandoned = {task: self._tasks[task] for task in self._tasks if task is not me}
        if not abandoned:
            return
        log.warning("stopping: %d handlers still running after %.1f s cancelled", len(abandoned), self.grace)
        for task in abandoned:
            task.cancel()
        await asyncio.wait(abandoned, timeout=NOTICE_TIMEOUT)
        notices = [asyncio.ensure_future(notify()) for notify in abandoned.values()]
        done, late = await asyncio.wait(notices, timeout=NOTICE_TIMEOUT)
        for notice in late:
            notice.cancel()
        for notice in done:
            if not notice.cancelled() and (error := notice.exception()) is not None:
                log.warning("could not tell a user the bot is restarting", exc_info=error)

    def _forget(self, task: asyncio.Task[object]) -> None:
        self._tasks.pop(task, None)
