"""Questions: /ask, /sources, /help, and questions sent as DMs or mentions. Each handler is a few lines:
admit, defer, run the core off the event loop (in the bounded work queue), format, reply. Failures go to the
one error path.

Replies are safe to retry: /ask edits its deferred response in place (an idempotent PATCH), and discord.py
sends a message reply with a nonce Discord enforces, so a retried POST never posts twice. A message event
delivered twice (Discord promises at least once) is answered once.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.admission import Admission, Refused, Ticket
from bot.discord_app.buttons import answer_view, sources_view
from bot.discord_app.errors import PUBLIC_DEFERRAL, Refusal, handle_message_error
from bot.discord_app.replies import (
    answer_reply,
    busy_notice,
    cooldown_notice,
    date_problem,
    help_reply,
    page_count,
    question_problem,
    restarting_notice,
    server_limit_notice,
    sources_reply,
)
from bot.discord_app.service import StoryService
from index import (
    DEFAULT_TOP,
    MAX_DATE_CHARS,
    MAX_QUESTION_CHARS,
    DateError,
    DateWindow,
    QuestionError,
    validate_question,
    view_scopes,
)

if TYPE_CHECKING:
    from bot.discord_app.client import StoryBot

log = logging.getLogger("storybot")

MAX_RESULTS = 5
SINCE_HELP = "Only articles dated on or after this day: 2024-05-27, yesterday, last week, 3 days ago"
UNTIL_HELP = "Only articles dated on or before this day: 2024-05-27, yesterday, last week"
SEEN_MESSAGES = 4096
"""Message ids remembered, so that a message delivered twice is answered once."""


def admit(
    admission: Admission, user_id: int, guild_id: int | None, question: str, *, sparing: bool = False
) -> tuple[str, Ticket]:
    """The question, validated, and its place in the work queue if the user may ask now; else a `Refusal`.

    `sparing` (DMs and mentions, refused in a channel message): only the first refusal of a user in a window
    is told, the others are quiet, so a flood gets one notice instead of one reply per message.
    """
    try:
        # Validated here, before admission, so that an invalid DM costs its asker no place in the limits;
        # `StoryIndex.ask` checks again for every other caller.
        return validate_question(question), admission.admit(user_id, guild_id)
    except QuestionError as error:
        text = question_problem(str(error))
    except Refused as refused:
        text = refusal_notice(refused)
    raise Refusal(text, quiet=sparing and not admission.notice_due(user_id))


async def dated_window(
    story: StoryService, since: str | None, until: str | None, guild_id: int | None
) -> DateWindow | None:
    """The range of days a member typed, read in the server's time zone (the operator's in a DM); a
    `Refusal` saying why if it is none."""
    if since is None and until is None:
        return None  # most questions: no thread for dateparser
    try:
        return await story.window(since, until, guild_id)
    except DateError as error:
        raise Refusal(date_problem(str(error))) from None


def refusal_notice(refused: Refused) -> str:
    """What a refused asker is told."""
    if refused.reason == "user":
        return cooldown_notice(refused.wait)
    if refused.reason == "server":
        return server_limit_notice(refused.wait)
    return busy_notice()


def question_in(message: discord.Message, me: discord.abc.Snowflake | None) -> str | None:
    """The question a message asks the bot: any DM, or a server message mentioning it; None otherwise."""
    if me is None or message.author.bot:
        return None
    if message.guild is None:
        return message.content
    if not any(user.id == me.id for user in message.mentions):
        return None
    return re.sub(rf"<@!?{me.id}>", " ", message.content)


def command_list(tree: app_commands.CommandTree[Any]) -> list[tuple[str, str]]:
    """(name, description) of every slash command and subcommand, for /help."""
    listed: list[tuple[str, str]] = []
    for command in tree.get_commands(type=discord.AppCommandType.chat_input):
        if isinstance(command, app_commands.Group):
            listed += [(f"{command.name} {sub.name}", sub.description) for sub in command.commands]
        else:
            listed.append((command.name, command.description))
    return listed


class QuestionCommands(commands.Cog):
    """What members use: asking, listing the sources, help."""

    def __init__(self, bot: StoryBot) -> None:
        self.bot = bot
        self._seen: OrderedDict[int, None] = OrderedDict()

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="Your question about the story, e.g. why did Musk leave OpenAI?",
        results=f"How many passages to show, 1 to {MAX_RESULTS} (default {DEFAULT_TOP})",
        private="Show the answer only to you (default: no, everyone in the channel sees it)",
        since=SINCE_HELP,
        until=UNTIL_HELP,
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        results: app_commands.Range[int, 1, MAX_RESULTS] = DEFAULT_TOP,
        private: bool = False,
        since: app_commands.Range[str, 1, MAX_DATE_CHARS] | None = None,
        until: app_commands.Range[str, 1, MAX_DATE_CHARS] | None = None,
    ) -> None:
        """Ask about the story: I answer with the passages that say so, and their sources."""
        scopes = view_scopes(interaction.guild_id)
        window = await dated_window(self.bot.story, since, until, interaction.guild_id)
        text, ticket = admit(self.bot.admission, interaction.user.id, interaction.guild_id, question)
        async with ticket:
            await interaction.response.defer(ephemeral=private, thinking=True)
            interaction.extras[PUBLIC_DEFERRAL] = not private
            answer = await ticket.run(lambda: self.bot.story.ask(text, results, scopes, window))
        view = answer_view(
            answer,
            asker_id=interaction.user.id,
            offset=0,
            top=results,
            answered=answer.answered,
            window=window,
        )
        reply = answer_reply(answer, window=window)
        await interaction.edit_original_response(**reply.edit_kwargs(), view=view)
        interaction.extras.pop(PUBLIC_DEFERRAL, None)
        _log_answer("/ask", interaction.id, interaction.guild, answer.answered)

    @app_commands.command(name="sources")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def sources(self, interaction: discord.Interaction) -> None:
        """List the indexed articles: title, outlet, date and paragraphs."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        records = await self.bot.story.sources(view_scopes(interaction.guild_id))
        view = sources_view(0, page_count(len(records)))
        reply = sources_reply(records, 0).send_kwargs()
        if view is None:
            await interaction.followup.send(**reply, ephemeral=True)
        else:
            await interaction.followup.send(**reply, view=view, ephemeral=True)

    @app_commands.command(name="help")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def help(self, interaction: discord.Interaction) -> None:
        """What I do, my commands, and example questions."""
        reply = help_reply(command_list(self.bot.tree))
        await interaction.response.send_message(**reply.send_kwargs(), ephemeral=True)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A DM, or a server message that mentions the bot, is a question answered as a reply."""
        question = question_in(message, self.bot.user)
        if question is None or not self._first_delivery(message.id):
            return
        self.bot.lifecycle.track(lambda: _tell_restarting(message))
        try:
            await self._answer_message(message, question)
        except Exception as error:  # the one error path: every failure gets an answer
            await handle_message_error(message, error)

    async def _answer_message(self, message: discord.Message, question: str) -> None:
        admission = self.bot.admission
        if self.bot.lifecycle.closing:
            raise Refusal(restarting_notice(), quiet=not admission.notice_due(message.author.id))
        guild_id = message.guild.id if message.guild else None
        text, ticket = admit(admission, message.author.id, guild_id, question, sparing=True)
        async with ticket, message.channel.typing():
            answer = await ticket.run(lambda: self.bot.story.ask(text, DEFAULT_TOP, view_scopes(guild_id)))
        view = answer_view(
            answer, asker_id=message.author.id, offset=0, top=DEFAULT_TOP, answered=answer.answered
        )
        await message.reply(**answer_reply(answer).send_kwargs(), view=view, mention_author=False)
        _log_answer("message", message.id, message.guild, answer.answered)

    def _first_delivery(self, message_id: int) -> bool:
        """Whether this message is new (remembering the last `SEEN_MESSAGES` ids)."""
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        if len(self._seen) > SEEN_MESSAGES:
            self._seen.popitem(last=False)
        return True


def _log_answer(kind: str, item_id: int, guild: discord.Guild | None, answered: bool) -> None:
    """One line per question answered, naming the shard that took it (never the question's text): with
    several shard processes, the operator sees which one answers where."""
    where = f"server {guild.id}" if guild is not None else "a DM"
    shard = guild.shard_id if guild is not None else 0  # Discord sends DMs to shard 0
    verdict = "answered" if answered else "not found"
    log.info("%s %s in %s on shard %s: %s", kind, item_id, where, shard, verdict)


async def _tell_restarting(message: discord.Message) -> None:
    await message.reply(restarting_notice(), mention_author=False)
