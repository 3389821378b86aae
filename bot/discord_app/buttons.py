"""Persistent buttons: everything a button needs is in its custom id, so it keeps working after a restart.

Custom ids (at most 100 characters):

* `storybot:more:<asker>:<offset>:<top>:<a|n>[:<since>:<until>]` pages an answer (asker only); `a`/`n` keeps
  the first page's verdict (answered or not) on later pages; a question limited to a range of days carries it
  (each end YYYYMMDD, or `x` when open).
* `storybot:context:<paragraph id>` shows the paragraphs around the top passage, privately, to anyone who
  could have found it there: only if its article is one of the sources questions asked where the button is
  clicked search (this server's and the shared ones; the shared ones in DMs).
* `storybot:vote:<up|down>:<paragraph ids joined by .>` stores feedback from anyone.
* `storybot:why:<paragraph id>[:<since>:<until>]` shows anyone, privately, why that passage was chosen for
  the question (its terms' BM25 parts, the second stage, the confidence), searched again where it is clicked.
* `storybot:delete:<asker>` deletes the answer (asker only).
* `storybot:sources:<prev|next>:<page>` pages the private /sources list.

The question itself is read back from the answer's embed (`replies.question_of`).
"""

from __future__ import annotations

import re
from typing import Any, Self

import discord
from discord import ui

from bot.discord_app.admission import Admission, Refused
from bot.discord_app.errors import Refusal, guarded
from bot.discord_app.replies import (
    answer_reply,
    busy_notice,
    context_reply,
    explanation_reply,
    notice,
    page_count,
    question_of,
    sources_reply,
    vote_thanks,
)
from bot.discord_app.service import StoryService
from index import Answer, DateWindow, view_scopes

Button = ui.Button[ui.View]

CUSTOM_ID_LIMIT = 100
NOT_YOURS = "Only the person who asked can do that. Ask your own question with `/ask`!"


def answer_view(
    answer: Answer,
    *,
    asker_id: int,
    offset: int,
    top: int,
    answered: bool,
    window: DateWindow | None = None,
) -> ui.View:
    """The buttons under an answer: More, Context, 👍, 👎, delete, and Why this passage? below them."""
    view = ui.View(timeout=None)
    shown = offset + len(answer.results)
    if answer.results:
        more = MoreButton(asker_id, shown, top, answered, window, disabled=not answer.more)
        view.add_item(more)
        view.add_item(ContextButton(answer.results[0].paragraph_id))
        ids = _fitting_ids(tuple(passage.paragraph_id for passage in answer.results))
        view.add_item(VoteButton(1, ids))
        view.add_item(VoteButton(-1, ids))
    view.add_item(DeleteButton(asker_id))
    if answer.results:
        view.add_item(WhyButton(answer.results[0].paragraph_id, window))
    return view


WINDOW_ID = r"(?::(?P<since>[0-9]{8}|x):(?P<until>[0-9]{8}|x))?"
"""The optional range of days at the end of a custom id (see the module)."""


def window_id(window: DateWindow | None) -> str:
    """The custom id's ending for a range of days: ":20240527:x" (since 2024-05-27), or "" for none."""
    if window is None:
        return ""
    return ":" + ":".join(day.replace("-", "") if day else "x" for day in (window.since, window.until))


def window_of(match: re.Match[str]) -> DateWindow | None:
    """The range of days a custom id's ending carries (`window_id` inverted)."""
    if match["since"] is None:
        return None
    since, until = (
        None if raw == "x" else f"{raw[:4]}-{raw[4:6]}-{raw[6:]}" for raw in match.group("since", "until")
    )
    return DateWindow(since, until)


def _fitting_ids(ids: tuple[int, ...]) -> tuple[int, ...]:
    """As many paragraph ids as a vote's custom id (100 characters) can carry."""
    while len(ids) > 1 and len(f"storybot:vote:down:{'.'.join(map(str, ids))}") > CUSTOM_ID_LIMIT:
        ids = ids[:-1]
    return ids


