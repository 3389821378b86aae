"""Where `/admin reindex` shows itself, and how its lease names who asked.

Discord lets a command's reply be edited for 15 minutes (the interaction token's life). A reindex can take
longer, so its progress starts in the ephemeral reply and, before the token runs out, moves to a direct
message to the admin, or to the command's channel when their DMs are closed (see `progress.OutlivingReply`).
The lease a reindex holds names the admin and the process (shards, machine, pid), for whoever asks next.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence

import discord

from bot.discord_app.progress import REPLY_SECONDS, Edit, OutlivingReply
from bot.discord_app.replies import reindex_elsewhere, reindex_moved, reindex_started
from index import describe_scope, guild_scope

log = logging.getLogger("storybot")


def reindex_reply(
    interaction: discord.Interaction,
    what: str,
    *,
    lasts: float = REPLY_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> OutlivingReply:
    """The messages of a reindex of `what` asked for by `interaction` (deferred already); enter it with
    `async with` to start the timer that moves it out of the reply after `lasts` seconds."""
    return OutlivingReply(
        lambda text: _edit_reply(interaction, text),
        lambda text: _post_elsewhere(interaction, text),
        first=reindex_started(what),
        moved=reindex_moved,
        lasts=lasts,
        clock=clock,
    )


def lease_holder(interaction: discord.Interaction, shard_ids: Sequence[int] | None) -> str:
    """Who a reindex lease names to the next asker: the admin, and which process on which machine."""
    shards = ",".join(str(shard) for shard in shard_ids or [0])
    return (
        f"{interaction.user.name} with /admin reindex "
        f"(storybot shards {shards} on {socket.gethostname()}, pid {os.getpid()})"
    )


def scope_words(lease_scope: str, guild_id: int | None) -> str:
    """A reindex's sources in words, seen from where the command ran: "this server's sources", ..."""
    if guild_id is not None and lease_scope == guild_scope(guild_id):
        return "this server's sources"
    return describe_scope(lease_scope)


async def _edit_reply(interaction: discord.Interaction, text: str) -> None:
    """Edit the command's reply; a failed edit is logged (the reindex goes on)."""
    try:
        await interaction.edit_original_response(content=text)
    except discord.HTTPException:
        log.warning("could not edit the reply of /admin reindex to %r", text[:80], exc_info=True)


async def _post_elsewhere(interaction: discord.Interaction, text: str) -> tuple[Edit, str]:
    """Post a reindex line where it can outlive the reply: a DM to the admin, else the channel."""
    server = interaction.guild.name if interaction.guild is not None else "a server"
    try:
        message = await interaction.user.send(reindex_elsewhere(server, text))
        where = "a direct message to you"
    except discord.HTTPException:  # DMs closed: the channel the command came from
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            raise
        message = await channel.send(reindex_elsewhere(server, text))
        where = f"<#{interaction.channel_id}>"

    async def edit(later: str) -> None:
        try:
            await message.edit(content=reindex_elsewhere(server, later))
        except discord.HTTPException:
            log.warning("could not edit the reindex message to %r", later[:80], exc_info=True)

    return edit, where
