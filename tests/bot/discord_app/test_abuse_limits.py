"""Abuse limits: per-user and per-server limits on questions, a bounded work queue, and refusals sent
sparingly; the flood test measures, through the fake Discord, how long another user waits while one user sends
1,000 DMs (STORYBOT_FULL_FLOOD=0 sends 200).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config import Limit, Settings, SettingsError
from bot.discord_app.admission import PER_USER, Admission, Refused, Ticket, WorkQueue
from bot.discord_app.replies import busy_notice
from tests.bot.discord_app.harness import WHY_LEAVE, Scene, build_world, environ_for, running_bot
from tests.bot.discord_app.payload_checks import assert_pings_no_one
from tests.fakediscord import FakeDiscord, FakeUser, MessageState

FLOOD = 1000 if os.environ.get("STORYBOT_FULL_FLOOD", "1") == "1" else 200
SERVER_LIMIT = re.compile(r"This server is asking me more questions than I can answer right now\. .*")
USER_LIMIT = re.compile(
    r"You're asking faster than I can keep up! Please wait \d+ s before the next question\."
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the parts ---------------------------------------------------------------------------------------------


def test_limits_are_read_as_questions_per_seconds() -> None:
    assert Limit.parse("5/30") == Limit(5, 30.0)
    assert Limit.parse(" 60 / 1.5 ") == Limit(60, 1.5)
    assert str(Limit(30, 30.0)) == "30/30"
    for bad in ("5", "0/30", "5/0", "-1/30", "a/b", "5/30/2"):
        with pytest.raises(ValueError, match="must be questions/seconds, such as 5/30"):
            Limit.parse(bad)


def test_settings_have_limit_defaults_and_report_bad_values_by_name() -> None:
    settings = Settings.from_env({"DISCORD_TOKEN": "t"})
    assert (settings.user_limit, settings.server_limit, settings.shutdown_seconds) == (
        Limit(5, 30.0),
        Limit(30, 30.0),
        5.0,
    )
    custom = Settings.from_env(
        {
            "DISCORD_TOKEN": "t",
            "STORYBOT_USER_LIMIT": "3/10",
            "STORYBOT_SERVER_LIMIT": "100/60",
            "STORYBOT_SHUTDOWN_SECONDS": "2.5",
        }
    )
    assert (custom.user_limit, custom.server_limit, custom.shutdown_seconds) == (
        Limit(3, 10.0),
        Limit(100, 60.0),
        2.5,
    )
    with pytest.raises(SettingsError) as bad:
        Settings.from_env(
            {"DISCORD_TOKEN": "t", "STORYBOT_SERVER_LIMIT": "lots", "STORYBOT_SHUTDOWN_SECONDS": "0"}
        )
    assert "STORYBOT_SERVER_LIMIT: must be questions/seconds, such as 5/30, not 'lots'" in str(bad.value)
    assert "STORYBOT_SHUTDOWN_SECONDS: must be a number above 0" in str(bad.value)


async def test_a_server_shares_its_limit_and_a_refused_question_costs_nothing() -> None:
    clock = Clock()
    admission = Admission(user=Limit(2, 30), server=Limit(3, 60), clock=clock)
    server, other = 10, 20

    for user in (1, 2, 3):
        async with admission.admit(user, server):
            pass
    with pytest.raises(Refused) as refused:
        admission.admit(4, server)
    assert refused.value.reason == "server" and refused.value.wait == pytest.approx(60)
    async with admission.admit(4, other):  # another server has its own limit
        pass
    async with admission.admit(4, None):  # a DM has none, only the user's
        pass
    with pytest.raises(Refused) as refused:
        admission.admit(4, None)
    assert refused.value.reason == "user"  # the refusals in `server` did not count against user 4
    clock.now += 60
    async with admission.admit(4, server):
        pass


async def test_the_work_queue_is_bounded_in_all_and_per_user() -> None:
    admission = Admission(
        user=Limit(100, 30), server=Limit(100, 30), queue=WorkQueue(1, 3, per_user=PER_USER)
    )
    held = [admission.admit(1, None), admission.admit(1, None)]
    with pytest.raises(Refused) as refused:
        admission.admit(1, None)  # two of user 1's questions are waiting already
    assert refused.value.reason == "busy"
    held.append(admission.admit(2, None))
    with pytest.raises(Refused):
        admission.admit(3, None)  # three in all
    assert admission.queue.pending == 3

    order: list[int] = []
    gate = asyncio.Event()

    async def search(number: int) -> int:
        order.append(number)
        await gate.wait()
        return number

    async def answer(ticket_number: int) -> int:
        async with held[ticket_number] as ticket:
            return await ticket.run(lambda: search(ticket_number))

    running = [asyncio.create_task(answer(n)) for n in range(3)]
    await asyncio.sleep(0.01)
    assert order == [0]  # one worker: the others wait their turn
    gate.set()
    assert await asyncio.gather(*running) == [0, 1, 2]
    assert admission.queue.pending == 0
    async with admission.admit(3, None):
        pass


def test_a_refused_user_is_told_once_per_window() -> None:
    clock = Clock()
    admission = Admission(user=Limit(5, 30), clock=clock)

    assert admission.notice_due(1) and not admission.notice_due(1)
    assert admission.notice_due(2)
    clock.now += 29
    assert not admission.notice_due(1)
    clock.now += 1
    assert admission.notice_due(1)


# -- through the fake Discord --------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        environ = environ_for(fake, tmp_path / "storybot.db", STORYBOT_SERVER_LIMIT="3/60")
        async with running_bot(fake, environ) as bot:
            yield Scene(fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, tmp_path)


async def ask_in_server(scene: Scene, user: FakeUser) -> MessageState:
    record = await scene.fake.invoke_slash(user, "ask", {"question": WHY_LEAVE}, channel=scene.general)
    return await record.wait_for_message(lambda m: not m.loading)


async def test_the_server_limit_refuses_politely_and_dms_still_work(scene: Scene) -> None:
    fake = scene.fake
    members = [fake.add_user(f"member{n}") for n in range(4)]
    for member in members:
        fake.add_member(scene.guild, member)

    answers = [await ask_in_server(scene, member) for member in members[:3]]
    refused = await ask_in_server(scene, members[3])
    for _ in range(5):  # mentions over the limit: one notice, not five
        await fake.send_message(members[3], scene.general, "why?", mentions=[fake.bot_user])
    notice = await fake.wait_for_message(lambda m: m.message_reference is not None)
    dm = fake.dm_channel(members[3])
    await fake.send_message(members[3], dm, WHY_LEAVE)
    in_dm = await fake.wait_for_message(lambda m: m.channel_id == dm.id and m.embed is not None)
    await asyncio.sleep(0.1)

    assert all(answer.embed is not None for answer in answers)
    assert refused.ephemeral and SERVER_LIMIT.fullmatch(refused.content)
    assert SERVER_LIMIT.fullmatch(notice.content)
    replies = [m for m in fake.history(scene.general) if m.message_reference is not None]
    assert [m.id for m in replies] == [notice.id]
    assert in_dm.embed is not None
    assert_pings_no_one(fake, [scene.general, dm])


async def test_a_flood_of_dms_does_not_delay_another_user(
    scene: Scene, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, bot = scene.fake, scene.bot
    flood_dm, other_dm = fake.dm_channel(scene.alice), fake.dm_channel(scene.bob)
    loop = asyncio.get_running_loop()
    queue = bot.admission.queue
    pending: list[int] = []  # the queue's length after each question it took
    reserve = queue.reserve

    def counted(user_id: int) -> Ticket:
        ticket = reserve(user_id)
        pending.append(queue.pending)
        return ticket

    monkeypatch.setattr(queue, "reserve", counted)

    started = loop.time()
    for number in range(FLOOD):
        await fake.send_message(scene.alice, flood_dm, f"How many GPUs did Musk buy? ({number})")
    sent = loop.time()
    await fake.send_message(scene.bob, other_dm, WHY_LEAVE)
    answer = await fake.wait_for_message(lambda m: m.channel_id == other_dm.id and m.embed is not None)
    latency = loop.time() - sent
    await asyncio.sleep(0.2)  # let anything still queued for the flooder show up
    await bot.story.drain()

    flooder_replies = [m for m in fake.history(flood_dm) if m.author_id == fake.bot_user.id]
    answered = [m for m in flooder_replies if m.embed is not None]
    notices = [m for m in flooder_replies if m.embed is None]
    usage = bot.story.index.usage()
    with capsys.disabled():
        print(
            f"\nflood of {FLOOD} DMs sent in {sent - started:.2f} s: another user's answer came "
            f"{latency * 1000:.0f} ms after their question; the flooder got {len(answered)} answers and "
            f"{len(notices)} notice; at most {max(pending)} questions were queued at once"
        )
    assert latency < 1.0
    assert answer.embed is not None and answer.embed["title"] == WHY_LEAVE
    assert 1 <= len(answered) <= 5 and len(notices) == 1
    assert USER_LIMIT.fullmatch(notices[0].content) or notices[0].content == busy_notice()
    assert usage.answered + usage.unanswered == len(answered) + 1  # no work was done for the refused
    assert len(pending) == len(answered) + 1 and max(pending) <= PER_USER + 1 and queue.pending == 0
    sends = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{flood_dm.id}/messages"]
    assert len(sends) == len(flooder_replies)
    assert_pings_no_one(fake, [flood_dm, other_dm])
