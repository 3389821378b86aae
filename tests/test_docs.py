"""The README documents every command, and the commands it tells a newcomer to copy work."""

from __future__ import annotations

import re
from pathlib import Path

import discord
from click.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.discord_app.runner import open_bot

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _fenced_bash_commands() -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S)]


def test_every_cli_command_is_documented() -> None:
    missing = [name for name in cli.commands if f"`storybot {name}" not in README]
    assert missing == []


async def test_every_slash_command_is_documented(tmp_path: Path) -> None:
    settings = Settings.from_env({"DISCORD_TOKEN": "x" * 60, "STORYBOT_DB": str(tmp_path / "d.db")})
    async with open_bot(settings) as bot:  # set up, never logged in
        await bot.register_commands()
        names = [
            command.qualified_name
            for command in bot.tree.walk_commands()
            if not isinstance(command, discord.app_commands.Group)
        ]
    assert {"ask", "sources", "help", "admin reindex", "admin status", "admin sync"} <= set(names)
    assert [name for name in names if f"`/{name}" not in README] == []


def test_every_setting_is_documented_in_env_example_and_readme() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    keys = re.findall(r"^([A-Z_]+)=", example, re.M)
    assert {"DISCORD_TOKEN", "STORYBOT_DB", "LOG_LEVEL", "OWNER_IDS", "DEV_GUILD_ID"} <= set(keys)
    assert [key for key in keys if f"`{key}`" not in README] == []
    # Every key has a one-line comment right above it.
    lines = example.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[number - 1].startswith("#") or re.match(r"^[A-Z_]+=", lines[number - 1]), line


def test_the_readme_test_command_is_what_ci_runs() -> None:
    test_command = _fenced_bash_commands()[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_first_command_answers_from_the_built_in_story(tmp_path: Path) -> None:
    install_and_ask = _fenced_bash_commands()[0]
    question = re.search(r'storybot ask "([^"]+)"', install_and_ask)
    assert question is not None
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "q.db"), "ask", question.group(1)])
    assert result.exit_code == 0
    assert "That failed power struggle left Musk reeling" in result.stdout
    assert (
        "Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs · paragraph 10 of 15"
        in result.stdout
    )
