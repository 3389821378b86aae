"""Smoke tests of the fake Discord, driven by a tiny but real discord.py bot defined here.

They prove the harness end to end: the unmodified discord.py client logs in over REST, syncs its
commands, connects to the gateway, receives interactions (slash commands, autocomplete, buttons,
selects, modals) and messages, answers through the interaction callback and follow-up webhook,
survives dropped connections, and recovers from a 429 and a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import (
    DEFAULT_API_BASE,
    DEFAULT_GATEWAY_URL,
    MANAGE_GUILD,
    CommandSync,
    CommandUnavailableError,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    point_discord_py_at,
)

CONTINUE_ID = "smoke:continue"
RATING_ID = "smoke:rating"
COMMENT_ID = "smoke:comment"


class ContinueView(discord.ui.View):
    """Persistent view: no timeout and a fixed custom_id, registered with ``add_view`` at startup."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Continue", style=discord.ButtonStyle.primary, custom_id=CONTINUE_ID)
    async def continue_story(
        self, interaction: discord.Interaction, button: discord.ui.Button[ContinueView]
    ) -> None:
        await interaction.response.edit_message(content="Chapter 2", view=None)


@app_commands.command(name="story", description="Tell a short story")
@app_commands.describe(topic="What the story is about")
async def story(interaction: discord.Interaction, topic: str = "dragons") -> None:
    await interaction.response.defer(thinking=True)
    embed = discord.Embed(title=f"A story about {topic}", description="Once upon a time...")
    await interaction.followup.send(embed=embed, view=ContinueView())


@story.autocomplete("topic")
async def suggest_topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [
        app_commands.Choice(name=t, value=t) for t in ("dragons", "ships", "storms") if t.startswith(current)
    ]


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    comment: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Comment", custom_id=COMMENT_ID)

    def __init__(self, rating: str) -> None:
        super().__init__()
        self.rating = rating

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(
            content=f"{self.rating} stars: {self.comment.value}", view=None
        )


class FeedbackView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.select(
        custom_id=RATING_ID,
        options=[discord.SelectOption(label=f"{n} stars", value=str(n)) for n in range(1, 6)],
    )
    async def rate(self, interaction: discord.Interaction, select: discord.ui.Select[FeedbackView]) -> None:
        await interaction.response.send_modal(FeedbackModal(select.values[0]))


