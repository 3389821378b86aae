"""Defence in depth: the Context button shows a paragraph only where a question could have found it.

The bot's own answers only carry Context buttons for passages they found, but a button's custom id names a
paragraph and nothing else, so the handler checks again: a server's own source is shown in that server only,
a shared one anywhere, and a paragraph of another server's source is answered as if it did not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest_asyncio

from bot.discord_app.buttons import ContextButton
from bot.discord_app.client import StoryBot
from bot.discord_app.replies import CONTEXT_UNAVAILABLE
from index import SHARED_SCOPE, Article
from index.models import guild_scope
from tests.bot.discord_app.harness import build_world, environ_for, running_bot
from tests.bot.discord_app.payload_checks import assert_pings_no_one
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild, FakeUser, MessageState

SECRET = "The harbour plans of server B are secret until Friday."


@dataclass
class Servers:
    fake: FakeDiscord
    bot: StoryBot
    a: FakeGuild
    b: FakeGuild
    alice: FakeUser  # a member of A only
    paragraph_a: int
    paragraph_b: int
    paragraph_shared: int


@pytest_asyncio.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    async with FakeDiscord() as fake:
        a, alice, _, _ = build_world(fake)
        b = fake.add_guild("Other Club")
        async with running_bot(fake, environ_for(fake, tmp_path / "storybot.db")) as bot:
            index = bot.story.index
            index.add_articles(
                [Article("a", "A news", ("Server A's tram opens in June.",), "test:a")], guild_scope(a.id)
            )
            index.add_articles([Article("b", "B news", (SECRET,), "test:b")], guild_scope(b.id))

            def first_paragraph(question: str, scope: str) -> int:
                return index.ask(question, 1, (scope,)).results[0].paragraph_id

            yield Servers(
                fake,
                bot,
                a,
                b,
                alice,
                first_paragraph("tram", guild_scope(a.id)),
                first_paragraph("harbour plans", guild_scope(b.id)),
                first_paragraph("why did Musk leave OpenAI", SHARED_SCOPE),
            )


async def post_context_buttons(channel: discord.abc.Messageable, *paragraph_ids: int) -> discord.Message:
    """A message of the bot carrying Context buttons for these paragraphs, however they came to be there."""
    view = discord.ui.View(timeout=None)
    for paragraph_id in paragraph_ids:
        view.add_item(ContextButton(paragraph_id))
    return await channel.send("Context:", view=view)


async def click_context(
    fake: FakeDiscord, user: FakeUser, message_id: int, paragraph_id: int
) -> MessageState:
    click = await fake.click_button(user, message_id, f"storybot:context:{paragraph_id}")
    return await click.wait_for_message(lambda m: not m.loading)


async def test_context_in_a_server_shows_its_own_and_shared_paragraphs_only(servers: Servers) -> None:
    fake, bot = servers.fake, servers.bot
    general = servers.a.text_channels[0]
    channel = bot.get_channel(general.id)
    assert isinstance(channel, discord.TextChannel)
    posted = await post_context_buttons(
        channel, servers.paragraph_a, servers.paragraph_b, servers.paragraph_shared
    )

    own = await click_context(fake, servers.alice, posted.id, servers.paragraph_a)
    other = await click_context(fake, servers.alice, posted.id, servers.paragraph_b)
    shared = await click_context(fake, servers.alice, posted.id, servers.paragraph_shared)

    assert own.ephemeral and own.embed is not None and "tram opens" in own.text
    assert shared.embed is not None and shared.embed["title"].startswith(
        "Context from Working on the Twitter"
    )
    assert other.ephemeral and other.content == CONTEXT_UNAVAILABLE and other.embed is None
    assert "harbour" not in other.text
    assert_pings_no_one(fake, [general])


async def test_context_in_a_dm_shows_shared_paragraphs_only(servers: Servers) -> None:
    fake, bot = servers.fake, servers.bot
    user = await bot.fetch_user(servers.alice.id)
    posted = await post_context_buttons(await user.create_dm(), servers.paragraph_a, servers.paragraph_shared)

    server_only = await click_context(fake, servers.alice, posted.id, servers.paragraph_a)
    shared = await click_context(fake, servers.alice, posted.id, servers.paragraph_shared)

    assert server_only.content == CONTEXT_UNAVAILABLE and "tram" not in server_only.text
    assert shared.embed is not None and "(the passage)" in shared.text
    dm: FakeChannel = fake.dm_channel(servers.alice)
    assert_pings_no_one(fake, [dm])


async def test_a_paragraph_that_is_gone_gets_the_same_answer(servers: Servers) -> None:
    fake, bot = servers.fake, servers.bot
    channel = bot.get_channel(servers.a.text_channels[0].id)
    assert isinstance(channel, discord.TextChannel)
    posted = await post_context_buttons(channel, 999_999_999)

    gone = await click_context(fake, servers.alice, posted.id, 999_999_999)

    assert gone.content == CONTEXT_UNAVAILABLE
