"""End to end on the fake Discord: /ask since/until, the "Why this passage?" button, and /timeline's pages.

The bot is the one `storybot run` builds (`harness.open_scene`), on a database holding the built-in story
and a developing story of dated reports; every test ends with `assert_clean` (every limit checked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from index import Article
from tests.bot.discord_app.harness import Scene, ask, assert_clean, button, embed_as_text, open_scene

QUESTION = "How many people were hurt when the bridge collapsed?"

REPORTS = [
    Article(
        "monday",
        "Bridge collapses",
        ("The river bridge collapsed on Monday morning. Five people were hurt in the collapse.",),
        "test:monday",
        url="https://star.example/bridge",
        outlet="Morning Star",
        published="2024-05-20",
    ),
    Article(
        "tuesday",
        "Toll rises",
        (
            "Twelve people were hurt when the bridge collapsed, officials said on Tuesday.",
            "Divers searched the river for the missing lorry all day.",
        ),
        "test:tuesday",
        outlet="Evening Post",
        published="2024-05-21",
    ),
    *(
        Article(
            f"update{day}",
            f"Bridge update {day}",
            (f"Repairs to the river crossing went on, day {day} of the works, engineers said.",),
            f"test:update{day}",
            outlet="Harbour Herald",
            published=f"2024-06-{day:02d}",
        )
        for day in range(1, 10)
    ),
]
"""Two reports of a collapse a day apart, then nine daily updates: eleven sources, two timeline pages."""


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with open_scene(tmp_path, REPORTS) as opened:
        yield opened


async def test_ask_shows_dates_and_the_earlier_report(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, QUESTION, results=2)

    assert answer.embed is not None
    # The two reports score within 2% of each other: Tuesday's, the newer, comes first, and Monday's is
    # marked as the earlier report, since Tuesday's holds every question word it holds.
    assert answer.embed["description"].endswith(
        "\n— Toll rises · Evening Post · 2024-05-21 · paragraph 1 of 2"
    )
    assert answer.embed["fields"][0]["value"].endswith(
        "\n— [Bridge collapses](https://star.example/bridge) · Morning Star · 2024-05-20 · "
        "paragraph 1 of 1 · *earlier report*"
    )
    assert button(answer, "storybot:why:") == f"storybot:why:{_paragraph_of(scene, 'tuesday')}"
    print("\n" + embed_as_text(answer))
    assert_clean(scene.fake)


async def test_since_and_until_limit_the_answer_and_its_more_pages(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, QUESTION, results=1, since="2024-05-20", until="2024-05-20")

    assert answer.embed is not None
    assert answer.embed["description"].endswith("· Morning Star · 2024-05-20 · paragraph 1 of 1")
    assert answer.embed["footer"]["text"] == "1 passage matched · sources dated from 2024-05-20 to 2024-05-20"
    more = button(answer, "storybot:more:")
    assert more == f"storybot:more:{scene.alice.id}:1:1:a:20240520:20240520"
    assert button(answer, "storybot:why:").endswith(":20240520:20240520")

    since = await ask(scene, scene.bob, QUESTION, results=1, since="2024-05-21")
    assert since.embed is not None and "· Evening Post · 2024-05-21 ·" in since.embed["description"]
    click = await scene.fake.click_button(scene.bob, since, button(since, "storybot:more:"))
    await click.wait_for_response()
    paged = await scene.fake.wait_for_message(lambda m: m.id == since.id and "showing 2–2" in m.text)
    # The second page keeps the range: the older Monday report is never shown.
    assert paged.embed is not None and "Morning Star" not in paged.embed["description"]
    assert paged.embed["footer"]["text"].endswith("· sources dated since 2024-05-21")
    assert_clean(scene.fake)


async def test_a_bad_date_is_a_clear_private_message(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(
        scene.alice, "ask", {"question": QUESTION, "since": "soonish"}, channel=scene.general
    )
    refused = await record.wait_for_message()

    assert refused.ephemeral
    assert refused.content == (
        "I can't read that date: 'soonish' is not a date I can read: try 2024-05-27, yesterday, last week or "
        "3 days ago."
    )
    assert scene.fake.history(scene.general, viewer=scene.bob) == []
    assert_clean(scene.fake)


async def test_why_this_passage_explains_privately_to_whoever_clicks(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, QUESTION)

    click = await scene.fake.click_button(scene.bob, answer, button(answer, "storybot:why:"))
    shown = await click.wait_for_message(lambda m: m.embed is not None)

    assert shown.ephemeral
    assert shown.embed is not None and shown.embed["title"] == "Why this passage?"
    assert shown.embed["description"].startswith("BM25 gave it **")
    fields = {field["name"]: field["value"] for field in shown.embed["fields"]}
    assert list(fields) == ["Matched terms", "Not in the passage", "Second stage", "Confidence"]
    matched = fields["Matched terms"].split("\n")
    assert sorted(line.split("`")[1] for line in matched) == ["bridg", "collaps", "hurt", "peopl"]
    assert all(" · idf " in line and " · length norm " in line and " → **" in line for line in matched)
    assert fields["Not in the passage"] == "`mani`"
    assert fields["Second stage"].startswith("**") and "+ proximity" in fields["Second stage"]
    assert "against a threshold of 0.45: an answer." in fields["Confidence"]
    assert scene.fake.history(scene.general, viewer=scene.alice) == [answer]  # nothing public was added
    print("\n" + embed_as_text(shown))
    assert_clean(scene.fake)


async def test_why_of_a_long_question_stays_within_discords_limits(scene: Scene) -> None:
    words = " ".join(f"bridge{n} river{n} people{n}" for n in range(30))  # 90 more terms, 900 characters
    answer = await ask(scene, scene.alice, f"{QUESTION} {words}")

    click = await scene.fake.click_button(scene.alice, answer, button(answer, "storybot:why:"))
    shown = await click.wait_for_message(lambda m: m.embed is not None)

    assert shown.embed is not None
    assert all(len(field["value"]) <= 1024 for field in shown.embed["fields"])
    assert_clean(scene.fake)


async def test_timeline_pages_oldest_first(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(scene.alice, "timeline", channel=scene.general)
    first = await record.wait_for_message(lambda m: m.embed is not None)

    assert first.ephemeral and first.embed is not None
    assert first.embed["title"] == "Timeline"
    entries = first.embed["description"].split("\n")
    assert entries[:4] == [
        "**2024-05-20** — [Bridge collapses](https://star.example/bridge) · Morning Star",
        "> The river bridge collapsed on Monday morning.",
        "**2024-05-21** — Toll rises · Evening Post",
        "> Twelve people were hurt when the bridge collapsed, officials said on Tuesday.",
    ]
    assert first.embed["footer"]["text"] == "Page 1 of 2 · 12 sources, oldest first"
    print("\n" + embed_as_text(first))

    click = await scene.fake.click_button(scene.alice, first, "storybot:timeline:next:1")
    await click.wait_for_response()
    second = await scene.fake.wait_for_message(lambda m: m.id == first.id and "Page 2 of 2" in m.text)
    assert second.embed is not None
    lines = second.embed["description"].split("\n")
    assert lines[0] == "**2024-06-07** — Bridge update 7 · Harbour Herald"
    # The built-in story gives no publication date: it comes last, on the day it was added.
    assert lines[-2].startswith("**added ") and "Elon Musk Purchases 10,000 GPUs" in lines[-2]
    assert second.custom_ids == ["storybot:timeline:prev:0", "storybot:timeline:next:2"]
    assert_clean(scene.fake)


async def test_timeline_about_words_lists_only_the_sources_holding_them(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(
        scene.bob, "timeline", {"about": "people hurt"}, channel=scene.general
    )
    shown = await record.wait_for_message(lambda m: m.embed is not None)

    assert shown.embed is not None and shown.embed["title"] == "Timeline: people hurt"
    assert shown.embed["description"].split("\n") == [
        "**2024-05-20** — [Bridge collapses](https://star.example/bridge) · Morning Star",
        "> Five people were hurt in the collapse.",
        "**2024-05-21** — Toll rises · Evening Post",
        "> Twelve people were hurt when the bridge collapsed, officials said on Tuesday.",
    ]
    assert shown.custom_ids == []  # one page: no buttons
    assert_clean(scene.fake)


def _paragraph_of(scene: Scene, source_id: str) -> int:
    hits = scene.index.first_stage(QUESTION, top=20)
    return next(hit.passage.paragraph_id for hit in hits if hit.passage.source_id == source_id)
