"""End to end: a syndicated paragraph in a /ask answer on the fake Discord, once, with the other outlets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.bot.discord_app.harness import Scene, ask, assert_clean, button, open_scene
from tests.index.test_repeats import QUESTION, WIRE_ARTICLES


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with open_scene(tmp_path, list(WIRE_ARTICLES)) as opened:
        yield opened


async def test_the_answer_cites_the_other_outlets_and_more_shows_no_copy(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, QUESTION, results=1)

    assert answer.embed is not None
    herald = scene.index.source("herald")
    assert herald is not None  # the wire articles give no publication date: dated by when they were added
    assert answer.embed["description"] == (
        "**The harbour authority said on Tuesday it would close the old ferry terminal in March and move all "
        "crossings to the new pier at Northgate.**\n"
        f"— [Harbour news](https://herald.example/ferry) · Harbour Herald · added {herald.added_at[:10]} · "
        "paragraph 2 of 4\n"
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
    assert shown.endswith(f"— Weekly · Northgate Weekly · added {herald.added_at[:10]} · paragraph 2 of 2")
    assert paged.embed["footer"]["text"] == "9 passages matched · showing 2–2"
    assert_clean(scene.fake)
