"""Shared by the Discord tests: discord.py imported once without its `audioop` warning, and the `scene`."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

with warnings.catch_warnings():
    # discord.py 2.7 imports the deprecated stdlib `audioop`; pyproject turns warnings into errors.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

from tests.bot.discord_app.harness import Scene, open_scene


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """The fake Discord and its world, with the bot running on a new database (the built-in story)."""
    async with open_scene(tmp_path) as opened:
        yield opened
