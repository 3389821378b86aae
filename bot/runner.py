"""`storybot run`: settings, logging, endpoints, the index and the bot, made once here and nowhere else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import discord

from bot.client import StoryBot
from bot.endpoints import use_endpoints
from bot.settings import Settings, SettingsError
from index import StorybotError, StoryIndex

log = logging.getLogger("storybot")


def main(environ: Mapping[str, str]) -> None:
    """Run the bot until interrupted; bad settings or a rejected token end it with a one-line message."""
    try:
        settings = Settings.from_env(environ)
    except SettingsError as error:
        raise SystemExit(f"storybot: {error}") from None
    discord.utils.setup_logging(level=settings.log_level)
    use_endpoints(settings.api_base, settings.gateway_url)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        log.info("stopped")
    except discord.LoginFailure:
        raise SystemExit(
            "storybot: Discord rejected DISCORD_TOKEN; copy the token again from the Bot tab"
        ) from None
    except StorybotError as error:
        raise SystemExit(f"storybot: {error}") from None


async def serve(settings: Settings, **options: Any) -> None:
    """Open the index and run the bot on it until the connection ends; `options` go to the client."""
    index = StoryIndex(settings.database)
    try:
        log.info("index at %s", index.path)
        async with StoryBot(settings, index, **options) as bot:
            await bot.start(settings.token)
    finally:
        close_index(index)


def close_index(index: StoryIndex) -> None:
    """Close the index and every connection its worker threads opened."""
    index.close()
