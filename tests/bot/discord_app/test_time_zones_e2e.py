"""End to end on the fake Discord: a server's own time zone (`/admin timezone`) for `since`/`until`, the
operator's for DMs and for servers that chose none, and /timeline's range kept by its page buttons.

The bot's clock is set to one instant (2024-03-31 22:30 UTC), so "yesterday" is the same day whenever the
tests run. That instant is the evening Europe/Berlin moved to summer time: at UTC+2 it is already 1 April
there, so "yesterday" is 31 March, while in UTC (and in Berlin's winter time, UTC+1) it is 30 March. New
York (UTC-4) is still on 31 March: its "yesterday" is 30 March.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from index import Article
from tests.bot.discord_app.harness import (
    Scene,
    assert_clean,
    build_world,
    button,
    embed_as_text,
    environ_for,
    running_bot,
)
from tests.fakediscord import FakeDiscord, FakeUser, MessageState

INSTANT = datetime(2024, 3, 31, 22, 30, tzinfo=UTC)
QUESTION = "How many people were hurt when the bridge collapsed?"

REPORTS = [
    Article(
        "saturday",
        "Bridge collapses",
        ("The river bridge collapsed on Saturday. Five people were hurt in the collapse.",),
        "test:saturday",
        outlet="Morning Star",
        published="2024-03-30",
    ),
    Article(
        "sunday",
        "Toll rises",
        ("Twelve people were hurt when the bridge collapsed, officials said on Sunday.",),
        "test:sunday",
        outlet="Evening Post",
        published="2024-03-31",
    ),
    *(
        Article(
            f"works{day}",
            f"Repairs, day {day}",
            (f"Repairs to the river crossing went on, day {day} of the works, engineers said.",),
            f"test:works{day}",
            outlet="Harbour Herald",
            published=f"2024-06-{day:02d}",
        )
        for day in range(1, 11)
    ),
]
"""Reports a day apart either side of Berlin's midnight, then ten daily updates in June."""

OPERATOR_ZONE = "Europe/Berlin"


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """The bot with STORYBOT_TIME_ZONE=Europe/Berlin, its clock at `INSTANT`, on the reports above."""
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        db_path = tmp_path / "storybot.db"
        environ = environ_for(fake, db_path, STORYBOT_TIME_ZONE=OPERATOR_ZONE)
        async with running_bot(fake, environ) as bot:
            bot.story.clock = lambda: INSTANT
            bot.story.index.add_articles(REPORTS)
            yield Scene(fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, db_path)


async def _slash(
    scene: Scene, user: FakeUser, name: str, options: dict[str, object] | None = None
) -> MessageState:
    record = await scene.fake.invoke_slash(user, name, options or {}, channel=scene.general)
    return await record.wait_for_message(lambda m: not m.loading)


async def _yesterdays_answer(scene: Scene, *, in_dm: bool = False) -> MessageState:
    options = {"question": QUESTION, "results": 1, "since": "yesterday", "until": "yesterday"}
    channel = scene.fake.dm_channel(scene.alice) if in_dm else scene.general
    record = await scene.fake.invoke_slash(scene.alice, "ask", options, channel=channel)
    return await record.wait_for_message(lambda m: not m.loading)


def _footer(message: MessageState) -> str:
    assert message.embed is not None, message.text
    return str(message.embed["footer"]["text"])


async def test_a_server_without_a_zone_reads_dates_in_the_operators_zone_daylight_saving_included(
    scene: Scene,
) -> None:
    answer = await _yesterdays_answer(scene)

    # Berlin is at UTC+2 since 01:00 UTC that day: 00:30 on 1 April, so yesterday is 31 March (UTC says 30).
    assert _footer(answer).endswith("· sources dated from 2024-03-31 to 2024-03-31")
    assert answer.embed is not None and "· Evening Post · 2024-03-31 ·" in answer.embed["description"]
    shown = await _slash(scene, scene.mod, "admin timezone")
    assert shown.ephemeral
    assert shown.content == (
        "Dates such as “yesterday” in `/ask` and `/timeline` are read in `Europe/Berlin` (the bot's "
        "default, as this server chose none). `/admin timezone zone:<name>` sets another, e.g. Europe/Berlin."
    )
    assert_clean(scene.fake)


