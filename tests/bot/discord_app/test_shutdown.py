"""Shutdown: SIGTERM to a real `storybot run` process (the fake Discord and a slow local web site run in the
test) while it answers and while a reindex runs. In-flight answers finish, or their users are told the bot is
restarting; the reindex stops before writing; the process exits 0 within seconds; the database is closed
cleanly (integrity ok, nothing left in the write-ahead log) and holds what it held before.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import fetch_policy
from bot.discord_app.replies import reindex_stopped, restarting_notice
from index import StoryIndex
from index.models import guild_scope
from index.web.remote import read_link
from tests.bot.discord_app.harness import WHY_LEAVE, Scene, ask, build_world, environ_for, running_bot
from tests.bot.discord_app.payload_checks import assert_pings_no_one
from tests.fakediscord import FakeDiscord, FakeGuild, FakeUser, MessageState
from tests.webserver import WebSite, article_page

LINKS = 3
SLOW_PAGE_SECONDS = 1.5
PRIVATE = {"STORYBOT_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}


@dataclass
class Running:
    fake: FakeDiscord
    process: asyncio.subprocess.Process
    guild: FakeGuild
    alice: FakeUser
    bob: FakeUser
    mod: FakeUser
    db_path: Path
    log_path: Path

    async def stop(self, timeout: float = 8.0) -> tuple[int, float]:
        """SIGTERM, then the exit code and how long the process took to exit."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout=timeout)
        return code, loop.time() - started

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


@asynccontextmanager
async def storybot_run(tmp_path: Path, **settings: str) -> AsyncIterator[Running]:
    """`python -m bot run` against a fake Discord served by this test, on a database in tmp_path."""
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        db_path = tmp_path / "storybot.db"
        environ = {**os.environ, **environ_for(fake, db_path, LOG_LEVEL="INFO", **settings)}
        log_path = tmp_path / "storybot.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environ, stdout=log, stderr=log
            )
            try:
                await fake.wait_until_connected(timeout=30)
                yield Running(fake, process, guild, alice, bob, mod, db_path, log_path)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


