"""The bot as a service runs it: its heartbeat in the database for `storybot health`, a start that waits
for an unreachable Discord with one line per try, log lines as JSON, and no voice warnings."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.discord_app.client import StoryBot
from bot.discord_app.connecting import backoff, login_patiently
from bot.discord_app.endpoints import use_endpoints
from bot.discord_app.logs import JsonFormatter
from bot.discord_app.runner import open_bot
from index import HEARTBEAT_SETTING, Heartbeat, StoryIndex, heartbeat_setting
from tests.bot.discord_app.harness import assert_clean, build_world, environ_for, running_bot
from tests.conftest import ROOT
from tests.fakediscord import FakeDiscord


async def _heartbeat_in(bot: StoryBot, state: str) -> Heartbeat:
    """The heartbeat the bot recorded, once it is in `state` (waiting up to five seconds)."""
    for _ in range(500):
        heartbeat = Heartbeat.from_setting(await bot.story.get_setting(HEARTBEAT_SETTING))
        if heartbeat is not None and heartbeat.state == state:
            return heartbeat
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {state} heartbeat recorded")


async def test_the_bot_records_its_gateway_heartbeat_for_storybot_health(tmp_path: Path) -> None:
    db_path = tmp_path / "storybot.db"
    async with FakeDiscord() as fake:
        build_world(fake)
        async with running_bot(fake, environ_for(fake, db_path), heartbeat_interval=0.05) as bot:
            first = await _heartbeat_in(bot, "connected")
            later = first
            while later.at == first.at:  # it keeps beating
                later = await _heartbeat_in(bot, "connected")
            healthy = CliRunner().invoke(cli, ["--db", str(db_path), "health"])
        assert_clean(fake)

    with StoryIndex(db_path) as index:
        stopped = Heartbeat.from_setting(index.get_setting(HEARTBEAT_SETTING))
    assert first.latency is not None and first.latency >= 0
    assert first.started_at == bot.started_wall
    assert healthy.exit_code == 0, healthy.output
    assert "the bot is connected" in healthy.stdout
    assert stopped is not None and stopped.state == "stopped" and stopped.at >= later.at


async def test_a_shard_process_beats_under_its_own_shards_and_is_judged_by_them(tmp_path: Path) -> None:
    db_path = tmp_path / "storybot.db"
    shard_one = {"SHARD_COUNT": "2", "SHARD_IDS": "1"}
    async with FakeDiscord() as fake:
        build_world(fake)
        async with running_bot(fake, environ_for(fake, db_path, **shard_one), heartbeat_interval=0.05) as bot:
            for _ in range(500):
                beat = Heartbeat.from_setting(await bot.story.get_setting(heartbeat_setting((1,))))
                if beat is not None and beat.state == "connected":
                    break
                await asyncio.sleep(0.01)
            own = CliRunner().invoke(cli, ["--db", str(db_path), "health"], env=shard_one)
            other = CliRunner().invoke(cli, ["--db", str(db_path), "health"], env={"SHARD_IDS": "0"})
            unsharded = await bot.story.get_setting(HEARTBEAT_SETTING)
        assert_clean(fake)

    assert beat is not None and beat.state == "connected"
    assert own.exit_code == 0 and "the bot is connected" in own.stdout, own.output
    assert other.exit_code == 0 and "no bot is running" in other.stdout  # shard 0 has recorded nothing
    assert unsharded is None


def test_the_backoff_doubles_up_to_a_minute() -> None:
    delays = backoff()
    assert [next(delays) for _ in range(8)] == [2, 4, 8, 16, 32, 60, 60, 60]


@asynccontextmanager
async def _bot_pointed_at(api_base: str, gateway_url: str, db_path: Path) -> AsyncIterator[StoryBot]:
    """The bot as `storybot run` makes it, not logged in, its endpoints at `api_base`; closed after."""
    environ = {
        "DISCORD_TOKEN": "fake-bot-token",
        "STORYBOT_DB": str(db_path),
        "DISCORD_API_BASE": api_base,
        "DISCORD_GATEWAY_URL": gateway_url,
    }
    settings = Settings.from_env(environ)
    previous = use_endpoints(settings.api_base, settings.gateway_url)
    try:
        async with open_bot(settings) as bot:
            try:
                yield bot
            finally:
                await bot.close()
    finally:
        use_endpoints(previous.api_base, previous.gateway_url)


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unreachable_discord() -> tuple[int, str, str]:
    """A closed port, and Discord's API base and gateway pointed at it."""
    port = _closed_port()
    return port, f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/"


