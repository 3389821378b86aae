"""The plain parts of the bot, without Discord: cooldown, progress relay, command hash, message routing."""

from __future__ import annotations

import asyncio
import threading
from unittest.mock import MagicMock

import discord
import pytest

from bot.config import Limit
from bot.discord_app.admission import Admission, Cooldown
from bot.discord_app.errors import Refusal
from bot.discord_app.progress import ProgressRelay
from bot.discord_app.questions import admit, question_in
from bot.discord_app.sync import commands_hash
from index import SHARED_SCOPE
from index.models import view_scopes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_allows_rate_questions_per_window_then_says_how_long_to_wait() -> None:
    clock = Clock()
    cooldown = Cooldown(rate=2, per=30, clock=clock)

    def ask(key: int) -> float:
        """What admission does: a question is counted only when it need not wait."""
        wait = cooldown.wait(key)
        if wait == 0:
            cooldown.take(key)
        return wait

    assert ask(1) == 0
    clock.now += 10
    assert ask(1) == 0
    assert ask(2) == 0  # another user has their own window
    assert ask(1) == pytest.approx(20)
    clock.now += 20
    assert ask(1) == 0


def test_a_refused_question_does_not_use_up_the_cooldown() -> None:
    admission = Admission(user=Limit(1, 30), clock=Clock())

    with pytest.raises(Refusal, match="I can't search for that: the question is empty"):
        admit(admission, 1, None, "   ")
    assert admit(admission, 1, None, "  why?  ")[0] == "why?"
    with pytest.raises(Refusal, match=r"Please wait 30 s before the next question"):
        admit(admission, 1, None, "again?")


def test_over_long_questions_are_refused_with_the_core_message() -> None:
    with pytest.raises(Refusal, match="1,001 characters long; the limit is 1,000"):
        admit(Admission(), 1, None, "x" * 1001)


async def test_progress_relay_shows_first_and_last_and_throttles_between() -> None:
    clock = Clock()
    shown: list[tuple[int, int]] = []

    async def show(done: int, total: int) -> None:
        shown.append((done, total))

    relay = ProgressRelay(show, interval=1.0, clock=clock)
    running = asyncio.create_task(relay.run())

    def reindex() -> None:  # called from a worker thread, like StoryIndex.reindex
        for done in range(1, 5):
            relay(done, 4)

    await asyncio.to_thread(reindex)
    relay.close()
    await running

    assert shown == [(1, 4), (4, 4)]
    assert threading.current_thread() is threading.main_thread()


async def test_progress_relay_shows_updates_an_interval_apart() -> None:
    clock = Clock()
    shown: list[int] = []

    async def show(done: int, total: int) -> None:
        shown.append(done)

    relay = ProgressRelay(show, interval=1.0, clock=clock)
    running = asyncio.create_task(relay.run())
    for done in range(1, 6):
        clock.now += 0.6
        relay(done, 5)
        for _ in range(3):  # let the update reach `run` before the clock moves on
            await asyncio.sleep(0)
    relay.close()
    await running

    assert shown == [1, 3, 5]


def test_command_hash_ignores_order_and_sees_changes() -> None:
    ask = {"name": "ask", "description": "Ask.", "options": [{"name": "question", "type": 3}]}
    help_ = {"name": "help", "description": "Help."}

    assert commands_hash([ask, help_], 1) == commands_hash([help_, dict(reversed(ask.items()))], 1)
    assert commands_hash([ask, help_], 1) != commands_hash([ask, {**help_, "description": "Help!"}], 1)


def test_command_hash_differs_between_applications() -> None:
    commands = [{"name": "ask", "description": "Ask."}]

    assert commands_hash(commands, 1) != commands_hash(commands, 2)
    assert commands_hash(commands, 1) != commands_hash(commands, None)


def test_scopes_are_shared_in_dms_and_shared_plus_server_in_servers() -> None:
    assert view_scopes(None) == (SHARED_SCOPE,)
    assert view_scopes(42) == (SHARED_SCOPE, "guild:42")


def _message(
    *, guild: bool, bot_author: bool = False, mentions: tuple[int, ...] = (), content: str = ""
) -> MagicMock:
    message = MagicMock(spec_set=discord.Message)
    message.author.bot = bot_author
    message.guild = MagicMock(spec_set=discord.Guild) if guild else None
    message.mentions = [MagicMock(spec_set=discord.User, id=user_id) for user_id in mentions]
    message.content = content
    return message


def test_which_messages_are_questions() -> None:
    me = discord.Object(id=99)

    assert question_in(_message(guild=False, content="why?"), me) == "why?"
    assert question_in(_message(guild=False, bot_author=True, content="why?"), me) is None
    assert question_in(_message(guild=True, content="why?"), me) is None
    assert question_in(_message(guild=True, mentions=(5,), content="<@5> why?"), me) is None
    assert question_in(_message(guild=True, mentions=(99,), content="<@99> why <@!99>?"), me) == "  why  ?"
    assert question_in(_message(guild=False, content="why?"), None) is None
