"""Faults on the wire, injected by the fake Discord into the real discord.py client of the bot: the gateway
dropped (resumable or not, close frame or TCP reset), op 7 RECONNECT, 429s with Retry-After (route and global)
and 500s on the reply routes. The bot reconnects, honours the limits, retries what is safe, answers again,
and answers every question exactly once, also when an event is delivered twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.bot.discord_app.harness import WHY_LEAVE, Scene, build_world, environ_for, running_bot
from tests.bot.discord_app.payload_checks import assert_pings_no_one
from tests.fakediscord import FakeChannel, FakeDiscord, FakeMessage, MessageState
from tests.fakediscord.state import InteractionRecord

GPUS = "How many GPUs did Musk buy?"
AI = "What will Twitter's generative AI be used for?"


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with FakeDiscord() as fake:
        guild, alice, bob, mod = build_world(fake)
        environ = environ_for(fake, tmp_path / "storybot.db")
        # Discord allows one IDENTIFY per 5 s; the fake has no such limit: the bot may identify again at once.
        async with running_bot(fake, environ, identify_delay=0.05) as bot:
            yield Scene(fake, bot, bot.story.index, guild, guild.text_channels[0], alice, bob, mod, tmp_path)


def replies_to(fake: FakeDiscord, channel: FakeChannel, message: FakeMessage) -> list[MessageState]:
    """The bot's replies to `message`."""
    return [
        state
        for state in fake.history(channel)
        if state.author_id == fake.bot_user.id
        and state.message_reference is not None
        and state.message_reference["message_id"] == str(message.id)
    ]


async def one_answer(fake: FakeDiscord, channel: FakeChannel, message: FakeMessage) -> MessageState:
    """Wait for the bot's answer to `message`, give any duplicate time to show up, and check there is none."""
    await fake.wait_until(
        lambda: replies_to(fake, channel, message), timeout=8, what=f"a reply to {message.id}"
    )
    await asyncio.sleep(0.2)
    replies = replies_to(fake, channel, message)
    assert len(replies) == 1, replies
    assert replies[0].embed is not None
    return replies[0]


async def one_slash_answer(fake: FakeDiscord, record: InteractionRecord) -> MessageState:
    """Wait for the answer to an /ask, and check that it is the interaction's only message."""
    answer = await record.wait_for_message(lambda m: not m.loading and m.embed is not None, timeout=8)
    await asyncio.sleep(0.2)
    assert record.followups == [] and len(record.callbacks) == 1
    return answer


# -- the gateway -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["close-4000", "tcp-reset", "op7-reconnect"])
async def test_a_lost_connection_resumes_and_every_question_is_answered_once(scene: Scene, how: str) -> None:
    fake = scene.fake
    dm = fake.dm_channel(scene.alice)
    before = await fake.send_message(scene.alice, dm, WHY_LEAVE)  # in flight as the connection goes
    if how == "op7-reconnect":
        await fake.request_reconnect()
    else:
        await fake.drop_gateway(abrupt=how == "tcp-reset")
    # Dispatched while the bot is (about to be) away: replayed on RESUME.
    during = await fake.send_message(scene.bob, scene.general, GPUS, mentions=[fake.bot_user])
    asked = await fake.invoke_slash(scene.mod, "ask", {"question": AI}, channel=scene.general)
    resumed = await fake.wait_until(lambda: next((e for e in fake.gateway_log if e.kind == "resume"), None))

    await one_answer(fake, dm, before)
    await one_answer(fake, scene.general, during)
    await one_slash_answer(fake, asked)
    after = await fake.send_message(scene.alice, dm, GPUS)
    await one_answer(fake, dm, after)

    assert resumed.path == "/resume"
    assert resumed.detail["replayed"] >= 2  # the mention and the /ask, dispatched while the bot was away
    assert [entry.kind for entry in fake.gateway_log].count("identify") == 1
    assert_pings_no_one(fake, [dm, scene.general])


async def test_an_invalidated_session_identifies_again_and_answers(scene: Scene) -> None:
    fake = scene.fake
    await fake.drop_gateway(resumable=False)
    await fake.wait_until(lambda: [e.kind for e in fake.gateway_log].count("identify") == 2, timeout=5)
    await fake.wait_until_connected()

    dm = fake.dm_channel(scene.alice)
    question = await fake.send_message(scene.alice, dm, WHY_LEAVE)
    await one_answer(fake, dm, question)
    asked = await fake.invoke_slash(scene.bob, "ask", {"question": GPUS}, channel=scene.general)
    await one_slash_answer(fake, asked)

    kinds = [entry.kind for entry in fake.gateway_log]
    assert kinds[:4] == ["identify", "dropped", "closed", "invalid_session"] and kinds[-1] == "identify"
    assert_pings_no_one(fake, [dm, scene.general])


