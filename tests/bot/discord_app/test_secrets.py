"""Secrets: the bot token never appears in a log line, a traceback, a message or any payload Discord receives,
even at DEBUG (where discord.py logs every request body and gateway event) and when handlers fail; `.env`,
where operators keep the token, is never committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from tests.bot.discord_app.harness import WHY_LEAVE, build_world, environ_for, running_bot
from tests.conftest import ROOT
from tests.fakediscord import FakeDiscord

TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.GxSecret.NeverLogMe-9f3b2c"
TOKEN_PARTS = ("NeverLogMe", "GxSecret", "MTk4NjIyNDgzNDcxOTI1MjQ4")


def leaks(text: str) -> list[str]:
    return [part for part in TOKEN_PARTS if part in text]


async def test_the_token_is_in_no_log_message_or_payload_even_at_debug_and_on_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    db_path = tmp_path / "storybot.db"
    async with FakeDiscord(token=TOKEN) as fake:
        guild, alice, bob, _ = build_world(fake)
        general, dm = guild.text_channels[0], fake.dm_channel(alice)
        environ = environ_for(fake, db_path, LOG_LEVEL="DEBUG")
        async with running_bot(fake, environ) as bot:
            record = await fake.invoke_slash(alice, "ask", {"question": WHY_LEAVE}, channel=general)
            await record.wait_for_message(lambda m: not m.loading)
            # A handler that fails, with its traceback logged.
            monkeypatch.setattr(bot.story.index, "ask", lambda *args: 1 / 0)
            failing = await fake.invoke_slash(bob, "ask", {"question": WHY_LEAVE}, channel=general)
            await failing.wait_for_message(lambda m: "error id" in m.content)
            monkeypatch.undo()
            # Discord refusing the bot's credentials on a route (401), then on a retry, the apology.
            fake.fail_next("POST", f"/channels/{dm.id}/messages", status=401)
            await fake.send_message(alice, dm, WHY_LEAVE)
            await fake.wait_for_message(lambda m: m.channel_id == dm.id and "error id" in m.content)
            # A dropped gateway: the bot resumes, sending its token to the gateway as it must.
            await fake.drop_gateway()
            await fake.wait_until(lambda: any(e.kind == "resume" for e in fake.gateway_log))

        logged = caplog.text
        assert "Unauthorized" in logged and "ZeroDivisionError" in logged and "RESUME" in logged
        assert leaks(logged) == []
        for request in fake.requests:
            # The Authorization header is the one place the token belongs; bodies and paths never hold it.
            assert request.headers.get("Authorization") in (None, f"Bot {TOKEN}")
            assert leaks(request.path) == [] and leaks(json.dumps(request.json)) == []
            assert all(leaks(file.data.decode("utf-8", "replace")) == [] for file in request.files)
        for channel in (general, dm):
            for state in fake.history(channel):
                assert leaks(state.text) == []
    assert TOKEN.encode() not in db_path.read_bytes()
    assert leaks(repr(Settings.from_env(environ))) == []


async def test_a_rejected_token_ends_storybot_run_with_a_message_that_does_not_show_it(
    tmp_path: Path,
) -> None:
    async with FakeDiscord(token="the-right-token") as fake:
        build_world(fake)
        environ = {**os.environ, **environ_for(fake, tmp_path / "storybot.db", LOG_LEVEL="DEBUG")}
        environ["DISCORD_TOKEN"] = TOKEN
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=environ,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)

    text = output.decode("utf-8", "replace")
    assert process.returncode == 1, text
    assert "storybot: Discord rejected DISCORD_TOKEN; copy the token again from the Bot tab" in text
    assert "401" in text  # discord.py's DEBUG log of the rejected request is there, without the token
    assert leaks(text) == []


def test_env_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in [line.strip() for line in ignored]
    git = shutil.which("git")
    if git is not None and (ROOT / ".git").exists():
        checked = subprocess.run([git, "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
        assert checked.returncode == 0  # git itself says .env is ignored
