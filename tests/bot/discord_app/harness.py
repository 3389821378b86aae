"""The Discord test harness: the fake Discord with a small world, and the bot as `storybot run` makes it.

`running_bot` opens the bot through `bot.discord_app.runner.open_bot`, the production composition root, so a
wiring bug there fails these tests. The tests act as Discord users (`ask`, `button`) and end with
`assert_clean`: no payload a real Discord would reject, no unknown endpoint, `allowed_mentions` none
everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.discord_app.client import StoryBot
from bot.discord_app.endpoints import use_endpoints
from bot.discord_app.runner import open_bot
from index import Article, StoryIndex
from tests.bot.discord_app.payload_checks import message_body
from tests.fakediscord import MANAGE_GUILD, FakeChannel, FakeDiscord, FakeGuild, FakeUser, MessageState

WHY_LEAVE = "Why did Musk leave OpenAI?"
TITLE = "Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs"


@dataclass
class Scene:
    fake: FakeDiscord
    bot: StoryBot
    index: StoryIndex
    guild: FakeGuild
    general: FakeChannel
    alice: FakeUser  # a member
    bob: FakeUser  # another member
    mod: FakeUser  # Manage Server through a role
    db_path: Path


def environ_for(fake: FakeDiscord, db_path: Path, **extra: str) -> dict[str, str]:
    """What an operator would put in .env to run the bot against the fake."""
    return {
        "DISCORD_TOKEN": fake.token,
        "STORYBOT_DB": str(db_path),
        "DISCORD_API_BASE": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        **extra,
    }


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord, environ: Mapping[str, str], **options: Any
) -> AsyncIterator[StoryBot]:
    """The bot as `storybot run` makes it (`runner.open_bot`), connected and ready; closed and unpointed
    afterwards."""
    settings = Settings.from_env(environ)
    previous = use_endpoints(settings.api_base, settings.gateway_url)
    # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE before on_ready (2 s by
    # default); progress_interval 0 shows every reindex step, so the tests can assert each one.
    options = {"guild_ready_timeout": 0.05, "progress_interval": 0.0, **options}
    try:
        async with open_bot(settings, **options) as bot:
            connection: asyncio.Task[None] | None = None
            try:
                await bot.login(settings.token)
                connection = asyncio.create_task(bot.connect())
                await asyncio.wait_for(bot.wait_until_ready(), timeout=5)
                yield bot
            finally:
                await bot.close()
                if connection is not None:
                    await connection
    finally:
        use_endpoints(previous.api_base, previous.gateway_url)


def build_world(fake: FakeDiscord) -> tuple[FakeGuild, FakeUser, FakeUser, FakeUser]:
    guild = fake.add_guild("Story Club")
    alice, bob, mod = fake.add_user("alice"), fake.add_user("bob"), fake.add_user("mod")
    fake.add_member(guild, alice)
    fake.add_member(guild, bob)
    fake.add_member(guild, mod, roles=[fake.add_role(guild, "Moderators", permissions=MANAGE_GUILD)])
    return guild, alice, bob, mod


@asynccontextmanager
async def open_scene(tmp_path: Path, articles: list[Article] | None = None) -> AsyncIterator[Scene]:
    """The fake Discord with its world and the bot running on a new database, `articles` added to it."""
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        db_path = tmp_path / "storybot.db"
        async with running_bot(fake, environ_for(fake, db_path)) as bot:
            if articles:
                bot.story.index.add_articles(articles)
            yield Scene(fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, db_path)


def assert_clean(fake: FakeDiscord) -> None:
    """Nothing a real Discord would reject, no unknown endpoint, and no message that could ping anyone."""
    assert fake.violations == []
    assert fake.unknown_requests == []
    for request in fake.requests:
        body = message_body(request)
        if body is not None and ("content" in body or "embeds" in body):
            mentions = body.get("allowed_mentions") or {}
            allowed = {key: value for key, value in mentions.items() if value}
            assert mentions and allowed == {}, (request.method, request.path, body)


async def ask(scene: Scene, user: FakeUser, question: str, **options: Any) -> MessageState:
    """Run /ask in the server's channel and wait for the answer."""
    record = await scene.fake.invoke_slash(
        user, "ask", {"question": question, **options}, channel=scene.general
    )
    return await record.wait_for_message(lambda m: not m.loading)


def button(message: MessageState, prefix: str) -> str:
    return next(custom_id for custom_id in message.custom_ids if custom_id.startswith(prefix))


def embed_as_text(message: MessageState) -> str:
    """An answer the way a member reads it, for the closing note."""
    embed = message.embed or {}
    lines = [message.content] if message.content else []
    lines += [f"# {embed.get('title', '')}", embed.get("description", "")]
    for field in embed.get("fields", []):
        lines += [f"## {field['name']}", field["value"]]
    lines.append(f"-- {embed.get('footer', {}).get('text', '')}")
    labels = [b.get("label") or b.get("emoji", {}).get("name") for b in message.buttons]
    lines.append("[" + "] [".join(str(label) for label in labels) + "]")
    return "\n".join(lines)
