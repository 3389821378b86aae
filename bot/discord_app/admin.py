"""`/admin`: sources (add, remove, list, follow feeds), reindex, the server's time zone, status and command
sync, for members with Manage Server and the bot's owners.

Discord hides the group from members without Manage Server (default permissions) and never offers it in
DMs; the bot checks again at run time, because server admins can change who sees a command. A server's
admins manage that server's own sources only: they are the only ones it lists, offers and removes. The
shared sources, which every server and DM searches, are the owners' (`scope:shared`).

On a database the bot can only read, every command that would change it (add, remove, follow, unfollow,
reindex, timezone with a zone) is refused with one sentence before it starts; listing and status still work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.errors import Refusal, new_error_id
from bot.discord_app.picks import feed_key, source_key
from bot.discord_app.progress import REPLY_SECONDS, ProgressRelay
from bot.discord_app.reindex_reply import lease_holder, reindex_reply, scope_words
from bot.discord_app.replies import (
    add_failed,
    added_reply,
    admin_sources_reply,
    feed_choice,
    followed_reply,
    notice,
    read_only_notice,
    reindex_failed,
    reindex_progress,
    reindex_running,
    reindex_stopped,
    reindex_summary,
    removed_notice,
    source_choice,
    status_reply,
    unfollowed_notice,
    unknown_feed,
    unknown_source,
    zone_problem,
    zone_reply,
)
from bot.discord_app.service import ReindexStopped
from bot.discord_app.time_zones import MAX_ZONE_CHARS, zone_choices
from index import (
    EVERYTHING,
    SHARED_SCOPE,
    DateError,
    FeedRecord,
    LeaseTaken,
    ReadOnlyDatabase,
    SourceError,
    SourceRecord,
    StorybotError,
    UnknownFeed,
    UnknownSource,
    guild_scope,
)

if TYPE_CHECKING:
    from bot.discord_app.client import StoryBot

log = logging.getLogger("storybot")

NOT_ADMIN = "Only members with the Manage Server permission, or the bot's owners, can use `/admin`."
NOT_OWNER = "Only the bot's owners can use `/admin sync`."
NOT_OWNER_REINDEX = "Only the bot's owners can reindex the shared sources or every source."
NOT_OWNER_SHARED = "Only the bot's owners can change the shared sources (`scope:shared`)."
LINK_OR_FILE = "Give either a link (`url:`) or a file (`file:`) to add."
MAX_CHOICES = 25
SCOPES = [
    app_commands.Choice(name="this server (default)", value="server"),
    app_commands.Choice(name="shared by every server and DM (bot owners only)", value="shared"),
]
REINDEX_SCOPES = [
    app_commands.Choice(name="this server's sources (default)", value="server"),
    app_commands.Choice(name="the shared sources (bot owners only)", value="shared"),
    app_commands.Choice(
        name="every source: every server's and the shared ones (bot owners only)", value="everything"
    ),
]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
@app_commands.allowed_installs(guilds=True, users=False)
class AdminCommands(commands.GroupCog, group_name="admin"):
    """Keep the index current and see how the bot is doing (Manage Server)."""

    def __init__(
        self,
        bot: StoryBot,
        *,
        progress_interval: float = 1.5,
        reply_seconds: float = REPLY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`reply_seconds` and `clock` decide when a long reindex moves out of its reply (see progress)."""
        self.bot = bot
        self.progress_interval = progress_interval
        self.reply_seconds = reply_seconds
        self.clock = clock
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Manage Server in this server, or an owner; anyone else is refused privately."""
        if interaction.guild_id is not None and interaction.permissions.manage_guild:
            return True
        if await self.bot.is_owner(interaction.user):
            return True
        raise Refusal(NOT_ADMIN)

    # -- sources ---------------------------------------------------------------------------------

    @app_commands.command(name="add")
    @app_commands.describe(
        url="A link to a news article (http or https)",
        file="A .txt, .md, .html or .jsonl file of articles (5 MB at most unless the operator set otherwise)",
        scope="Where the article goes: this server's sources (default), or shared (bot owners only)",
    )
    @app_commands.choices(scope=SCOPES)
    async def add(
        self,
        interaction: discord.Interaction,
        url: str | None = None,
        file: discord.Attachment | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        """Add an article to this server's sources, from a link or a file."""
        if (url is None) == (file is None):
            raise Refusal(LINK_OR_FILE)
        self._refuse_if_read_only()
        target, where = await self._target(interaction, scope)
        limit = self.bot.story.fetch_policy.max_bytes
        if file is not None and file.size > limit:  # refused before downloading anything
            raise Refusal(add_failed(f"{file.filename}: {file.size:,} bytes, over the {limit:,}-byte limit"))
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(await self._add(url, file, target, where), ephemeral=True)

    async def _add(self, url: str | None, file: discord.Attachment | None, target: str, where: str) -> str:
        """The reply to an add: what was indexed, or why nothing was."""
        try:
            if file is not None:
                report = await self.bot.story.add_upload(await file.read(), file.filename, target)
            else:
                report = await self.bot.story.add_link((url or "").strip(), target)
        except SourceError as error:
            return add_failed(str(error))
        except discord.HTTPException as error:
            name = file.filename if file is not None else url
            return add_failed(f"{name}: the upload could not be downloaded (HTTP {error.status})")
        return added_reply(report, where)

    @app_commands.command(name="remove")
    @app_commands.describe(source="The source to remove: start typing its title, or paste its id or link")
    async def remove(self, interaction: discord.Interaction, source: str) -> None:
        """Remove one of this server's sources; questions no longer find it."""
        self._refuse_if_read_only()
        scopes = await self._managed_scopes(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            record = await self.bot.story.remove(source.strip(), scopes)
        except UnknownSource:
            # The same answer whether another server holds the id or nobody does: nothing leaks.
            await interaction.followup.send(unknown_source(source.strip()), ephemeral=True)
            return
        await interaction.followup.send(removed_notice(record), ephemeral=True)

    @remove.autocomplete("source")
    async def _source_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        def offered(records: list[SourceRecord], _: list[FeedRecord]) -> list[tuple[str, str]]:
            matching = _matching(reversed(records), current, lambda record: (record.title, record.id))
            return [
                source_choice(record, source_key(record), shared=record.scope == SHARED_SCOPE)
                for record in matching
            ]

        return await self._choices(interaction, offered)

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """This server's sources: where each came from, when fetched, its status; and the followed feeds."""
        scopes = await self._managed_scopes(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        records, feeds = await self.bot.story.managed(scopes)
        where = "this server" if SHARED_SCOPE not in scopes else "this server, and the shared ones"
        reply = admin_sources_reply(records, feeds, where)
        await interaction.followup.send(**reply.send_kwargs(), ephemeral=True)

    @app_commands.command(name="follow")
    @app_commands.describe(
        feed="The link of an RSS or Atom feed that follows the story",
        channel="A channel where new articles are announced with their title and link (optional)",
        scope="Where its articles go: this server's sources (default), or shared (bot owners only)",
    )
    @app_commands.choices(scope=SCOPES)
    async def follow(
        self,
        interaction: discord.Interaction,
        feed: str,
        channel: discord.TextChannel | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        """Follow a developing story: a feed's new articles are indexed (and announced in a channel)."""
        self._refuse_if_read_only()
        target, where = await self._target(interaction, scope)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            report = await self.bot.story.follow(feed.strip(), target, channel.id if channel else None)
        except SourceError as error:
            await interaction.followup.send(add_failed(str(error), "follow"), ephemeral=True)
            return
        self.bot.feeds.wake()
        minutes = self.bot.settings.feed_poll_minutes
        await interaction.followup.send(followed_reply(report, where, minutes), ephemeral=True)

    @app_commands.command(name="unfollow")
    @app_commands.describe(feed="The feed to stop following: start typing its title, or paste its link")
    async def unfollow(self, interaction: discord.Interaction, feed: str) -> None:
        """Stop following a feed; the articles it brought stay indexed."""
        self._refuse_if_read_only()
        try:
            record = await self.bot.story.unfollow(feed.strip(), await self._managed_scopes(interaction))
        except UnknownFeed:
            await interaction.response.send_message(unknown_feed(feed.strip()), ephemeral=True)
            return
        await interaction.response.send_message(unfollowed_notice(record), ephemeral=True)

    @unfollow.autocomplete("feed")
    async def _feed_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        def offered(_: list[SourceRecord], feeds: list[FeedRecord]) -> list[tuple[str, str]]:
            matching = _matching(feeds, current, lambda feed: (feed.title or "", feed.url))
            return [feed_choice(feed, feed_key(feed), shared=feed.scope == SHARED_SCOPE) for feed in matching]

        return await self._choices(interaction, offered)

    async def _choices(
        self,
        interaction: discord.Interaction,
        offered: Callable[[list[SourceRecord], list[FeedRecord]], list[tuple[str, str]]],
    ) -> list[app_commands.Choice[str]]:
        """Autocomplete choices (name, value) picked from this server's sources and feeds by `offered`,
        for members who may manage them (nobody else is offered anything)."""
        if not await self._may_manage(interaction):
            return []
        records, feeds = await self.bot.story.managed(await self._managed_scopes(interaction))
        return [app_commands.Choice(name=name, value=value) for name, value in offered(records, feeds)]

    # -- the index ---------------------------------------------------------------------------------

    @app_commands.command(name="reindex")
    @app_commands.describe(
        scope="Whose sources to re-read: this server's (default); shared or every source for bot owners"
    )
    @app_commands.choices(scope=REINDEX_SCOPES)
    async def reindex(
        self, interaction: discord.Interaction, scope: app_commands.Choice[str] | None = None
    ) -> None:
        """Re-read this server's sources and rebuild them; questions are answered meanwhile."""
        self._refuse_if_read_only()
        lease_scope = await self._reindex_scope(interaction, scope)
        what = scope_words(lease_scope, interaction.guild_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with reindex_reply(interaction, what, lasts=self.reply_seconds, clock=self.clock) as reply:
            relay = ProgressRelay(
                lambda done, total: reply.show(reindex_progress(done, total, what)), self.progress_interval
            )
            shown = asyncio.create_task(relay.run())
            try:
                holder = lease_holder(interaction, self.bot.shard_ids)
                report = await self.bot.story.reindex(relay, lease_scope, holder)
            except LeaseTaken as error:
                text = reindex_running(scope_words(error.held.scope, interaction.guild_id), error.held)
            except ReindexStopped:
                text = reindex_stopped()
            except ReadOnlyDatabase:  # it turned read-only after the check (a remount)
                text = read_only_notice()
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
            await reply.show(text)

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Index size, last reindex, questions, feedback, answer latency and uptime."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats, usage = await self.bot.story.status()
        zone = await self.bot.story.zone_for(interaction.guild_id)
        uptime = time.monotonic() - self.bot.started_at
        reply = status_reply(stats, usage, uptime, zone.name, zone_chosen=zone.chosen)
        await interaction.followup.send(**reply.send_kwargs(), ephemeral=True)

    @app_commands.command(name="timezone")
    @app_commands.describe(
        zone="An IANA time zone, e.g. Europe/Berlin or America/New_York (leave out to see the current one)"
    )
    async def timezone(
        self,
        interaction: discord.Interaction,
        zone: app_commands.Range[str, 1, MAX_ZONE_CHARS] | None = None,
    ) -> None:
        """The time zone this server's dates ("yesterday", "last week") are read in: see it, or set it."""
        if interaction.guild_id is None:  # /admin is guild-only; kept for a command synced before that
            raise Refusal(notice("A time zone belongs to a server: use this command in one."))
        story = self.bot.story
        if zone is None:
            current = await story.zone_for(interaction.guild_id)
            shown = zone_reply(current.name, chosen=current.chosen, changed=False)
            await interaction.response.send_message(shown, ephemeral=True)
            return
        self._refuse_if_read_only()
        try:
            chosen = await story.set_zone(interaction.guild_id, zone)
        except DateError as error:
            raise Refusal(zone_problem(str(error))) from None
        changed = zone_reply(chosen.name, chosen=True, changed=True)
        await interaction.response.send_message(changed, ephemeral=True)

    @timezone.autocomplete("zone")
    async def _zone_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not await self._may_manage(interaction):
            return []
        names = await asyncio.to_thread(zone_choices, current)  # the first call lists the tz database
        return [app_commands.Choice(name=name, value=name) for name in names]

    @app_commands.command(name="sync")
    async def sync(self, interaction: discord.Interaction) -> None:
        """Register the slash commands with Discord again (bot owners only)."""
        if not await self.bot.is_owner(interaction.user):
            raise Refusal(NOT_OWNER)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.bot.sync_commands(force=True)
        await interaction.followup.send(notice(result.describe()), ephemeral=True)

    # -- whose sources -----------------------------------------------------------------------------

    def _refuse_if_read_only(self) -> None:
        """Refuse a command that would write a database the bot can only read, before it starts."""
        if self.bot.story.read_only:
            raise Refusal(read_only_notice())

    async def _may_manage(self, interaction: discord.Interaction) -> bool:
        """The run-time check, for autocomplete (which Discord sends without running `interaction_check`)."""
        if interaction.guild_id is not None and interaction.permissions.manage_guild:
            return True
        return await self.bot.is_owner(interaction.user)

    async def _managed_scopes(self, interaction: discord.Interaction) -> tuple[str, ...]:
        """What this user manages here: this server's sources, and the shared ones for an owner."""
        scopes = [guild_scope(interaction.guild_id)] if interaction.guild_id is not None else []
        if await self.bot.is_owner(interaction.user):
            scopes.append(SHARED_SCOPE)
        return tuple(scopes)

    async def _reindex_scope(
        self, interaction: discord.Interaction, choice: app_commands.Choice[str] | None
    ) -> str:
        """The lease scope a reindex re-reads: this server's (for everyone), shared or EVERYTHING (owners)."""
        wanted = choice.value if choice is not None else "server"
        if wanted != "server" and not await self.bot.is_owner(interaction.user):
            raise Refusal(NOT_OWNER_REINDEX)
        if wanted == "everything":
            return EVERYTHING
        if wanted == "shared":
            return SHARED_SCOPE
        if interaction.guild_id is None:  # /admin is guild-only; kept for a command synced before that
            raise Refusal(notice("Outside a server, choose the shared sources or every source."))
        return guild_scope(interaction.guild_id)

    async def _target(
        self, interaction: discord.Interaction, choice: app_commands.Choice[str] | None
    ) -> tuple[str, str]:
        """The scope an add or follow goes to, and how to name it; shared only for owners."""
        if choice is not None and choice.value == "shared":
            if not await self.bot.is_owner(interaction.user):
                raise Refusal(NOT_OWNER_SHARED)
            return SHARED_SCOPE, "the shared sources (every server and DM)"
        if interaction.guild_id is None:
            raise Refusal(notice("Outside a server, add to the shared sources with `scope:shared`."))
        return guild_scope(interaction.guild_id), "this server's sources"


_Item = TypeVar("_Item")


def _matching(items: Iterable[_Item], typed: str, text_of: Callable[[_Item], Iterable[str]]) -> list[_Item]:
    """The first `MAX_CHOICES` items with one of their texts containing what was typed, ignoring case."""
    needle = typed.strip().lower()
    return [item for item in items if any(needle in text.lower() for text in text_of(item))][:MAX_CHOICES]
