"""The one error path: expected refusals become a polite private reply, anything else an apology with an id.

The id appears in the user's apology and beside the traceback in the log, so an admin can find what happened.
The handlers raise; `handle_interaction_error` (slash commands and buttons) and `handle_message_error`
(DMs and mentions) decide what the user sees. The bot keeps running whatever a handler raised.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.discord_app.lifecycle import Lifecycle
from bot.discord_app.replies import apology, notice, question_problem, read_only_notice, restarting_notice
from bot.discord_app.replies.escaping import escape
from index import QuestionError, ReadOnlyDatabase, StorybotError

log = logging.getLogger("storybot")

PUBLIC_DEFERRAL = "storybot_public_deferral"
"""`Interaction.extras` key set when the bot deferred publicly (its next follow-up would be public)."""


class Refusal(app_commands.CheckFailure):
    """An expected refusal (no permission, on cooldown, not the asker), shown to the user as is.

    A `quiet` refusal of a channel message is not answered at all: its user was told already (a flood gets
    one notice, not one reply per message).
    """

    def __init__(self, message: str, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.quiet = quiet


def new_error_id() -> str:
    """A short id that ties a user's apology to a traceback in the log."""
    return secrets.token_hex(4)


def user_message(error: Exception) -> str | None:
    """What to tell the user about an expected error, or None for an unexpected one."""
    if isinstance(error, Refusal):
        return error.message
    if isinstance(error, QuestionError):
        return question_problem(str(error))
    if isinstance(error, ReadOnlyDatabase):  # the core's words name the file's path, which users need not see
        return read_only_notice()
    if isinstance(error, StorybotError):
        return notice(escape(str(error)))
    if isinstance(error, app_commands.CheckFailure) and not isinstance(
        error, app_commands.BotMissingPermissions
    ):
        return notice("You can't use this command here.")
    return None


async def handle_interaction_error(interaction: discord.Interaction, error: Exception) -> None:
    """Answer a failed slash command or button privately; log unexpected errors with an id."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    text = _text_for(error, "in interaction %s from user %s", interaction.id, interaction.user.id)
    try:
        await reply_privately(interaction, text)
    except discord.HTTPException:
        log.exception("could not tell user %s about a failed interaction", interaction.user.id)


async def reply_privately(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral reply at any stage of an interaction.

    After a public deferral the next follow-up would replace the public "thinking" message, so that message
    is deleted first and the reply sent as a new, ephemeral follow-up.
    """
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
        return
    if interaction.extras.pop(PUBLIC_DEFERRAL, False):
        with contextlib.suppress(discord.NotFound):
            await interaction.delete_original_response()
    await interaction.followup.send(text, ephemeral=True)


def track_interaction(interaction: discord.Interaction) -> None:
    """Register the interaction's task with the bot's `Lifecycle`; a `Refusal` if the bot is stopping."""
    lifecycle: Lifecycle | None = getattr(interaction.client, "lifecycle", None)
    if lifecycle is None:
        return
    lifecycle.track(lambda: reply_privately(interaction, restarting_notice()))
    if lifecycle.closing:
        raise Refusal(restarting_notice())


async def guarded(
    interaction: discord.Interaction, action: Callable[[discord.Interaction], Awaitable[None]]
) -> None:
    """Run a button's action through the error path (discord.py would only log its exceptions)."""
    try:
        track_interaction(interaction)
        await action(interaction)
    except Exception as error:  # the one error path: every failure gets an answer
        await handle_interaction_error(interaction, error)


async def handle_message_error(message: discord.Message, error: Exception) -> None:
    """Answer a failed DM or mention in the channel (there is nothing private there); log with an id."""
    if isinstance(error, Refusal) and error.quiet:
        log.debug("message %s from user %s refused quietly: %s", message.id, message.author.id, error.message)
        return
    text = _text_for(error, "answering message %s from user %s", message.id, message.author.id)
    try:
        await message.reply(text, mention_author=False)
    except discord.HTTPException:
        log.exception("could not tell user %s about a failed message", message.author.id)


def _text_for(error: Exception, context: str, *args: object) -> str:
    """What the user is told: the error's own message, or an apology naming a new id the log records."""
    text = user_message(error)
    if text is None:
        error_id = new_error_id()
        log.error("error %s " + context, error_id, *args, exc_info=error)
        text = apology(error_id)
    return text
