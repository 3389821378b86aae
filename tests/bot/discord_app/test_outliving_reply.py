"""`OutlivingReply` without Discord: a long job's texts leave the command's reply before its token expires."""

from __future__ import annotations

import asyncio

import pytest

from bot.discord_app.progress import REPLY_SECONDS, Edit, OutlivingReply


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Screens:
    """What the reply and the posted message show, in order; `post` fails when `refuse` is set."""

    def __init__(self, refuse: bool = False) -> None:
        self.reply: list[str] = []
        self.message: list[str] = []
        self.refuse = refuse

    async def edit_reply(self, text: str) -> None:
        self.reply.append(text)

    async def post(self, text: str) -> tuple[Edit, str]:
        if self.refuse:
            raise PermissionError("DMs closed and no channel")
        self.message.append(text)

        async def edit(later: str) -> None:
            self.message.append(later)

        return edit, "a direct message to you"


async def _never(_: float) -> None:
    await asyncio.Event().wait()  # the timer never fires: only `show` moves


def _reply(screens: Screens, clock: Clock, sleep=_never) -> OutlivingReply:  # type: ignore[no-untyped-def]
    return OutlivingReply(
        screens.edit_reply,
        screens.post,
        first="Reindexing…",
        moved=lambda where: f"moved to {where}",
        clock=clock,
        sleep=sleep,
    )


def test_the_reply_is_edited_for_fourteen_minutes() -> None:
    assert REPLY_SECONDS == 14 * 60


async def test_texts_go_to_the_reply_while_it_lasts_then_to_a_message_of_their_own() -> None:
    screens, clock = Screens(), Clock()
    async with _reply(screens, clock) as reply:
        await reply.show("1 of 3 sources read.")
        clock.now += REPLY_SECONDS - 1
        await reply.show("2 of 3 sources read.")
        clock.now += 1
        await reply.show("3 of 3 sources read.")
        await reply.show("Reindex done: 3 sources.")
    moved = "moved to a direct message to you"
    assert screens.reply == ["1 of 3 sources read.", "2 of 3 sources read.", moved]
    assert screens.message == ["3 of 3 sources read.", "Reindex done: 3 sources."]
    assert reply.moved


async def test_the_timer_moves_a_job_that_shows_nothing_for_a_while() -> None:
    screens, clock = Screens(), Clock()
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.now += seconds

    async with _reply(screens, clock, sleep) as reply:
        while not reply.moved:  # the timer's task runs as soon as the loop is free
            await asyncio.sleep(0)
        await reply.show("Reindex done: 3 sources.")
    assert waited == [REPLY_SECONDS]
    assert screens.reply == ["moved to a direct message to you"]
    assert screens.message == ["Reindexing…", "Reindex done: 3 sources."]


async def test_with_nowhere_to_move_to_the_reply_keeps_being_edited(caplog: pytest.LogCaptureFixture) -> None:
    screens, clock = Screens(refuse=True), Clock()
    async with _reply(screens, clock) as reply:
        clock.now += REPLY_SECONDS
        await reply.show("2 of 3 sources read.")
        await reply.show("Reindex done: 3 sources.")
    assert screens.reply == ["2 of 3 sources read.", "Reindex done: 3 sources."]
    assert screens.message == []
    assert not reply.moved
    assert "could not move a long reply" in caplog.text