async def test_a_message_delivered_twice_is_answered_once(scene: Scene) -> None:
    fake = scene.fake
    dm = fake.dm_channel(scene.alice)
    question = await fake.send_message(scene.alice, dm, WHY_LEAVE)
    await one_answer(fake, dm, question)

    # Discord delivers events at least once: the same MESSAGE_CREATE again, as after a replay.
    await fake._gateway.publish_message("MESSAGE_CREATE", fake.message(question))
    await asyncio.sleep(0.3)

    assert len(replies_to(fake, dm, question)) == 1
    assert scene.bot.story.index.usage().answered == 1


# -- 429 and 500 on the reply routes -------------------------------------------------------------------------


async def test_a_429_on_the_answer_is_waited_out_and_the_answer_sent_once(scene: Scene) -> None:
    fake = scene.fake
    fake.rate_limit_next("PATCH", "/webhooks/*/messages/@original", retry_after=0.4)
    loop = asyncio.get_running_loop()

    started = loop.time()
    asked = await fake.invoke_slash(scene.alice, "ask", {"question": WHY_LEAVE}, channel=scene.general)
    answer = await one_slash_answer(fake, asked)

    edits = [r for r in fake.requests if r.method == "PATCH" and r.path.endswith("/messages/@original")]
    assert [r.status for r in edits] == [429, 200]
    assert loop.time() - started >= 0.4
    assert answer.embed is not None and answer.embed["title"] == WHY_LEAVE
    assert fake.pending_faults == []
    assert_pings_no_one(fake, [scene.general])


async def test_a_global_429_on_a_reply_holds_every_request_until_it_is_over(scene: Scene) -> None:
    fake = scene.fake
    dm = fake.dm_channel(scene.alice)
    fake.rate_limit_next("POST", f"/channels/{dm.id}/messages", retry_after=0.5, is_global=True)

    question = await fake.send_message(scene.alice, dm, WHY_LEAVE)
    limited = await fake.wait_until(
        lambda: next((r for r in fake.requests if r.status == 429), None), what="the 429"
    )
    limited_at = asyncio.get_running_loop().time()
    other = await fake.send_message(scene.bob, scene.general, GPUS, mentions=[fake.bot_user])
    await one_answer(fake, dm, question)
    await one_answer(fake, scene.general, other)

    later = fake.requests[fake.requests.index(limited) + 1 :]
    replies = [r for r in later if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in replies] == [200, 200]  # both waited for the global limit, then went once
    assert asyncio.get_running_loop().time() - limited_at >= 0.4
    assert_pings_no_one(fake, [dm, scene.general])


async def test_a_429_on_the_deferral_is_retried_within_discords_three_seconds(scene: Scene) -> None:
    fake = scene.fake
    fake.rate_limit_next("POST", "/interactions/*/callback", retry_after=0.3)

    asked = await fake.invoke_slash(scene.alice, "ask", {"question": WHY_LEAVE}, channel=scene.general)
    await one_slash_answer(fake, asked)

    callbacks = [r for r in fake.requests if r.path.endswith("/callback")]
    assert [r.status for r in callbacks] == [429, 200]
    assert_pings_no_one(fake, [scene.general])


async def test_a_500_on_the_answer_is_retried_and_the_answer_sent_once(scene: Scene) -> None:
    fake = scene.fake
    fake.fail_next("PATCH", "/webhooks/*/messages/@original", status=500)

    asked = await fake.invoke_slash(scene.alice, "ask", {"question": WHY_LEAVE}, channel=scene.general)
    answer = await one_slash_answer(fake, asked)

    edits = [r for r in fake.requests if r.method == "PATCH" and r.path.endswith("/messages/@original")]
    # An edit of the deferred response: the same request again cannot post a second answer.
    assert [r.status for r in edits] == [500, 200] and edits[0].json == edits[1].json
    assert answer.embed is not None
    assert [m.id for m in fake.history(scene.general)] == [answer.id]
    assert_pings_no_one(fake, [scene.general])


async def test_a_500_on_a_dm_reply_is_retried_with_the_same_enforced_nonce(scene: Scene) -> None:
    fake = scene.fake
    dm = fake.dm_channel(scene.alice)
    fake.fail_next("POST", f"/channels/{dm.id}/messages", status=500)

    question = await fake.send_message(scene.alice, dm, WHY_LEAVE)
    await one_answer(fake, dm, question)

    sends = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{dm.id}/messages"]
    assert [r.status for r in sends] == [500, 200]
    # Discord drops a second message with the same enforced nonce, so the retry is safe even if the 500
    # came after the message was made.
    bodies = [r.json for r in sends]
    assert all(isinstance(body, dict) and body.get("enforce_nonce") is True for body in bodies)
    assert bodies[0]["nonce"] == bodies[1]["nonce"]  # type: ignore[index]
    assert_pings_no_one(fake, [dm])


async def test_a_500_on_the_deferral_is_retried(scene: Scene) -> None:
    fake = scene.fake
    fake.fail_next("POST", "/interactions/*/callback", status=500)

    asked = await fake.invoke_slash(scene.alice, "ask", {"question": GPUS}, channel=scene.general)
    await one_slash_answer(fake, asked)

    callbacks = [r for r in fake.requests if r.path.endswith("/callback")]
    assert [r.status for r in callbacks] == [500, 200]
    assert_pings_no_one(fake, [scene.general])
