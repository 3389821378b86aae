"""`storybot run`: settings, logging, endpoints, the index and the bot, made once here and nowhere else.

While Discord cannot be reached, the start logs one line per try and tries again with backoff
(`bot.discord_app.connecting`); the bot tells the database it is starting, then connected (its heartbeat,
for `storybot health`), then stopped.

SIGTERM (and Ctrl-C) stop the bot gracefully: `StoryBot.close` lets the answers in flight finish or tells
their users it is restarting, then the threads still at work (a reindex writing its transaction) finish, and
the database is closed cleanly. A second signal ends the process at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import discord

from bot.config import Settings, SettingsError
from bot.discord_app.admission import Admission
from bot.discord_app.announcer import FeedWatcher
from bot.discord_app.client import StoryBot
from bot.discord_app.connecting import UNREACHABLE, login_patiently, unreachable_reason
from bot.discord_app.endpoints import use_endpoints
from bot.discord_app.lifecycle import Lifecycle
from bot.discord_app.logs import setup_logging
from bot.discord_app.service import StoryService, unless_stopping
from index import StorybotError, StoryIndex, heartbeat_setting
from index.feeds import FeedPoller
from index.web.remote import link_loader

log = logging.getLogger("storybot")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def main(environ: Mapping[str, str]) -> None:
    """Run the bot until interrupted; bad settings or a rejected token end it with a one-line message."""
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        raise SystemExit(f"storybot: {error}") from None
    setup_logging(settings)
    use_endpoints(settings.api_base, settings.gateway_url)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        log.info("stopped")
    except discord.LoginFailure:
        raise SystemExit(
            "storybot: Discord rejected DISCORD_TOKEN; copy the token again from the Bot tab"
        ) from None
    except StorybotError as error:
        raise SystemExit(f"storybot: {error}") from None
    except UNREACHABLE as error:
        raise SystemExit(f"storybot: cannot reach Discord: {unreachable_reason(error)}") from None


async def serve(settings: Settings, *, retry_delays: Iterable[float] | None = None, **options: Any) -> None:
    """Open the bot and run it until the connection ends or a stop signal; `options` go to the client.

    While Discord is unreachable the login is tried again after each of `retry_delays` (by default with
    backoff, forever); a stop signal meanwhile ends the start cleanly.
    """
    async with open_bot(settings, **options) as bot:
        try:
            with stop_on_signals(bot):
                await bot.story.record_heartbeat(bot.heartbeat("starting"))
                if await login_patiently(bot, settings.token, bot.stop_requested, retry_delays):
                    await bot.connect()
        finally:
            await bot.close()
            # Work still running in threads (a reindex committing, a feed being indexed) ends before the
            # connections it uses are closed; each thread's fetches and queries have their own time limits.
            # (Only here: after this the event loop runs no more threads, which a test's loop still needs.)
            await asyncio.get_running_loop().shutdown_default_executor()


@contextlib.asynccontextmanager
async def open_bot(settings: Settings, **options: Any) -> AsyncIterator[StoryBot]:
    """The one composition root: the index (with the loader a reindex uses), the service, the feed watcher,
    the limits, the lifecycle and the client, made here and nowhere else; the index closed afterwards.

    The bot is set up but not connected (`bot.start(token)`, or `login` and `connect`); `options` go to
    the client. Leaving closes the bot, then the index.
    """
    stopping = threading.Event()
    # A reindex run for the bot fetches links again, within the operator's fetch policy; none is read once
    # the bot is stopping.
    loader = unless_stopping(link_loader(settings.fetch), stopping)
    index = StoryIndex(settings.database, postings_cache_bytes=settings.cache_bytes, loader=loader)
    try:
        log.info("index at %s", index.path)
        for problem in index.notices:  # a read-only file's missing story or unread log, said once
            log.warning(problem)
        poller = FeedPoller(index, settings.fetch, interval=settings.feed_poll_minutes * 60)
        story = StoryService(
            index,
            settings.fetch,
            poller,
            stopping,
            time_zone=settings.time_zone,
            heartbeat_key=heartbeat_setting(settings.shard_ids),
        )
        bot = StoryBot(
            settings,
            story,
            feeds=FeedWatcher(poller),
            admission=Admission(settings.user_limit, settings.server_limit),
            lifecycle=Lifecycle(settings.shutdown_seconds),
            **options,
        )
        async with bot:
            yield bot
    finally:
        close_index(index)


@contextlib.contextmanager
def stop_on_signals(bot: StoryBot) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT close `bot` gracefully; after the first, the default handlers
    return, so a second signal ends the process at once. Where the loop cannot catch signals (Windows),
    Ctrl-C keeps its usual effect."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    stopping: set[asyncio.Future[None]] = set()

    def stop(received: signal.Signals) -> None:
        log.info("received %s: stopping gracefully (send it again to stop at once)", received.name)
        for sig in installed:
            loop.remove_signal_handler(sig)
        stopping.add(asyncio.ensure_future(bot.close()))

    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop, sig)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def close_index(index: StoryIndex) -> None:
    """Close the index and every connection its worker threads opened."""
    index.close()
