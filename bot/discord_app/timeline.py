"""/timeline: the story's sources in date order, paged privately with Previous/Next buttons like /sources.

The page buttons' custom ids are `storybot:timeline:<prev|next>:<page>[:<since>:<until>]`, the range of days
written as `/ask`'s More button writes it (`buttons.window_id`); the words followed (`about`) are read back
from the page's title (`replies.about_of`), so the buttons keep working after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

import discord
from discord import app_commands, ui
from discord.ext import commands

from bot.discord_app.buttons import WINDOW_ID, Button, story_of, window_id, window_of
from bot.discord_app.errors import guarded
from bot.discord_app.questions import SINCE_HELP, UNTIL_HELP, dated_window
from bot.discord_app.replies import about_of, timeline_pages, timeline_reply
from index import MAX_DATE_CHARS, MAX_QUESTION_CHARS, DateWindow, view_scopes

if TYPE_CHECKING:
    from bot.discord_app.client import StoryBot


def timeline_view(page: int, pages: int, window: DateWindow | None = None) -> ui.View | None:
    """Previous/next buttons for /timeline (keeping its range of days), or None when it fits on one page."""
    if pages <= 1:
        return None
    view = ui.View(timeout=None)
    view.add_item(TimelineButton("prev", page - 1, window, disabled=page <= 0))
    view.add_item(TimelineButton("next", page + 1, window, disabled=page >= pages - 1))
    return view


class TimelineCommands(commands.Cog):
    """Following a story over time."""

    def __init__(self, bot: StoryBot) -> None:
        self.bot = bot

    @app_commands.command(name="timeline")
    @app_commands.describe(
        about="Only the articles that mention these words, e.g. GPUs (default: all)",
        since=SINCE_HELP,
        until=UNTIL_HELP,
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def timeline(
        self,
        interaction: discord.Interaction,
        about: app_commands.Range[str, 1, MAX_QUESTION_CHARS] | None = None,
        since: app_commands.Range[str, 1, MAX_DATE_CHARS] | None = None,
        until: app_commands.Range[str, 1, MAX_DATE_CHARS] | None = None,
    ) -> None:
        """The story so far: its articles oldest first, each with its date and one sentence."""
        window = await dated_window(self.bot.story, since, until, interaction.guild_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        entries = await self.bot.story.timeline(view_scopes(interaction.guild_id), about, window)
        view = timeline_view(0, timeline_pages(len(entries)), window)
        reply = timeline_reply(entries, about, 0, window).send_kwargs()
        if view is None:
            await interaction.followup.send(**reply, ephemeral=True)
        else:
            await interaction.followup.send(**reply, view=view, ephemeral=True)


class TimelineButton(
    ui.DynamicItem[Button],
    template=re.compile(r"storybot:timeline:(?P<direction>prev|next):(?P<page>[0-9]+)" + WINDOW_ID),
):
    """Pages the private /timeline."""

    def __init__(
        self, direction: str, page: int, window: DateWindow | None = None, *, disabled: bool = False
    ) -> None:
        super().__init__(
            ui.Button(
                label="Previous" if direction == "prev" else "Next",
                style=discord.ButtonStyle.secondary,
                custom_id=f"storybot:timeline:{direction}:{max(page, 0)}{window_id(window)}",
                disabled=disabled,
            )
        )
        self.page = max(page, 0)
        self.window = window

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        return cls(match["direction"], int(match["page"]), window_of(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the requested page."""
        await guarded(interaction, self._page)

    async def _page(self, interaction: discord.Interaction) -> None:
        message = interaction.message
        about = about_of(message.embeds[0]) if message is not None and message.embeds else None
        await interaction.response.defer()
        scopes = view_scopes(interaction.guild_id)
        entries = await story_of(interaction).timeline(scopes, about, self.window)
        pages = timeline_pages(len(entries))
        page = min(self.page, pages - 1)
        view = timeline_view(page, pages, self.window)
        await interaction.edit_original_response(
            **timeline_reply(entries, about, page, self.window).edit_kwargs(), view=view
        )