def sources_view(page: int, pages: int) -> ui.View | None:
    """Previous/next buttons for /sources, or None when everything fits on one page."""
    if pages <= 1:
        return None
    view = ui.View(timeout=None)
    view.add_item(SourcesButton("prev", page - 1, disabled=page <= 0))
    view.add_item(SourcesButton("next", page + 1, disabled=page >= pages - 1))
    return view


def story_of(interaction: discord.Interaction) -> StoryService:
    """The bot's `StoryService` (buttons are created by discord.py, so they find it through the client)."""
    story = getattr(interaction.client, "story", None)
    if not isinstance(story, StoryService):
        raise TypeError("buttons need a client with a StoryService (bot.discord_app.client.StoryBot)")
    return story


def admission_of(interaction: discord.Interaction) -> Admission:
    """The bot's `Admission` (its limits and work queue)."""
    admission = getattr(interaction.client, "admission", None)
    if not isinstance(admission, Admission):
        raise TypeError("buttons need a client with an Admission (bot.discord_app.client.StoryBot)")
    return admission


def _question(interaction: discord.Interaction) -> str:
    message = interaction.message
    question = question_of(message.embeds[0]) if message is not None and message.embeds else None
    if not question:
        raise Refusal(notice("I can't read the question of that answer any more: please ask it again."))
    return question


