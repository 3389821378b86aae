"""Two `storybot run` processes (real subprocesses) with SHARD_COUNT=2 and SHARD_IDS=0 / 1 on one database,
against the fake Discord (which routes each server's events to its shard and DMs to shard 0) and a feed site
on 127.0.0.1. Every question is answered exactly once, by the process owning its shard; each feed is polled
by one process; the reindex lease holds across both processes and the CLI; one process is killed with
SIGKILL and started again while the other keeps answering.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import fetch_policy
from index import StoryIndex, guild_scope
from index.feeds import FeedPoller
from index.web.remote import read_link
from tests.bot.discord_app.harness import WHY_LEAVE, assert_clean, environ_for
from tests.fakediscord import MANAGE_GUILD, FakeDiscord, FakeGuild, FakeUser, MessageState
from tests.webserver import Feed, WebSite, article_page

PRIVATE = {"STORYBOT_ALLOW_PRIVATE_URLS": "127.0.0.0/8"}
SLOW_PAGE_SECONDS = 3.0
"""How long the slow page makes a reindex of every source take, time for others to ask meanwhile."""
STARTUP_SECONDS = 60.0
"""Generous: two interpreters importing discord.py on two busy cores."""


@dataclass
class Shard:
    """One `storybot run` process serving one shard, with its own log file."""

    shard_id: int
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


async def start_shard(tmp_path: Path, environ: dict[str, str], shard_id: int, run: int) -> Shard:
    """`python -m bot run` for shard `shard_id` of 2, logging to its own file (`run` numbers restarts)."""
    log_path = tmp_path / f"shard{shard_id}-run{run}.log"
    env = {**environ, "SHARD_COUNT": "2", "SHARD_IDS": str(shard_id)}
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stdout=log, stderr=log
        )
    return Shard(shard_id, process, log_path)


async def until(condition: Callable[[], object], what: str, timeout: float = STARTUP_SECONDS) -> None:
    """Wait until `condition()` holds, checking every 50 ms (log files do not wake the fake's notifier)."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def ready(shard: Shard) -> bool:
    """Whether the process has connected its shard and is serving (discord.py logs both)."""
    return f"Shard ID {shard.shard_id} has connected to Gateway" in shard.log


@asynccontextmanager
async def stopped_at_the_end(shards: list[Shard]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for shard in shards:
            if shard.process.returncode is None:
                shard.process.send_signal(signal.SIGTERM)
        for shard in shards:
            try:
                await asyncio.wait_for(shard.process.wait(), timeout=15)
            except TimeoutError:
                shard.process.kill()
                await shard.process.wait()


async def ask_in(fake: FakeDiscord, user: FakeUser, guild: FakeGuild) -> tuple[int, MessageState]:
    """/ask in a server; the interaction id (what the answering process logs) and the answer."""
    record = await fake.invoke_slash(user, "ask", {"question": WHY_LEAVE}, guild=guild)
    answer = await record.wait_for_message(lambda m: not m.loading, timeout=20)
    assert len(record.callbacks) == 1 and record.followups == []  # one deferral, edited once into the answer
    return record.id, answer


def answered_in(log: str, item_id: int) -> list[str]:
    """The log lines in which a process says it answered this interaction or message."""
    return [line for line in log.splitlines() if re.search(rf"(/ask|message) {item_id} in .* on shard", line)]


async def answered_by(item_id: int, shards: list[Shard]) -> list[int]:
    """Which processes (by shard id) logged answering this question, once one has (it logs after replying),
    each as often as it did."""
    await until(lambda: any(answered_in(shard.log, item_id) for shard in shards), f"an answer to {item_id}")
    return [shard.shard_id for shard in shards for _ in answered_in(shard.log, item_id)]


async def test_two_shard_processes_answer_poll_and_reindex_apart(tmp_path: Path) -> None:
    async with WebSite() as site, FakeDiscord() as fake:
        # -- the world: a server on each shard, a member of both, an admin of the second, the owner
        on_zero = fake.add_guild("Harbour Club", shard=(0, 2))
        on_one = fake.add_guild("Tram Club", shard=(1, 2))
        alice, mod = fake.add_user("alice"), fake.add_user("mod")
        for guild in (on_zero, on_one):
            fake.add_member(guild, alice)
        fake.add_member(on_one, mod, roles=[fake.add_role(on_one, "Moderators", permissions=MANAGE_GUILD)])
        owner = fake.owner

        # -- one database, set up before either process starts: a slow link, and three followed feeds
        db_path = tmp_path / "storybot.db"
        policy = fetch_policy(PRIVATE)
        feeds = {"zero": guild_scope(on_zero.id), "one": guild_scope(on_one.id), "shared": "shared"}
        with StoryIndex(db_path) as index:
            site.page("/news/slow", article_page("Tram line opens", ["The tram line opens in June."]))
            index.add_articles(await read_link(site.url("/news/slow"), policy), guild_scope(on_zero.id))
            slow_body = article_page("Tram line opens", ["The tram line opens in June.", "Crowds came."])
            site.slow("/news/slow", SLOW_PAGE_SECONDS, body=slow_body)
            poller = FeedPoller(index, policy)
            for name, scope in feeds.items():
                feed = Feed(f"{name} news")
                site.page(f"/articles/{name}", article_page(f"{name} article", [f"The {name} article."]))
                feed.add(f"{name} article", site.url(f"/articles/{name}"))
                site.feed(f"/feeds/{name}.xml", feed)
                await poller.follow(site.url(f"/feeds/{name}.xml"), scope)

        environ = {
            **os.environ,
            **environ_for(fake, db_path, LOG_LEVEL="INFO", OWNER_IDS=str(owner.id), **PRIVATE),
            "STORYBOT_FEED_POLL_MINUTES": "0.01",  # every 0.6 s, so each process polls many times meanwhile
        }
        shards = [await start_shard(tmp_path, environ, 0, 1), await start_shard(tmp_path, environ, 1, 1)]
        async with stopped_at_the_end(shards):
            await until(lambda: all(ready(shard) for shard in shards), "both shards to connect")
            await fake.wait_until(fake.commands, timeout=20, what="the commands to be synced")

            # -- questions in a server on each shard and in a DM: each answered once, by its shard's process
            asked_zero, answer_zero = await ask_in(fake, alice, on_zero)
            asked_one, answer_one = await ask_in(fake, alice, on_one)
            dm = fake.dm_channel(alice)
            question = await fake.send_message(alice, dm, "How many GPUs did Musk buy?")
            zero, one = shards
            assert await answered_by(asked_zero, shards) == [0]
            assert await answered_by(asked_one, shards) == [1]
            assert await answered_by(question.id, shards) == [0]  # DMs come to shard 0
            for answer in (answer_zero, answer_one):
                assert answer.embed is not None and answer.embed["title"] == WHY_LEAVE
            dm_answers = [m for m in fake.history(dm) if m.author_id == fake.bot_user.id]
            assert len(dm_answers) == 1 and dm_answers[0].embed is not None

            # -- each feed polled by one process: its server's shard, the shared feed by shard 0
            def polled(shard: Shard, name: str) -> bool:
                return f"polled the feed {site.url(f'/feeds/{name}.xml')} for " in shard.log

            await until(
                lambda: polled(zero, "zero") and polled(zero, "shared") and polled(one, "one"),
                "every feed to be polled",
                timeout=20,
            )
            assert not polled(one, "zero") and not polled(one, "shared") and not polled(zero, "one")

            # -- the reindex lease: the owner reindexes everything from shard 0's server; shard 1's admin and
            # the CLI are told who holds it and since when
            everything = await fake.invoke_slash(
                owner, "admin reindex", {"scope": "everything"}, guild=on_zero
            )
            slow_requests = len(site.requests_for("/news/slow"))
            await until(lambda: len(site.requests_for("/news/slow")) > slow_requests, "the slow fetch", 20)
            refused = await fake.invoke_slash(mod, "admin reindex", guild=on_one)
            told = await refused.wait_for_message(lambda m: not m.loading, timeout=20)
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--db",
                str(db_path),
                "reindex",
                "--guild",
                str(on_one.id),
                cwd=tmp_path,
                env=environ,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, cli_error = await cli.communicate()
            done = await everything.wait_for_message(
                lambda m: m.content.startswith("Reindex done"), timeout=30
            )

            holder = rf"owner with /admin reindex \(storybot shards 0 on .+, pid {zero.process.pid}\)"
            since = r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC"
            assert re.fullmatch(
                rf"A reindex of every source is already running: {holder} started it at {since}\. "
                r"Try again when it has finished\.",
                told.content,
            ), told.content
            assert cli.returncode == 1
            assert re.fullmatch(
                rf"Error: a reindex of every source is already running, started by {holder} at {since}; "
                r"try again when it has finished\n",
                cli_error.decode(),
            ), cli_error.decode()
            assert ": 5 sources, 19 paragraphs; " in done.content, done.content

            # -- shard 1 killed outright: shard 0 keeps answering; shard 1 started again answers its server
            one.process.send_signal(signal.SIGKILL)
            assert await one.process.wait() == -signal.SIGKILL
            asked_while_down, answer_while_down = await ask_in(fake, alice, on_zero)
            assert answer_while_down.embed is not None
            assert await answered_by(asked_while_down, [zero]) == [0]

            again = await start_shard(tmp_path, environ, 1, 2)
            shards.append(again)
            await until(lambda: ready(again), "shard 1 to connect again")
            asked_again, answer_again = await ask_in(fake, alice, on_one)
            assert answer_again.embed is not None
            assert await answered_by(asked_again, [zero, again]) == [1]
            assert_clean(fake)

        for shard in (zero, again):
            assert shard.process.returncode == 0, shard.log
        for shard in shards:
            assert "Traceback" not in shard.log, shard.log
        print_the_answering_lines(shards)


def print_the_answering_lines(shards: list[Shard]) -> None:
    """For the closing note (pytest -s): which process answered which question, and its first poll of each
    feed it polls."""
    for shard in shards:
        feeds_seen: set[str] = set()
        for line in shard.log.splitlines():
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)  # discord.py colours its log on some terminals
            feed = re.search(r"polled the feed (\S+)", plain)
            first_poll = feed is not None and feed[1] not in feeds_seen
            if feed is not None:
                feeds_seen.add(feed[1])
            if " on shard " in plain or first_poll:
                print(f"{shard.log_path.name} (pid {shard.process.pid}): {plain}")