def _retry_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "Discord cannot be reached" in record.getMessage()]


async def test_a_discord_outage_at_login_is_retried_until_it_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeDiscord() as fake:
        fake.fail_next("GET", "/users/@me", status=503, times=2)
        async with _bot_pointed_at(fake.api_base, fake.gateway_url, tmp_path / "s.db") as bot:
            logged_in = await login_patiently(bot, fake.token, bot.stop_requested, [0.01, 0.02, 0.04])

            assert logged_in and bot.user is not None and bot.user.id == fake.bot_user.id
        assert fake.pending_faults == []

    lines = _retry_lines(caplog)
    assert [record.levelname for record in lines] == ["WARNING", "WARNING"]
    assert [record.getMessage().rsplit(" in ", 1)[1] for record in lines] == ["0.01 s", "0.02 s"]
    assert all(record.exc_info is None for record in lines)


async def test_an_unreachable_discord_is_one_line_a_try_and_the_sessions_are_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port, base, gateway = _unreachable_discord()
    async with _bot_pointed_at(base, gateway, tmp_path / "s.db") as bot:
        with pytest.raises(aiohttp.ClientConnectorError):
            await login_patiently(bot, "fake-bot-token", bot.stop_requested, [0.0, 0.0])

    lines = [record.getMessage() for record in _retry_lines(caplog)]
    assert len(lines) == 2
    assert all(f"127.0.0.1:{port}" in line and "\n" not in line for line in lines)


async def test_a_stop_while_waiting_for_discord_ends_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, base, gateway = _unreachable_discord()
    async with _bot_pointed_at(base, gateway, tmp_path / "s.db") as bot:
        waiting = asyncio.create_task(login_patiently(bot, "fake-bot-token", bot.stop_requested, [3600.0]))
        while not _retry_lines(caplog):
            await asyncio.sleep(0.01)
        await bot.close()

        assert await waiting is False


async def test_storybot_run_waits_for_an_unreachable_discord_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, base, gateway = _unreachable_discord()
    environ = {
        **os.environ,
        "DISCORD_TOKEN": "fake-bot-token",
        "STORYBOT_DB": str(tmp_path / "storybot.db"),
        "DISCORD_API_BASE": base,
        "DISCORD_GATEWAY_URL": gateway,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environ, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while not any("Discord cannot be reached" in line for line in lines):
            line = await asyncio.wait_for(process.stderr.readline(), timeout=30)
            assert line, "storybot run ended: " + "".join(lines)
            lines.append(line.decode())
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=15)
    lines += (rest or b"").decode().splitlines(keepends=True)

    logged = "".join(lines)
    assert process.returncode == 0, logged
    assert "Traceback" not in logged
    assert f"Discord cannot be reached (Cannot connect to host 127.0.0.1:{port}" in logged
    assert "trying again in 2 s" in logged
    assert "PyNaCl" not in logged and "davey" not in logged
    with StoryIndex(tmp_path / "storybot.db") as index:
        stopped = Heartbeat.from_setting(index.get_setting(HEARTBEAT_SETTING))
    assert stopped is not None and stopped.state == "stopped"


async def test_storybot_run_logs_json_lines_without_voice_warnings(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        build_world(fake)
        environ = {**os.environ, **environ_for(fake, tmp_path / "storybot.db", LOG_FORMAT="json")}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=environ, stderr=asyncio.subprocess.PIPE
        )
        try:
            await fake.wait_until_connected(timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            _, logged = await asyncio.wait_for(process.communicate(), timeout=15)

    entries = [json.loads(line) for line in logged.decode().splitlines()]
    assert process.returncode == 0
    assert {tuple(entry) for entry in entries} == {("time", "level", "logger", "message")}
    messages = [entry["message"] for entry in entries]
    assert any(re.fullmatch(r"Synced \d+ slash commands globally\.", message) for message in messages)
    assert not [message for message in messages if "voice will NOT be supported" in message]
    assert messages[-1] == "stopped"


def test_a_json_log_line_keeps_its_traceback_inside() -> None:
    try:
        raise ValueError("bad\nnews")
    except ValueError:
        record = logging.LogRecord(
            "storybot", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info()
        )

    line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "storybot", "failed once")
    assert entry["exception"].startswith("Traceback") and "ValueError: bad\nnews" in entry["exception"]
