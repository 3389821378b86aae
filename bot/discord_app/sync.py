"""Slash-command registration only when the commands changed: their hash is kept in the database.

Discord limits how often commands may be overwritten, and a global overwrite can take a while to reach every
client, so a restart with the same commands does not sync again. `DEV_GUILD_ID` syncs to one server at once.
The hash covers the application id: commands are registered per application, so a database first used with
one Discord application and then with another syncs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.discord_app.service import StoryService

HASH_SETTING = "command_hash"

log = logging.getLogger("storybot")


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: whether it overwrote the commands, where, and how many there are."""

    synced: bool
    guild_id: int | None
    count: int

    def describe(self) -> str:
        """One line for the log and for /admin sync."""
        where = f"to server {self.guild_id}" if self.guild_id else "globally"
        if not self.synced:
            return f"The {self.count} slash commands are unchanged since the last sync {where}."
        return f"Synced {self.count} slash commands {where}."


def commands_payload(
    tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None
) -> list[dict[str, Any]]:
    """The command definitions exactly as a sync would send them."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def commands_hash(payload: list[dict[str, Any]], application_id: int | None) -> str:
    """A stable digest of command definitions for one application (key and list order do not matter)."""
    canonical = sorted(json.dumps(command, sort_keys=True) for command in payload)
    return hashlib.sha256("\n".join([f"application:{application_id}", *canonical]).encode()).hexdigest()


async def sync_commands(
    tree: app_commands.CommandTree[Any], story: StoryService, dev_guild_id: int | None, *, force: bool = False
) -> SyncResult:
    """Overwrite the registered commands if they changed since the last sync (or if `force`)."""
    guild = discord.Object(id=dev_guild_id) if dev_guild_id else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    payload = commands_payload(tree, guild)
    digest = commands_hash(payload, tree.client.application_id)
    key = f"{HASH_SETTING}:{dev_guild_id or 'global'}"
    if not force and await story.get_setting(key) == digest:
        result = SyncResult(False, dev_guild_id, len(payload))
    else:
        await tree.sync(guild=guild)
        # On a read-only database the hash is not kept: the next start syncs again, which is harmless.
        await story.remember(key, digest)
        result = SyncResult(True, dev_guild_id, len(payload))
    log.info(result.describe())
    return result