async def test_admin_timezone_sets_the_servers_zone_and_dms_keep_the_operators(scene: Scene) -> None:
    typed = await scene.fake.autocomplete(
        scene.mod, "admin timezone", {"zone": "new_y"}, focused="zone", channel=scene.general
    )
    await typed.wait_for_response()
    assert typed.choices == [{"name": "America/New_York", "value": "America/New_York"}]

    # Typed in any case, stored under the IANA name.
    changed = await _slash(scene, scene.mod, "admin timezone", {"zone": "america/new_york"})
    assert changed.ephemeral
    assert changed.content == (
        "From now on, dates such as “yesterday” in `/ask` and `/timeline` are read in `America/New_York` "
        "(chosen for this server)."
    )
    assert scene.index.get_setting(f"time_zone:guild:{scene.guild.id}") == "America/New_York"

    # 18:30 on 31 March in New York: yesterday is 30 March, in /ask and /timeline alike.
    answer = await _yesterdays_answer(scene)
    assert _footer(answer).endswith("· sources dated from 2024-03-30 to 2024-03-30")
    assert answer.embed is not None and "· Morning Star · 2024-03-30 ·" in answer.embed["description"]
    timeline = await _slash(scene, scene.bob, "timeline", {"since": "yesterday", "until": "yesterday"})
    assert timeline.embed is not None
    assert timeline.embed["description"].split("\n")[0] == "**2024-03-30** — Bridge collapses · Morning Star"
    assert _footer(timeline) == "Page 1 of 1 · 1 source, oldest first · dated from 2024-03-30 to 2024-03-30"

    # A DM has no server: the operator's Berlin, where yesterday is 31 March.
    in_dm = await _yesterdays_answer(scene, in_dm=True)
    assert _footer(in_dm).endswith("· sources dated from 2024-03-31 to 2024-03-31")

    status = await _slash(scene, scene.mod, "admin status")
    assert status.embed is not None
    fields = {field["name"]: field["value"] for field in status.embed["fields"]}
    assert fields["Time zone"] == "`America/New_York` (chosen for this server)"
    print("\n" + embed_as_text(answer))
    assert_clean(scene.fake)


async def test_an_unknown_zone_is_one_private_line_and_changes_nothing(scene: Scene) -> None:
    refused = await _slash(scene, scene.mod, "admin timezone", {"zone": "Mars/Olympus"})

    assert refused.ephemeral
    assert refused.content == (
        "I can't use that time zone: unknown time zone 'Mars/Olympus': use an IANA name, e.g. UTC or "
        "Europe/Berlin."
    )
    assert scene.index.get_setting(f"time_zone:guild:{scene.guild.id}") is None
    answer = await _yesterdays_answer(scene)
    assert _footer(answer).endswith("from 2024-03-31 to 2024-03-31")  # still Berlin's yesterday
    assert_clean(scene.fake)


async def test_a_member_cannot_set_the_zone(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(
        scene.alice, "admin timezone", {"zone": "UTC"}, channel=scene.general, check_permissions=False
    )
    refused = await record.wait_for_message()

    assert refused.ephemeral and "Manage Server" in refused.content
    assert scene.index.get_setting(f"time_zone:guild:{scene.guild.id}") is None
    typed = await scene.fake.autocomplete(
        scene.alice, "admin timezone", {"zone": "Eur"}, focused="zone", channel=scene.general
    )
    await typed.wait_for_response()
    assert typed.choices == []
    assert_clean(scene.fake)


async def test_timeline_since_until_is_kept_by_its_pages(scene: Scene) -> None:
    first = await _slash(scene, scene.alice, "timeline", {"since": "2024-06-02", "until": "2024-06-10"})

    assert first.embed is not None
    assert first.embed["description"].split("\n")[0] == "**2024-06-02** — Repairs, day 2 · Harbour Herald"
    assert _footer(first) == "Page 1 of 2 · 9 sources, oldest first · dated from 2024-06-02 to 2024-06-10"
    assert first.custom_ids == [
        "storybot:timeline:prev:0:20240602:20240610",
        "storybot:timeline:next:1:20240602:20240610",
    ]

    click = await scene.fake.click_button(scene.alice, first, button(first, "storybot:timeline:next:"))
    await click.wait_for_response()
    second = await scene.fake.wait_for_message(lambda m: m.id == first.id and "Page 2 of 2" in m.text)
    assert second.embed is not None
    # Only 10 June: neither the March reports nor the built-in story (dated the day it was added) come in.
    assert second.embed["description"].split("\n") == [
        "**2024-06-10** — Repairs, day 10 · Harbour Herald",
        "> Repairs to the river crossing went on, day 10 of the works, engineers said.",
    ]
    assert _footer(second) == "Page 2 of 2 · 9 sources, oldest first · dated from 2024-06-02 to 2024-06-10"
    print("\n" + embed_as_text(second))
    assert_clean(scene.fake)


async def test_timeline_with_a_bad_date_or_an_empty_range_says_so(scene: Scene) -> None:
    refused = await _slash(scene, scene.alice, "timeline", {"since": "soonish"})
    assert refused.ephemeral
    assert refused.content == (
        "I can't read that date: 'soonish' is not a date I can read: try 2024-05-27, yesterday, last week or "
        "3 days ago."
    )

    empty = await _slash(scene, scene.alice, "timeline", {"about": "bridge", "until": "2023-12-31"})
    assert empty.embed is not None
    assert empty.embed["description"] == "No article that mentions that is dated until 2023-12-31."
    assert empty.custom_ids == []
    assert_clean(scene.fake)
