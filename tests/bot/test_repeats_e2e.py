"""End to end: a syndicated paragraph in a /ask answer on the fake Discord, once, with the other outlets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.bot.test_bot_e2e import Scene, ask, assert_clean, build_world, button, environ_for, running_bot
from tests.fakediscord import FakeDiscord
from tests.index.test_repeats import QUESTION, WIRE_ARTICLES


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        db_path = tmp_path / "storybot.db"
        async with running_bot(fake, environ_for(fake, db_path)) as bot:
            bot.story.index.add_articles(WIRE_ARTICLES)
            yield Scene(fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, db_path)


async def test_the_answer_cites_the_other_outlets_and_more_shows_no_copy(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, QUESTION, results=1)

    assert answer.embed is not None
    assert answer.embed["description"] == (
        "**The harbour authority said on Tuesday it would close the old ferry terminal in March and move all "
        "crossings to the new pier at Northgate.**\n"
        "— [Harbour news](https://herald.example/ferry) · Harbour Herald · paragraph 2 of 4\n"
        "also in: [Daily Courier](https://courier.example/ferry-terminal), Coast Gazette"
    )
    click = await scene.fake.click_button(scene.alice, answer, button(answer, "storybot:more:"))
    await click.wait_for_response()
    paged = await scene.fake.wait_for_message(lambda m: m.id == answer.id and "showing 2–2" in m.text)

    assert paged.embed is not None
    shown = paged.embed["description"]
    assert shown.startswith(
        "**The harbour authority said on Tuesday it would close the old ferry terminal in late June"
    )
    assert shown.endswith("— Weekly · Northgate Weekly · paragraph 2 of 2")
    assert paged.embed["footer"]["text"] == "9 passages matched · showing 2–2"
    assert_clean(scene.fake)
