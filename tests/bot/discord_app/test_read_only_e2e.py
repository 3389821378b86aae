"""End to end on the fake Discord: the bot on a database it can only read (a read-only folder or mount).

Answers work; what the bot would store (the question log, votes, the synced commands' hash, feed polls) is
skipped with one warning line, logged once; every admin command that writes answers one sentence and
changes nothing. As root the folder is a small tmpfs remounted read-only, else it is chmodded
(`tests.mounts`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.discord_app.errors import user_message
from bot.discord_app.replies.notices import READ_ONLY_HERE
from index import ReadOnlyDatabase, StoryIndex, guild_scope
from index.engine.database import storage_error
from tests.bot.discord_app.harness import (
    WHY_LEAVE,
    Scene,
    ask,
    assert_clean,
    build_world,
    button,
    environ_for,
    running_bot,
)
from tests.fakediscord import FakeDiscord, FakeUser, MessageState
from tests.mounts import read_only, writable_folder

FEED = "http://127.0.0.1:9/feed.xml"
"""Never fetched: the bot polls no feed on a read-only database (and would refuse a local address)."""


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """The bot on a database with the built-in story and a followed feed, in a folder made read-only."""
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        with writable_folder(tmp_path / "ro") as folder:
            db_path = folder / "storybot.db"
            with StoryIndex(db_path) as index:
                index.feeds.follow(FEED, guild_scope(guild.id), None, "News")
            with read_only(folder):
                async with running_bot(fake, environ_for(fake, db_path)) as bot:
                    yield Scene(
                        fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, db_path
                    )
            _assert_nothing_was_recorded(db_path)


def _assert_nothing_was_recorded(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        counts = [
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("questions", "feedback")
        ]
        settings = conn.execute("SELECT key FROM meta WHERE key LIKE 'setting:%'").fetchall()
        polled = conn.execute("SELECT polled_at FROM feeds").fetchall()
    finally:
        conn.close()
    assert counts == [0, 0]
    assert settings == []
    assert polled == [(None,)]


async def _admin(scene: Scene, name: str, options: dict[str, object] | None = None) -> MessageState:
    return await _slash(scene, scene.mod, f"admin {name}", options)


async def _slash(
    scene: Scene, user: FakeUser, name: str, options: dict[str, object] | None = None
) -> MessageState:
    record = await scene.fake.invoke_slash(user, name, options or {}, channel=scene.general)
    return await record.wait_for_message(lambda m: not m.loading)


async def test_answers_work_and_bookkeeping_is_skipped_with_one_warning(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert scene.bot.story.read_only

    first = await ask(scene, scene.alice, WHY_LEAVE)
    second = await ask(scene, scene.bob, "Who co-founded OpenAI in 2015?")
    for answer in (first, second):
        assert answer.embed is not None and not answer.content  # answered, not "I couldn't find that"
    assert "paragraph" in first.embed["description"]
    vote = await scene.fake.click_button(scene.bob, first, button(first, "storybot:vote:up:"))
    thanked = await vote.wait_for_message(lambda m: not m.loading)
    assert thanked.ephemeral
    assert (
        thanked.content == "Thanks, but your 👍 could not be recorded: this bot's database is read-only here."
    )
    timeline = await _slash(scene, scene.alice, "timeline")
    assert timeline.embed is not None and "Elon Musk Purchases 10,000 GPUs" in timeline.embed["description"]
    status = await _admin(scene, "status")
    assert status.embed is not None
    fields = {field["name"]: field["value"] for field in status.embed["fields"]}
    assert fields["Questions"] == "0 answered · 0 not answered"

    await scene.bot.story.drain()
    # From the start (the commands' hash was not kept, feeds are not polled) to now: one line.
    logged = caplog.get_records("setup") + caplog.get_records("call")
    warnings = [record.getMessage() for record in logged if "read-only here" in record.getMessage()]
    assert warnings == [
        f"the database {scene.db_path} is read-only here: questions are answered, but nothing is recorded "
        "(question log, votes, settings) and admin changes are refused"
    ]
    assert [record.getMessage() for record in logged if record.levelno >= logging.ERROR] == []
    assert_clean(scene.fake)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("add", {"url": "https://news.example/story"}),
        ("remove", {"source": "musk-twitter-ai-gpus"}),
        ("follow", {"feed": "https://news.example/other.xml"}),
        ("unfollow", {"feed": FEED}),
        ("reindex", {}),
        ("timezone", {"zone": "Europe/Berlin"}),
    ],
)
async def test_admin_commands_that_write_are_one_sentence(
    scene: Scene, command: str, options: dict[str, object]
) -> None:
    refused = await _admin(scene, command, options)

    assert refused.ephemeral
    assert refused.content == READ_ONLY_HERE
    assert scene.fake.history(scene.general, viewer=scene.alice) == []
    assert_clean(scene.fake)


async def test_admin_commands_that_only_read_still_work(scene: Scene) -> None:
    zone = await _admin(scene, "timezone")
    assert zone.content is not None and zone.content.startswith("Dates such as “yesterday”")
    listed = await _admin(scene, "sources")
    assert listed.embed is not None or listed.content
    assert "News" in listed.text
    assert_clean(scene.fake)


def test_a_database_turned_read_only_while_running_is_the_same_sentence(tmp_path: Path) -> None:
    # SQLite's own refusal of a write to a file it may only read, as a remount makes it after the bot opened
    # the file writable: the core names it ReadOnlyDatabase, and users get the sentence, never the path.
    path = tmp_path / "x.db"
    sqlite3.connect(path).close()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as refused:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    error = storage_error(refused.value, path)

    assert isinstance(error, ReadOnlyDatabase)
    assert user_message(error) == READ_ONLY_HERE
