"""`/admin`: reindex, status and command sync, for members with Manage Server and the bot's owners.

Discord hides the group from members without Manage Server (default permissions) and never offers it in
DMs; the bot checks again at run time, because server admins can change who sees a command.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import Refusal, new_error_id
from bot.formatting import notice, reindex_failed, reindex_progress, reindex_summary, status_reply
from bot.progress import ProgressRelay
from index import StorybotError

if TYPE_CHECKING:
    from bot.client import StoryBot

log = logging.getLogger("storybot")

NOT_ADMIN = "Only members with the Manage Server permission, or the bot's owners, can use `/admin`."
NOT_OWNER = "Only the bot's owners can use `/admin sync`."
ALREADY_REINDEXING = "A reindex is already running; its progress message shows how far it got."


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
@app_commands.allowed_installs(guilds=True, users=False)
class AdminCommands(commands.GroupCog, group_name="admin"):
    """Keep the index current and see how the bot is doing (Manage Server)."""

    def __init__(self, bot: StoryBot, *, progress_interval: float = 1.5) -> None:
        self.bot = bot
        self.progress_interval = progress_interval
        self.reindex_lock = asyncio.Lock()
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Manage Server in this server, or an owner; anyone else is refused privately."""
        if interaction.guild_id is not None and interaction.permissions.manage_guild:
            return True
        if await self.bot.is_owner(interaction.user):
            return True
        raise Refusal(NOT_ADMIN)

    @app_commands.command(name="reindex")
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Re-read every source and rebuild the index; questions are answered meanwhile."""
        if self.reindex_lock.locked():
            raise Refusal(ALREADY_REINDEXING)
        async with self.reindex_lock:
            await interaction.response.defer(ephemeral=True, thinking=True)

            async def show(done: int, total: int) -> None:
                try:
                    await interaction.edit_original_response(content=reindex_progress(done, total))
                except discord.HTTPException:
                    log.warning("could not show reindex progress %s/%s", done, total, exc_info=True)

            relay = ProgressRelay(show, self.progress_interval)
            shown = asyncio.create_task(relay.run())
            try:
                report = await self.bot.story.reindex(relay)
            except StorybotError as error:
                text = reindex_failed(str(error))
            except Exception as error:  # a failed reindex is reported, and the old index keeps answering
                error_id = new_error_id()
                log.error("error %s: reindex failed", error_id, exc_info=error)
                text = reindex_failed(f"{type(error).__name__}: {error} (error id {error_id})")
            else:
                text = reindex_summary(report)
            finally:
                relay.close()
                await shown
            await interaction.edit_original_response(content=text)

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Index size, last reindex, questions, feedback, answer latency and uptime."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats, usage = await self.bot.story.status()
        reply = status_reply(stats, usage, time.monotonic() - self.bot.started_at)
        await interaction.followup.send(**reply.send_kwargs(), ephemeral=True)

    @app_commands.command(name="sync")
    async def sync(self, interaction: discord.Interaction) -> None:
        """Register the slash commands with Discord again (bot owners only)."""
        if not await self.bot.is_owner(interaction.user):
            raise Refusal(NOT_OWNER)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.bot.sync_commands(force=True)
        await interaction.followup.send(notice(result.describe()), ephemeral=True)
