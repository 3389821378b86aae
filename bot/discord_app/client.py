"""`StoryBot`: the discord.py client. It receives its collaborators (`runner.open_bot` makes them); no global
state.

Intents: guilds, guild messages and DMs, none of them privileged. Without the message content intent Discord
still delivers the text of DMs and of messages that mention the bot, which is all the bot reads.

`close()` stops gracefully (see `bot.discord_app.lifecycle`): new questions are refused, answers in flight
finish or their users are told the bot is restarting, a running reindex gives up before writing, and only
then does the bot disconnect.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.discord_app.admin import AdminCommands
from bot.discord_app.admission import Admission
from bot.discord_app.announcer import FeedWatcher
from bot.discord_app.buttons import DYNAMIC_ITEMS
from bot.discord_app.errors import handle_interaction_error, new_error_id, track_interaction
from bot.discord_app.lifecycle import Lifecycle
from bot.discord_app.progress import REPLY_SECONDS
from bot.discord_app.questions import QuestionCommands
from bot.discord_app.service import StoryService
from bot.discord_app.sync import SyncResult, sync_commands
from bot.discord_app.timeline import TimelineButton, TimelineCommands
from index import HEARTBEAT_SECONDS, BotState, Heartbeat

log = logging.getLogger("storybot")


def bot_intents() -> discord.Intents:
    """Servers, server messages and DMs; no privileged intent."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    return intents


class StoryTree(app_commands.CommandTree[Any]):
    """The command tree, sending every command failure through the one error path."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Track each command as work in flight; once the bot is stopping, refuse it politely."""
        if interaction.type is discord.InteractionType.autocomplete:
            lifecycle = getattr(self.client, "lifecycle", None)
            return not (isinstance(lifecycle, Lifecycle) and lifecycle.closing)
        track_interaction(interaction)  # a Refusal once stopping, answered through `on_error`
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """A polite private reply, and the traceback in the log for unexpected errors."""
        await handle_interaction_error(interaction, error)


class StoryBot(commands.AutoShardedBot):
    """The storybot Discord client."""

    def __init__(
        self,
        settings: Settings,
        story: StoryService,
        *,
        feeds: FeedWatcher,
        admission: Admission,
        lifecycle: Lifecycle,
        progress_interval: float = 1.5,
        reply_seconds: float = REPLY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        identify_delay: float = 5.0,
        heartbeat_interval: float = HEARTBEAT_SECONDS,
        **options: Any,
    ) -> None:
        # A text bot: discord.py's start-up warnings that voice needs PyNaCl and davey do not apply to it.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        # With a gateway of its own and no shard count, one shard connects there directly instead of asking
        # the REST API where to connect.
        shard_count = settings.shard_count or (1 if settings.gateway_url else None)
        if settings.shard_ids is not None:
            options["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=bot_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=StoryTree,
            shard_count=shard_count,
            **options,
        )
        self.settings = settings
        self.story = story
        self.feeds = feeds
        feeds.attach(self)
        self.admission = admission
        self.lifecycle = lifecycle
        self.progress_interval = progress_interval
        self.reply_seconds = reply_seconds
        """How long a command's reply is edited before a long reindex moves to a message of its own."""
        self.clock = clock
        self.identify_delay = identify_delay
        self.heartbeat_interval = heartbeat_interval
        self.started_at = time.monotonic()
        self.started_wall = time.time()
        self.stop_requested = asyncio.Event()
        """Set by the first `close()`: a start still waiting for Discord gives up."""
        self._stopping: asyncio.Task[None] | None = None
        self._heartbeats: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Register the persistent buttons and the commands; sync the commands if they changed; start
        polling the followed feeds and recording the heartbeat (unless the database is read-only)."""
        await self.register_commands()
        await self.sync_commands()
        if self.story.read_only:
            # Polling would index new articles and the heartbeat is a write: neither can be stored here.
            self.story.warn_read_only()
        else:
            self.feeds.start()
            self._heartbeats = asyncio.create_task(self._record_heartbeats())

    async def register_commands(self) -> None:
        """Add the slash commands and persistent buttons (no network: a docs test can list `self.tree`)."""
        self.add_dynamic_items(*DYNAMIC_ITEMS, TimelineButton)
        await self.add_cog(QuestionCommands(self))
        await self.add_cog(TimelineCommands(self))
        await self.add_cog(
            AdminCommands(
                self,
                progress_interval=self.progress_interval,
                reply_seconds=self.reply_seconds,
                clock=self.clock,
            )
        )

    async def sync_commands(self, *, force: bool = False) -> SyncResult:
        """Sync the slash commands to DEV_GUILD_ID or globally, when they changed (or when forced)."""
        return await sync_commands(self.tree, self.story, self.settings.dev_guild_id, force=force)

    async def is_owner(self, user: discord.abc.User, /) -> bool:
        """OWNER_IDS, or the application's owner or team (admins and developers)."""
        return user.id in self.settings.owner_ids or await super().is_owner(user)

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: questions in messages are handled by `QuestionCommands`."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait `identify_delay` seconds before identifying again (Discord limits identifies)."""
        if not initial:
            await asyncio.sleep(self.identify_delay)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Log a failed event handler with an error id; the bot keeps running."""
        log.exception("error %s in event %s", new_error_id(), event_method)

    async def close(self) -> None:
        """Stop gracefully (once, however often called): refuse new work, let the work in flight finish
        within the grace period or tell its users, stop polling feeds, disconnect, then let background
        bookkeeping finish."""
        self.stop_requested.set()
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        log.info("stopping: %d handlers in flight", self.lifecycle.running)
        self.story.stop()
        await self.lifecycle.stop()
        await self.feeds.stop()
        if self._heartbeats is not None:
            self._heartbeats.cancel()
        await super().close()
        await self.story.record_heartbeat(self.heartbeat("stopped"))
        await self.story.drain()
        log.info("stopped")

    def heartbeat(self, state: BotState, latency: float | None = None) -> Heartbeat:
        """What `storybot health` is told: this bot's state now, and since when it runs."""
        return Heartbeat(state, time.time(), self.started_wall, latency)

    def gateway_alive(self) -> bool:
        """Ready, and every shard connected with a heartbeat acknowledged by the gateway."""
        shards_open = all(not shard.is_closed() for shard in self.shards.values())
        return self.is_ready() and not self.is_closed() and shards_open and math.isfinite(self.latency)

    async def _record_heartbeats(self) -> None:
        """Every `heartbeat_interval` seconds while the gateway connection is alive, tell the database."""
        await self.wait_until_ready()
        while not self.is_closed():
            if self.gateway_alive():
                await self.story.record_heartbeat(self.heartbeat("connected", self.latency))
            await asyncio.sleep(self.heartbeat_interval)