@app_commands.command(name="feedback", description="Rate the story")
async def feedback(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("How was it?", view=FeedbackView())


admin = app_commands.Group(
    name="admin", description="Administration", default_permissions=discord.Permissions(manage_guild=True)
)


@admin.command(name="reindex", description="Rebuild the index")
async def reindex(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("Reindexed.", ephemeral=True)


class SmokeBot(commands.Bot):
    def __init__(self) -> None:
        # Default intents: no MESSAGE_CONTENT, so guild messages arrive without content unless the
        # bot is mentioned.  guild_ready_timeout: discord.py waits this long after the last
        # GUILD_CREATE before on_ready (2 s by default), which would dominate every test.
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
        )
        self.seen: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.tree.add_command(story)
        self.tree.add_command(admin)
        self.tree.add_command(feedback)

    async def setup_hook(self) -> None:
        self.add_view(ContinueView())
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s here before every re-IDENTIFY (Discord's identify rate limit);
        the fake has no such limit, so skip it to keep reconnect tests fast.
        """

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:
            return
        self.seen.put_nowait(message)
        if isinstance(message.channel, discord.DMChannel):
            await message.channel.send(f"echo: {message.content}")


@dataclass
class Scene:
    fake: FakeDiscord
    bot: SmokeBot
    guild: FakeGuild
    general: FakeChannel
    alice: FakeUser  # an ordinary member
    mod: FakeUser  # has Manage Server through a role


@pytest_asyncio.fixture
async def scene() -> AsyncIterator[Scene]:
    async with FakeDiscord() as fake:
        guild = fake.add_guild("Story Club")
        alice = fake.add_user("alice")
        fake.add_member(guild, alice)
        mod = fake.add_user("mod")
        fake.add_member(guild, mod, roles=[fake.add_role(guild, "Moderators", permissions=MANAGE_GUILD)])
        point_discord_py_at(fake.api_base, fake.gateway_url)
        bot = SmokeBot()
        connection: asyncio.Task[None] | None = None
        try:
            await bot.login(fake.token)
            connection = asyncio.create_task(bot.connect())
            await asyncio.wait_for(bot.wait_until_ready(), timeout=5)
            yield Scene(fake, bot, guild, guild.text_channels[0], alice, mod)
        finally:
            await bot.close()
            if connection is not None:
                await connection
            point_discord_py_at(DEFAULT_API_BASE, DEFAULT_GATEWAY_URL)


def assert_clean(fake: FakeDiscord) -> None:
    """Nothing a real Discord would reject, and no endpoint the fake lacks."""
    assert fake.violations == []
    assert fake.unknown_requests == []


@pytest.mark.asyncio
async def test_bot_connects_and_syncs_commands(scene: Scene) -> None:
    fake = scene.fake

    assert fake.command_syncs == [CommandSync(guild_id=None, names=("story", "admin", "feedback"))]
    admin_command = next(c for c in fake.commands() if c["name"] == "admin")
    assert admin_command["default_member_permissions"] == str(MANAGE_GUILD)
    assert [entry.kind for entry in fake.gateway_log] == ["identify"]
    assert [g.name for g in scene.bot.guilds] == ["Story Club"]
    assert scene.bot.user is not None and scene.bot.user.id == fake.bot_user.id
    assert_clean(fake)


@pytest.mark.asyncio
async def test_story_in_guild_defers_then_follows_up_with_button(scene: Scene) -> None:
    fake = scene.fake

    interaction = await fake.invoke_slash(scene.alice, "story", {"topic": "ships"}, channel=scene.general)
    shown = await interaction.wait_for_message(lambda m: m.embed is not None)

    assert interaction.response_type == 5
    assert shown.embed is not None and shown.embed["title"] == "A story about ships"
    assert shown.custom_ids == [CONTINUE_ID]
    assert not shown.ephemeral and not shown.loading
    # The first follow-up after a deferral replaces the "thinking" message.
    assert interaction.original is not None and shown.id == interaction.original.id
    assert [m.id for m in fake.history(scene.general)] == [shown.id]
    assert_clean(fake)


@pytest.mark.asyncio
async def test_story_in_dm(scene: Scene) -> None:
    fake = scene.fake

    interaction = await fake.invoke_slash(scene.alice, "story")
    shown = await interaction.wait_for_message(lambda m: m.embed is not None)

    assert shown.guild_id is None
    assert shown.channel_id == fake.dm_channel(scene.alice).id
    assert shown.embed is not None and shown.embed["title"] == "A story about dragons"
    assert_clean(fake)


@pytest.mark.asyncio
async def test_clicking_the_persistent_button_edits_the_message(scene: Scene) -> None:
    fake = scene.fake
    interaction = await fake.invoke_slash(scene.alice, "story", channel=scene.general)
    shown = await interaction.wait_for_message(lambda m: bool(m.custom_ids))

    click = await fake.click_button(scene.alice, shown, CONTINUE_ID)
    edited = await fake.wait_for_message(lambda m: m.id == shown.id and m.content == "Chapter 2")

    assert (await click.wait_for_response()).type == 7
    assert edited.components == ()
    assert [state.loading for state in fake.message(shown).revisions] == [True, False, False]
    assert_clean(fake)


@pytest.mark.asyncio
async def test_dm_message_reaches_on_message(scene: Scene) -> None:
    fake = scene.fake

    await fake.send_message(scene.alice, fake.dm_channel(scene.alice), "hello bot")
    received = await asyncio.wait_for(scene.bot.seen.get(), timeout=2)
    reply = await fake.wait_for_message(lambda m: m.content == "echo: hello bot")

    assert received.guild is None and received.content == "hello bot"
    assert reply.guild_id is None and reply.author_id == fake.bot_user.id
    assert_clean(fake)


@pytest.mark.asyncio
async def test_guild_content_needs_the_intent_or_a_mention(scene: Scene) -> None:
    fake = scene.fake

    await fake.send_message(scene.alice, scene.general, "nobody is listening")
    await fake.send_message(scene.alice, scene.general, "are you there?", mentions=[fake.bot_user])
    unmentioned = await asyncio.wait_for(scene.bot.seen.get(), timeout=2)
    mentioned = await asyncio.wait_for(scene.bot.seen.get(), timeout=2)

    assert unmentioned.content == ""
    assert mentioned.content == f"<@{fake.bot_user.id}> are you there?"
    assert scene.bot.user in mentioned.mentions
    assert_clean(fake)


async def disconnect(fake: FakeDiscord, how: str) -> None:
    if how == "op7-reconnect":
        await fake.request_reconnect()
    else:
        await fake.drop_gateway(abrupt=how == "tcp-reset")


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["close-4000", "tcp-reset", "op7-reconnect"])
async def test_lost_gateway_resumes_and_replays_missed_events(scene: Scene, how: str) -> None:
    fake = scene.fake

    await disconnect(fake, how)
    # Dispatched while the bot is (about to be) disconnected: replayed on RESUME.
    interaction = await fake.invoke_slash(scene.alice, "story", {"topic": "storms"}, channel=scene.general)
    resumed = await fake.wait_until(lambda: next((e for e in fake.gateway_log if e.kind == "resume"), None))
    shown = await interaction.wait_for_message(lambda m: m.embed is not None)

    assert resumed.path == "/resume"  # the resume_gateway_url from READY
    assert [e.kind for e in fake.gateway_log].count("identify") == 1
    assert shown.embed is not None and shown.embed["title"] == "A story about storms"
    assert_clean(fake)


@pytest.mark.asyncio
async def test_invalidated_session_identifies_again(scene: Scene) -> None:
    fake = scene.fake

    await fake.drop_gateway(resumable=False)
    reconnected = await fake.wait_until_connected()
    interaction = await fake.invoke_slash(scene.alice, "story", channel=scene.general)
    shown = await interaction.wait_for_message(lambda m: m.embed is not None)

    assert [entry.kind for entry in fake.gateway_log] == [
        "identify",
        "dropped",
        "closed",
        "invalid_session",
        "closed",
        "identify",
    ]
    assert reconnected.kind == "identify"
    assert shown.custom_ids == [CONTINUE_ID]
    assert_clean(fake)


@pytest.mark.asyncio
async def test_429_on_the_followup_is_honoured(scene: Scene) -> None:
    fake = scene.fake
    fake.rate_limit_next("POST", "/webhooks/*", retry_after=0.3)
    loop = asyncio.get_running_loop()

    started = loop.time()
    interaction = await fake.invoke_slash(scene.alice, "story", channel=scene.general)
    await interaction.wait_for_message(lambda m: m.embed is not None)

    assert loop.time() - started >= 0.3
    followups = [r for r in fake.requests if r.method == "POST" and r.path.startswith("/webhooks/")]
    assert [r.status for r in followups] == [429, 200]
    assert len(fake.history(scene.general)) == 1
    assert fake.pending_faults == []
    assert_clean(fake)


@pytest.mark.asyncio
async def test_admin_subcommand_is_only_offered_with_manage_server(scene: Scene) -> None:
    fake = scene.fake

    with pytest.raises(CommandUnavailableError):
        await fake.invoke_slash(scene.alice, "admin reindex", channel=scene.general)
    interaction = await fake.invoke_slash(scene.mod, "admin reindex", channel=scene.general)
    reply = await interaction.wait_for_message()

    assert reply.content == "Reindexed." and reply.ephemeral
    assert fake.history(scene.general, viewer=scene.alice) == []
    assert_clean(fake)


@pytest.mark.asyncio
async def test_payloads_over_discord_limits_are_rejected(scene: Scene) -> None:
    fake = scene.fake
    channel = scene.bot.get_channel(scene.general.id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as rejected:
        await channel.send("x" * 2001)

    assert rejected.value.status == 400 and rejected.value.code == 50035
    assert "content" in rejected.value.text
    assert [v.path for v in fake.violations] == [f"/channels/{scene.general.id}/messages"]
    assert fake.history(scene.general) == []


@pytest.mark.asyncio
async def test_autocomplete_select_menu_and_modal(scene: Scene) -> None:
    fake = scene.fake

    typed = await fake.autocomplete(
        scene.alice, "story", {"topic": "s"}, focused="topic", channel=scene.general
    )
    asked = await fake.invoke_slash(scene.alice, "feedback", channel=scene.general)
    prompt = await asked.wait_for_message()
    picked = await fake.select_options(scene.alice, prompt, RATING_ID, ["5"])
    await picked.wait_for_response()
    assert picked.modal is not None and picked.modal["title"] == "Feedback"
    await fake.submit_modal(scene.alice, picked, {COMMENT_ID: "Loved it"})
    final = await fake.wait_for_message(lambda m: m.id == prompt.id and m.content == "5 stars: Loved it")

    await typed.wait_for_response()
    assert typed.choices == [{"name": "ships", "value": "ships"}, {"name": "storms", "value": "storms"}]
    assert final.components == ()
    assert_clean(fake)


@pytest.mark.asyncio
async def test_server_errors_are_retried(scene: Scene) -> None:
    fake = scene.fake
    fake.fail_next("POST", "/channels/*/messages", status=500)

    await fake.send_message(scene.alice, fake.dm_channel(scene.alice), "again")
    await fake.wait_for_message(lambda m: m.content == "echo: again")

    sends = [r for r in fake.requests if r.route == "/channels/{channel_id}/messages" and r.method == "POST"]
    assert [r.status for r in sends] == [500, 200]  # discord.py waited 1 s, then retried
    assert_clean(fake)
