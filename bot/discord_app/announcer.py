"""The background task that polls the followed feeds and announces new articles in their channels.

The polling itself is `index.feeds.FeedPoller` (no Discord); this module only schedules it and posts what it
found. It sleeps until the next feed is due (or until `/admin follow` wakes it), and nothing it meets, a feed
failing or a channel refusing a message, ever ends it. With sharding over several processes each polls the
feeds of its own servers' shards, and the process running shard 0 the shared ones, so none is polled twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import discord

from bot.discord_app.replies import announcement
from index import PollReport, guild_of
from index.feeds import FeedPoller

log = logging.getLogger("storybot")

MIN_SLEEP = 0.5
"""Never poll again sooner than this, whatever the interval, so a broken clock cannot spin the loop."""


class FeedWatcher:
    """Runs `poller` while the bot runs: `attach(bot)` once, start with `start()`, end with `await stop()`."""

    def __init__(self, poller: FeedPoller) -> None:
        self.poller = poller
        self._bot: discord.Client | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def attach(self, bot: discord.Client) -> None:
        """Announce through `bot`, and poll the feeds of its shards (the bot calls this when it is made)."""
        self._bot = bot

    @property
    def bot(self) -> discord.Client:
        """The client that announces; `attach` it first."""
        if self._bot is None:
            raise RuntimeError("the feed watcher has no bot: call attach(bot) first")
        return self._bot

    def start(self) -> None:
        """Start polling in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="storybot-feeds")

    async def stop(self) -> None:
        """Stop polling and wait for the task to end."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Look at the schedule again now (a feed was followed)."""
        self._wake.set()

    def owns(self, scope: str) -> bool:
        """Whether this process polls the feeds of `scope` (see the module's note on sharding)."""
        shard_ids: Sequence[int] | None = getattr(self.bot, "shard_ids", None)
        shard_count = self.bot.shard_count
        if not shard_ids or not shard_count:
            return True
        guild_id = guild_of(scope)
        if guild_id is not None:
            return (guild_id >> 22) % shard_count in shard_ids
        return 0 in shard_ids

    async def poll_once(self) -> list[PollReport]:
        """Poll the feeds that are due and announce what they brought."""
        reports = await self.poller.poll_due(self.owns)
        for report in reports:
            # One line per poll: with several shard processes, each feed's lines come from one of them.
            log.info(
                "polled the feed %s for %s: %d new", report.feed.url, report.feed.scope, len(report.new_items)
            )
            await self.announce(report)
        return reports

    async def announce(self, report: PollReport) -> None:
        """Post a poll's new articles in its feed's channel, if it has one."""
        feed = report.feed
        if feed.channel_id is None or not report.new_items:
            return
        channel = self.bot.get_partial_messageable(feed.channel_id, guild_id=guild_of(feed.scope))
        try:
            await channel.send(announcement(feed, report.new_items))
        except discord.HTTPException:
            log.warning("could not announce new articles of %s in channel %s", feed.url, feed.channel_id)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.poll_once()
                wait = await self.poller.seconds_until_due()
            except Exception:  # polling must outlive any failure; the next round tries again
                log.exception("feed polling failed")
                wait = None
            delay = self.poller.interval if wait is None else min(wait, self.poller.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, MIN_SLEEP))