class MoreButton(
    ui.DynamicItem[Button],
    template=re.compile(
        r"storybot:more:(?P<asker>[0-9]+):(?P<offset>[0-9]+):(?P<top>[1-5]):(?P<verdict>[an])" + WINDOW_ID
    ),
):
    """The next passages of the answer, in place of these (only the asker may page)."""

    def __init__(
        self,
        asker_id: int,
        offset: int,
        top: int,
        answered: bool,
        window: DateWindow | None = None,
        *,
        disabled: bool = False,
    ) -> None:
        verdict = "a" if answered else "n"
        super().__init__(
            ui.Button(
                label="More",
                emoji="➡️",
                style=discord.ButtonStyle.primary,
                custom_id=f"storybot:more:{asker_id}:{offset}:{top}:{verdict}{window_id(window)}",
                disabled=disabled,
            )
        )
        self.asker_id, self.offset, self.top, self.answered = asker_id, offset, top, answered
        self.window = window

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        asker, offset, top = int(match["asker"]), int(match["offset"]), int(match["top"])
        return cls(asker, offset, top, match["verdict"] == "a", window_of(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the next page of passages."""
        await guarded(interaction, self._more)

    async def _more(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.asker_id:
            raise Refusal(NOT_YOURS)
        question = _question(interaction)
        story, scopes = story_of(interaction), view_scopes(interaction.guild_id)
        try:
            ticket = admission_of(interaction).reserve(interaction.user.id)
        except Refused:
            raise Refusal(busy_notice()) from None
        async with ticket:
            await interaction.response.defer()
            answer = await ticket.run(
                lambda: story.page(question, self.top, scopes, self.offset, self.window)
            )
        reply = answer_reply(answer, offset=self.offset, answered=self.answered, window=self.window)
        view = answer_view(
            answer,
            asker_id=self.asker_id,
            offset=self.offset,
            top=self.top,
            answered=self.answered,
            window=self.window,
        )
        await interaction.edit_original_response(**reply.edit_kwargs(), view=view)


class ContextButton(ui.DynamicItem[Button], template=re.compile(r"storybot:context:(?P<paragraph>[0-9]+)")):
    """The paragraphs before and after the top passage, shown privately to whoever asks."""

    def __init__(self, paragraph_id: int) -> None:
        super().__init__(
            ui.Button(
                label="Context",
                emoji="📖",
                style=discord.ButtonStyle.secondary,
                custom_id=f"storybot:context:{paragraph_id}",
            )
        )
        self.paragraph_id = paragraph_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        return cls(int(match["paragraph"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the context privately."""
        await guarded(interaction, self._context)

    async def _context(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        scopes = view_scopes(interaction.guild_id)
        paragraphs, source = await story_of(interaction).context(self.paragraph_id, scopes)
        reply = context_reply(paragraphs, self.paragraph_id, source)
        await interaction.edit_original_response(**reply.edit_kwargs())


class VoteButton(
    ui.DynamicItem[Button],
    template=re.compile(r"storybot:vote:(?P<vote>up|down):(?P<ids>[0-9]+(?:\.[0-9]+)*)"),
):
    """👍 or 👎 on the passages shown, stored with the question and a hash of the voter's id."""

    def __init__(self, vote: int, paragraph_ids: tuple[int, ...]) -> None:
        word = "up" if vote > 0 else "down"
        super().__init__(
            ui.Button(
                emoji="👍" if vote > 0 else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"storybot:vote:{word}:{'.'.join(map(str, paragraph_ids))}",
            )
        )
        self.vote, self.paragraph_ids = vote, paragraph_ids

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        return cls(1 if match["vote"] == "up" else -1, tuple(int(part) for part in match["ids"].split(".")))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the vote and thank the voter privately."""
        await guarded(interaction, self._vote)

    async def _vote(self, interaction: discord.Interaction) -> None:
        question = _question(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        recorded = await story_of(interaction).record_feedback(
            question, self.paragraph_ids, self.vote, interaction.user.id
        )
        await interaction.followup.send(vote_thanks(self.vote, recorded=recorded), ephemeral=True)


class WhyButton(
    ui.DynamicItem[Button], template=re.compile(r"storybot:why:(?P<paragraph>[0-9]+)" + WINDOW_ID)
):
    """Why the top passage was chosen, shown privately to whoever clicks."""

    def __init__(self, paragraph_id: int, window: DateWindow | None = None) -> None:
        super().__init__(
            ui.Button(
                label="Why this passage?",
                emoji="🔎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"storybot:why:{paragraph_id}{window_id(window)}",
            )
        )
        self.paragraph_id, self.window = paragraph_id, window

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        return cls(int(match["paragraph"]), window_of(match))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Explain the passage privately."""
        await guarded(interaction, self._why)

    async def _why(self, interaction: discord.Interaction) -> None:
        question = _question(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Searched again in the clicker's view: a passage of sources they cannot see is never explained.
        scopes = view_scopes(interaction.guild_id)
        explanation = await story_of(interaction).explain(question, self.paragraph_id, scopes, self.window)
        await interaction.edit_original_response(**explanation_reply(explanation).edit_kwargs())


class DeleteButton(ui.DynamicItem[Button], template=re.compile(r"storybot:delete:(?P<asker>[0-9]+)")):
    """Deletes the answer (only the asker may)."""

    def __init__(self, asker_id: int) -> None:
        super().__init__(
            ui.Button(emoji="🗑️", style=discord.ButtonStyle.danger, custom_id=f"storybot:delete:{asker_id}")
        )
        self.asker_id = asker_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        return cls(int(match["asker"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Delete the answer."""
        await guarded(interaction, self._delete)

    async def _delete(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.asker_id:
            raise Refusal(NOT_YOURS)
        await interaction.response.defer()
        await interaction.delete_original_response()


class SourcesButton(
    ui.DynamicItem[Button], template=re.compile(r"storybot:sources:(?P<direction>prev|next):(?P<page>[0-9]+)")
):
    """Pages the private /sources list."""

    def __init__(self, direction: str, page: int, *, disabled: bool = False) -> None:
        super().__init__(
            ui.Button(
                label="Previous" if direction == "prev" else "Next",
                style=discord.ButtonStyle.secondary,
                custom_id=f"storybot:sources:{direction}:{max(page, 0)}",
                disabled=disabled,
            )
        )
        self.page = max(page, 0)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        """Rebuild the button from its custom id."""
        return cls(match["direction"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the requested page."""
        await guarded(interaction, self._page)

    async def _page(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        records = await story_of(interaction).sources(view_scopes(interaction.guild_id))
        pages = page_count(len(records))
        page = min(self.page, pages - 1)
        view = sources_view(page, pages)
        await interaction.edit_original_response(**sources_reply(records, page).edit_kwargs(), view=view)


DYNAMIC_ITEMS = (MoreButton, ContextButton, VoteButton, DeleteButton, SourcesButton, WhyButton)
"""Registered with the bot at start, so buttons on old messages keep working."""
