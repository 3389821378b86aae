"""Short notices from the bot itself: refusals (limits, a bad question), restarting, and the apology."""

from __future__ import annotations

from bot.discord_app.replies.escaping import (
    clip,
    escape,
)
from bot.discord_app.replies.limits import (
    CONTENT_LIMIT,
)


def notice(text: str) -> str:
    """A short message from the bot itself (already safe), clipped to the content limit."""
    return clip(text, CONTENT_LIMIT)


def question_problem(problem: str) -> str:
    """Why a question cannot be asked (empty, too long), from the core's message."""
    return notice(f"I can't search for that: {escape(problem)}.")


def date_problem(problem: str) -> str:
    """Why a date a member typed cannot be used, from the core's message."""
    return notice(f"I can't read that date: {escape(problem)}.")


READ_ONLY_HERE = "This bot's database is read-only here: I can answer questions, but I can't change anything."


def read_only_notice() -> str:
    """What an admin is told when a command would write a database the bot can only read."""
    return notice(READ_ONLY_HERE)


def vote_thanks(vote: int, *, recorded: bool) -> str:
    """The private reply to a 👍 or 👎: thanks, and whether it could be stored."""
    mark = "👍" if vote > 0 else "👎"
    if recorded:
        return notice(f"Thanks! Your {mark} was recorded.")
    return notice(f"Thanks, but your {mark} could not be recorded: this bot's database is read-only here.")


def cooldown_notice(retry_after: float) -> str:
    """The friendly message of the per-user question limit."""
    seconds = max(1, round(retry_after))
    return notice(
        f"You're asking faster than I can keep up! Please wait {seconds} s before the next question."
    )


def server_limit_notice(retry_after: float) -> str:
    """The message of the per-server question limit."""
    seconds = max(1, round(retry_after))
    return notice(
        f"This server is asking me more questions than I can answer right now. "
        f"Please try again in {seconds} s."
    )


def busy_notice() -> str:
    """The message when the work queue is full (or the asker already has questions waiting)."""
    return notice("I'm answering a lot of questions right now. Please ask again in a few seconds.")


def restarting_notice() -> str:
    """What a user is told when the bot stops before (or while) answering them."""
    return notice("I'm restarting right now, so I can't answer this. Please ask again in a minute.")


def apology(error_id: str) -> str:
    """The reply to an unexpected failure; the log has the traceback under the same id."""
    return notice(
        f"Sorry, something went wrong on my side. The error id is `{error_id}`: "
        "an admin can find the details in the bot's log. Please try again."
    )