async def polled(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `condition()` holds, checking every 10 ms."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def assert_closed_cleanly(db_path: Path) -> None:
    """Integrity ok, and no write-ahead log left behind: every change is in the database file itself."""
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, wal.stat().st_size
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def snapshot(db_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT id, content_hash, paragraphs FROM sources ORDER BY id").fetchall()
    conn.close()
    return rows


async def seed_slow_links(site: WebSite, db_path: Path, scope: str) -> list[str]:
    """Index `LINKS` articles from the site, then make their pages slow, so a reindex takes a while."""
    policy = fetch_policy(PRIVATE)
    urls = []
    with StoryIndex(db_path) as index:
        for number in range(LINKS):
            path = f"/news/{number}"
            page = article_page(
                f"Tram line {number} opens", [f"Tram line {number} opens in June.", "Crowds."]
            )
            site.page(path, page)
            urls.append(site.url(path))
            index.add_articles(await read_link(site.url(path), policy), scope)
            site.slow(path, SLOW_PAGE_SECONDS, body=article_page(f"Tram line {number} is late", ["Delays."]))
    return urls


async def test_sigterm_lets_answers_finish_and_stops_a_reindex_before_it_writes(tmp_path: Path) -> None:
    async with WebSite() as site, storybot_run(tmp_path, **PRIVATE) as bot:
        fake = bot.fake
        await seed_slow_links(site, bot.db_path, guild_scope(bot.guild.id))
        before = snapshot(bot.db_path)
        general, dm = bot.guild.text_channels[0], fake.dm_channel(bot.bob)
        seeded = len(site.requests)
        reindex = await fake.invoke_slash(bot.mod, "admin reindex", guild=bot.guild)
        await polled(lambda: len(site.requests) > seeded)  # the site does not wake `fake.wait_until`
        # Two answers held up by Discord's rate limits when the signal comes: both must still go out.
        fake.rate_limit_next("PATCH", "/webhooks/*/messages/@original", retry_after=1.0)
        fake.rate_limit_next("POST", f"/channels/{dm.id}/messages", retry_after=1.0)
        asked = await fake.invoke_slash(bot.alice, "ask", {"question": WHY_LEAVE}, guild=bot.guild)
        question = await fake.send_message(bot.bob, dm, "How many GPUs did Musk buy?")
        await fake.wait_until(
            lambda: len([r for r in fake.requests if r.status == 429]) == 2, what="two 429s"
        )

        code, seconds = await bot.stop()

        assert code == 0, bot.log
        assert seconds < 5, bot.log
        answer = await asked.wait_for_message(lambda m: not m.loading)
        assert answer.embed is not None and answer.embed["title"] == WHY_LEAVE
        replies = [m for m in fake.history(dm) if m.author_id == fake.bot_user.id]
        assert len(replies) == 1 and replies[0].embed is not None
        assert replies[0].message_reference == {
            "type": 0,
            "channel_id": str(dm.id),
            "message_id": str(question.id),
        }
        stopped = await reindex.wait_for_message(lambda m: m.content == reindex_stopped())
        assert stopped.ephemeral
        assert [r.path for r in site.requests[seeded:]] == ["/news/0"]  # no source read after the signal
        assert "received SIGTERM: stopping gracefully" in bot.log and "stopped" in bot.log
        assert_closed_cleanly(bot.db_path)
        assert snapshot(bot.db_path) == before
        with sqlite3.connect(bot.db_path) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'last_reindex_at'").fetchone() is None
        conn.close()
        assert_pings_no_one(fake, [general, dm])


async def test_sigterm_tells_users_whose_answers_cannot_finish_that_the_bot_is_restarting(
    tmp_path: Path,
) -> None:
    async with storybot_run(tmp_path, STORYBOT_SHUTDOWN_SECONDS="0.5") as bot:
        fake = bot.fake
        general, dm = bot.guild.text_channels[0], fake.dm_channel(bot.bob)
        fake.rate_limit_next("PATCH", "/webhooks/*/messages/@original", retry_after=5.0)
        fake.rate_limit_next("POST", f"/channels/{dm.id}/messages", retry_after=5.0)
        asked = await fake.invoke_slash(bot.alice, "ask", {"question": WHY_LEAVE}, guild=bot.guild)
        await fake.send_message(bot.bob, dm, "How many GPUs did Musk buy?")
        await fake.wait_until(
            lambda: len([r for r in fake.requests if r.status == 429]) == 2, what="two 429s"
        )

        code, seconds = await bot.stop()

        assert code == 0, bot.log
        assert seconds < 4, bot.log
        told = next(m for m in asked.messages if m.current.content == restarting_notice())
        assert told.current.ephemeral and asked.original is not None and asked.original.deleted
        dm_told = [m for m in fake.history(dm) if m.author_id == fake.bot_user.id]
        assert [m.content for m in dm_told] == [restarting_notice()]
        assert "2 handlers still running after 0.5 s cancelled" in bot.log
        assert_closed_cleanly(bot.db_path)
        assert_pings_no_one(fake, [general, dm])


# -- in process: new work while stopping -------------------------------------------------------------------


async def test_while_stopping_new_questions_are_refused_and_the_one_in_flight_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        async with running_bot(fake, environ_for(fake, tmp_path / "storybot.db")) as bot:
            scene = Scene(
                fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, tmp_path
            )
            started, release = threading.Event(), threading.Event()
            ask_core = scene.index.ask

            def slow_ask(*args: object, **kwargs: object) -> object:
                started.set()
                release.wait(5)
                return ask_core(*args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(scene.index, "ask", slow_ask)
            in_flight = await fake.invoke_slash(alice, "ask", {"question": WHY_LEAVE}, guild=guild)
            assert await asyncio.to_thread(started.wait, 5)
            closing = asyncio.create_task(bot.close())
            await asyncio.sleep(0.05)

            refused = await fake.invoke_slash(bob, "ask", {"question": WHY_LEAVE}, guild=guild)
            notice = await refused.wait_for_message()
            dm = fake.dm_channel(bob)
            await fake.send_message(bob, dm, WHY_LEAVE)
            dm_notice = await fake.wait_for_message(lambda m: m.channel_id == dm.id and m.author_id != bob.id)
            release.set()
            answer: MessageState = await in_flight.wait_for_message(lambda m: not m.loading)
            await closing

        assert notice.ephemeral and notice.content == restarting_notice()
        assert dm_notice.content == restarting_notice()
        assert answer.embed is not None and answer.embed["title"] == WHY_LEAVE
        assert bot.is_closed()
        assert_pings_no_one(fake, [guild.text_channels[0], dm])


async def test_close_is_idempotent_and_the_bot_answers_until_then(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        async with running_bot(fake, environ_for(fake, tmp_path / "storybot.db")) as bot:
            scene = Scene(
                fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, tmp_path
            )
            assert (await ask(scene, alice, WHY_LEAVE)).embed is not None
            await asyncio.gather(bot.close(), bot.close())
        assert bot.is_closed() and bot.lifecycle.closing and bot.lifecycle.running == 0
