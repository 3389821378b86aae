"""End to end: /admin, command sync, restarts, and `storybot run` itself as a process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.discord_app.admin import NOT_ADMIN, NOT_OWNER, NOT_OWNER_REINDEX
from index import DatabaseError, ReindexLeases, ReindexReport, guild_scope
from tests.bot.discord_app.harness import (
    WHY_LEAVE,
    Scene,
    ask,
    assert_clean,
    build_world,
    environ_for,
    running_bot,
)
from tests.conftest import ROOT
from tests.fakediscord import CommandUnavailableError, FakeDiscord
from tests.fakediscord.state import CommandSync

COMMANDS = ("ask", "sources", "help", "timeline", "admin")


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        db_path = tmp_path / "storybot.db"
        environ = environ_for(fake, db_path, OWNER_IDS=str(bob.id))
        async with running_bot(fake, environ) as bot:
            yield Scene(fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, db_path)


def write_sources(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for n in range(count):
        path = tmp_path / f"story{n}.txt"
        path.write_text(
            f"Rocket launch {n}\n\nThe rocket number {n} launched at dawn.\n\nIt landed.\n", encoding="utf-8"
        )
        paths.append(path)
    return paths


# -- who may use /admin -------------------------------------------------------------------------------------


async def test_admin_is_registered_for_manage_server_and_not_in_dms(scene: Scene) -> None:
    admin = next(command for command in scene.fake.commands() if command["name"] == "admin")

    assert admin["default_member_permissions"] == str(1 << 5)
    assert admin["contexts"] == [0]
    assert admin["integration_types"] == [0]
    ask_command = next(command for command in scene.fake.commands() if command["name"] == "ask")
    assert sorted(ask_command["contexts"]) == [0, 1] and sorted(ask_command["integration_types"]) == [0, 1]
    with pytest.raises(CommandUnavailableError):
        await scene.fake.invoke_slash(scene.alice, "admin status", channel=scene.general)
    with pytest.raises(CommandUnavailableError):
        await scene.fake.invoke_slash(scene.mod, "admin status")  # not in DMs


async def test_admin_reindex_is_refused_for_a_member(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(
        scene.alice, "admin reindex", channel=scene.general, check_permissions=False
    )
    refused = await record.wait_for_message()

    assert refused.ephemeral and refused.content == NOT_ADMIN
    assert_clean(scene.fake)


async def test_an_owner_from_owner_ids_may_use_admin_without_manage_server(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(
        scene.bob, "admin status", channel=scene.general, check_permissions=False
    )
    status = await record.wait_for_message(lambda m: m.embed is not None)

    assert status.ephemeral
    assert_clean(scene.fake)


# -- reindex ------------------------------------------------------------------------------------------------


async def test_admin_reindex_shows_progress_then_a_summary(scene: Scene, tmp_path: Path) -> None:
    paths = write_sources(tmp_path, 3)
    scene.index.add_paths(paths, scope=guild_scope(scene.guild.id))
    paths[1].write_text(
        "Rocket launch 1\n\nThe rocket was scrubbed.\n\nIt waits.\n\nTomorrow.\n", encoding="utf-8"
    )

    record = await scene.fake.invoke_slash(scene.mod, "admin reindex", channel=scene.general)
    done = await record.wait_for_message(lambda m: m.content.startswith("Reindex done"))

    assert done.ephemeral
    states = [state.content for state in scene.fake.message(done).revisions]
    assert states[0] == ""  # the deferred "thinking" state
    assert states[1:-1] == [f"Reindexing this server's sources… {n} of 3 sources read." for n in range(1, 4)]
    assert re.fullmatch(  # the same unit as the progress: this server's 3 sources, not the shared story
        r"Reindex done in \d+\.\d\d s: 3 sources, 7 paragraphs; 0 added, 0 removed, 1 changed\.",
        done.content,
    )
    assert_clean(scene.fake)


async def test_an_admin_reindex_reads_this_servers_sources_only(scene: Scene, tmp_path: Path) -> None:
    ours, theirs = write_sources(tmp_path, 2)
    scene.index.add_paths([ours], scope=guild_scope(scene.guild.id))
    scene.index.add_paths([theirs], scope=guild_scope(scene.guild.id + 1))
    theirs.unlink()  # another server's source that a reindex of every source would mark stale

    record = await scene.fake.invoke_slash(scene.mod, "admin reindex", channel=scene.general)
    done = await record.wait_for_message(lambda m: m.content.startswith("Reindex done"))

    assert done.content.startswith("Reindex done in ") and ": 1 source, 2 paragraphs; " in done.content
    assert {record.id: record.status for record in scene.index.sources()}["story1"] == "ok"
    assert_clean(scene.fake)


async def test_an_admin_cannot_reindex_the_shared_sources_or_everything(scene: Scene) -> None:
    for choice in ("shared", "everything"):
        record = await scene.fake.invoke_slash(
            scene.mod, "admin reindex", {"scope": choice}, channel=scene.general
        )
        refused = await record.wait_for_message()
        assert refused.ephemeral and refused.content == NOT_OWNER_REINDEX
    assert_clean(scene.fake)


@pytest.mark.parametrize(
    ("choice", "what", "summary"),
    [
        ("shared", "the shared sources", "1 source, 15 paragraphs"),
        ("everything", "every source", "3 sources, 19 paragraphs"),
    ],
)
async def test_an_owner_chooses_what_to_reindex(
    scene: Scene, tmp_path: Path, choice: str, what: str, summary: str
) -> None:
    paths = write_sources(tmp_path, 2)
    scene.index.add_paths(paths, scope=guild_scope(scene.guild.id))

    record = await scene.fake.invoke_slash(
        scene.bob, "admin reindex", {"scope": choice}, channel=scene.general, check_permissions=False
    )
    done = await record.wait_for_message(lambda m: m.content.startswith("Reindex done"))

    states = [state.content for state in scene.fake.message(done).revisions]
    assert states[-2].startswith(f"Reindexing {what}… ")
    assert f": {summary}; " in done.content
    assert_clean(scene.fake)


async def test_a_second_reindex_is_told_who_runs_one_and_questions_are_answered_meanwhile(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    original = scene.index.reindex

    def slow(progress: object = None, scopes: object = None) -> ReindexReport:
        started.set()
        release.wait(5)
        return original(progress, scopes=scopes)  # type: ignore[arg-type]

    monkeypatch.setattr(scene.index, "reindex", slow)
    first = await scene.fake.invoke_slash(scene.mod, "admin reindex", channel=scene.general)
    assert await asyncio.to_thread(started.wait, 5)

    second = await scene.fake.invoke_slash(
        scene.bob, "admin reindex", {"scope": "everything"}, channel=scene.general, check_permissions=False
    )
    told = await second.wait_for_message(lambda m: not m.loading)
    answer = await ask(scene, scene.alice, WHY_LEAVE)
    release.set()
    done = await first.wait_for_message(lambda m: m.content.startswith("Reindex done"))

    assert told.ephemeral
    assert re.fullmatch(
        r"A reindex of this server's sources is already running: mod with /admin reindex "
        rf"\(storybot shards 0 on .+, pid {os.getpid()}\) "
        r"started it at 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC\. "
        r"Try again when it has finished\.",
        told.content,
    ), told.content
    assert answer.embed is not None and answer.embed["footer"]["text"] == "13 passages matched"
    assert "0 sources, 0 paragraphs" in done.content
    with ReindexLeases(scene.db_path) as leases:
        assert leases.held() == []  # given back when the reindex ended
    assert_clean(scene.fake)


async def test_a_long_reindex_moves_to_a_direct_message_and_says_so(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        guild, _alice, _bob, mod = build_world(fake)
        environ = environ_for(fake, tmp_path / "storybot.db")
        # The reply's time is up at once: what takes 14 minutes on Discord happens here on the first step.
        async with running_bot(fake, environ, reply_seconds=0.0) as bot:
            bot.story.index.add_paths(write_sources(tmp_path, 2), scope=guild_scope(guild.id))
            record = await fake.invoke_slash(mod, "admin reindex", guild=guild)
            reply = await record.wait_for_message(lambda m: "continue in" in m.content)
            dm = fake.dm_channel(mod)
            await fake.wait_until(
                lambda: any("Reindex done" in m.content for m in fake.history(dm)), what="the summary"
            )

        assert reply.ephemeral and reply.content == (
            "This reindex is taking a while, longer than Discord lets me update this reply: "
            "its progress and summary continue in a direct message to you."
        )
        (moved,) = fake.history(dm)
        states = [state.content for state in fake.message(moved).revisions]
        assert states[0] == "`/admin reindex` in Story Club: Reindexing this server's sources…"
        assert re.fullmatch(
            r"`/admin reindex` in Story Club: Reindex done in \d+\.\d\d s: 2 sources, 4 paragraphs; "
            r"0 added, 0 removed, 0 changed\.",
            states[-1],
        )
        assert all("Reindexing this server's sources…" in state for state in states[:-1])
        assert_clean(fake)


async def test_with_dms_closed_a_long_reindex_moves_to_the_channel(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        guild, _alice, _bob, mod = build_world(fake)
        mod.dms_open = False
        async with running_bot(fake, environ_for(fake, tmp_path / "storybot.db"), reply_seconds=0.0) as bot:
            bot.story.index.add_paths(write_sources(tmp_path, 1), scope=guild_scope(guild.id))
            general = guild.text_channels[0]
            record = await fake.invoke_slash(mod, "admin reindex", channel=general)
            reply = await record.wait_for_message(lambda m: "continue in" in m.content)
            await fake.wait_until(
                lambda: any("Reindex done" in m.content for m in fake.history(general)), what="the summary"
            )

        assert reply.content.endswith(f"its progress and summary continue in <#{general.id}>.")
        (moved,) = [m for m in fake.history(general) if m.author_id == fake.bot_user.id and not m.ephemeral]
        assert moved.content.startswith("`/admin reindex` in Story Club: Reindex done in ")
        assert_clean(fake)


async def test_a_failed_reindex_says_what_failed_and_keeps_the_old_index(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(progress: object = None, scopes: object = None) -> ReindexReport:
        raise DatabaseError("cannot write the database at /data/storybot.db: disk I/O error")

    monkeypatch.setattr(scene.index, "reindex", failing)
    record = await scene.fake.invoke_slash(scene.mod, "admin reindex", channel=scene.general)
    failed = await record.wait_for_message(lambda m: m.content.startswith("Reindex failed"))

    assert failed.content == (
        "Reindex failed: cannot write the database at /data/storybot.db: disk I/O error. "
        "The previous index is unchanged and still answering."
    )
    assert (await ask(scene, scene.alice, WHY_LEAVE)).embed is not None
    assert_clean(scene.fake)


async def test_unreadable_sources_are_listed_in_the_summary(scene: Scene, tmp_path: Path) -> None:
    (path,) = write_sources(tmp_path, 1)
    scene.index.add_paths([path], scope=guild_scope(scene.guild.id))
    path.unlink()

    record = await scene.fake.invoke_slash(scene.mod, "admin reindex", channel=scene.general)
    done = await record.wait_for_message(lambda m: m.content.startswith("Reindex done"))

    assert "Could not read these (kept their last good copy):\n• " in done.content
    assert "story0.txt" in done.content
    assert_clean(scene.fake)


# -- status and sync -----------------------------------------------------------------------------------------


async def test_admin_status_reports_index_usage_latency_and_uptime(scene: Scene) -> None:
    answered = await ask(scene, scene.alice, WHY_LEAVE)
    await ask(scene, scene.alice, "How many GPUs did Musk buy?")
    await ask(scene, scene.alice, "What did Musk say about bananas?")
    vote = await scene.fake.click_button(scene.bob, answered, "storybot:vote:down:10.11.12")
    await vote.wait_for_message(lambda m: not m.loading)
    await scene.bot.story.drain()

    record = await scene.fake.invoke_slash(scene.mod, "admin status", channel=scene.general)
    status = await record.wait_for_message(lambda m: m.embed is not None)

    assert status.ephemeral and status.embed is not None
    fields = {field["name"]: field["value"] for field in status.embed["fields"]}
    assert list(fields) == [
        "Index",
        "Last reindex",
        "Questions",
        "Feedback",
        "/ask latency",
        "Uptime",
        "Time zone",
    ]
    assert fields["Index"].startswith("1 source · 15 paragraphs · ")
    assert fields["Last reindex"] == "never"
    assert fields["Questions"] == "2 answered · 1 not answered"
    assert fields["Feedback"] == "👍 0 · 👎 1"
    assert re.fullmatch(r"p50 \d+ ms · p95 \d+ ms", fields["/ask latency"])
    assert re.fullmatch(r"\d+s", fields["Uptime"])
    assert fields["Time zone"] == "`UTC` (the bot's default, as this server chose none)"
    assert_clean(scene.fake)


async def test_admin_sync_is_for_owners_and_forces_a_sync(scene: Scene) -> None:
    assert scene.fake.command_syncs == [CommandSync(guild_id=None, names=COMMANDS)]

    refused = await scene.fake.invoke_slash(scene.mod, "admin sync", channel=scene.general)
    assert (await refused.wait_for_message()).content == NOT_OWNER
    record = await scene.fake.invoke_slash(scene.fake.owner, "admin sync", channel=scene.general)
    done = await record.wait_for_message(lambda m: not m.loading)

    assert done.ephemeral and done.content == "Synced 5 slash commands globally."
    assert scene.fake.command_syncs == [CommandSync(None, COMMANDS), CommandSync(None, COMMANDS)]
    assert_clean(scene.fake)


async def test_a_restart_with_the_same_commands_does_not_sync_and_old_buttons_still_work(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "storybot.db"
    async with FakeDiscord() as fake:
        guild, alice, _, _ = build_world(fake)
        channel = guild.text_channels[0]
        async with running_bot(fake, environ_for(fake, db_path)):
            record = await fake.invoke_slash(alice, "ask", {"question": WHY_LEAVE}, channel=channel)
            answer = await record.wait_for_message(lambda m: not m.loading)
        async with running_bot(fake, environ_for(fake, db_path)):
            click = await fake.click_button(alice, answer, f"storybot:more:{alice.id}:3:3:a")
            await click.wait_for_response()
            paged = await fake.wait_for_message(lambda m: m.id == answer.id and "showing 4–6" in m.text)

        assert fake.command_syncs == [CommandSync(None, COMMANDS)]
        assert paged.embed is not None
        assert_clean(fake)


async def test_a_database_moved_to_another_discord_application_syncs_its_commands(tmp_path: Path) -> None:
    db_path = tmp_path / "storybot.db"
    async with FakeDiscord() as first:
        build_world(first)
        async with running_bot(first, environ_for(first, db_path)):
            pass
    async with FakeDiscord() as second:
        build_world(second)
        assert second.application.id != first.application.id
        async with running_bot(second, environ_for(second, db_path)):
            pass

    # The same commands and the same database, but the new application has none registered yet.
    assert first.command_syncs == [CommandSync(None, COMMANDS)]
    assert second.command_syncs == [CommandSync(None, COMMANDS)]
    assert [command["name"] for command in second.commands()] == list(COMMANDS)
    assert_clean(second)


async def test_dev_guild_commands_are_synced_to_that_server(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        guild, alice, _, _ = build_world(fake)
        environ = environ_for(fake, tmp_path / "storybot.db", DEV_GUILD_ID=str(guild.id))
        async with running_bot(fake, environ):
            record = await fake.invoke_slash(alice, "ask", {"question": WHY_LEAVE}, guild=guild)
            answer = await record.wait_for_message(lambda m: not m.loading)

        assert fake.command_syncs == [CommandSync(guild.id, COMMANDS)]
        assert answer.embed is not None
        assert_clean(fake)


# -- `storybot run` ------------------------------------------------------------------------------------------


async def test_storybot_run_answers_and_never_logs_the_token(tmp_path: Path) -> None:
    async with FakeDiscord(token="MTIz.very-secret-token") as fake:
        guild, alice, _, _ = build_world(fake)
        environ = {**os.environ, **environ_for(fake, tmp_path / "storybot.db", LOG_LEVEL="DEBUG")}
        log_path = tmp_path / "storybot.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=environ, stdout=log, stderr=log
            )
            try:
                await fake.wait_until_connected(timeout=30)
                record = await fake.invoke_slash(alice, "ask", {"question": WHY_LEAVE}, guild=guild)
                answer = await record.wait_for_message(lambda m: not m.loading, timeout=10)
            finally:
                process.send_signal(signal.SIGINT)
                code = await asyncio.wait_for(process.wait(), timeout=15)

        logged = log_path.read_text(encoding="utf-8")
        assert code == 0, logged
        assert answer.embed is not None and answer.embed["title"] == WHY_LEAVE
        assert "Synced 5 slash commands globally." in logged
        assert "very-secret-token" not in logged and "MTIz" not in logged
        assert_clean(fake)
