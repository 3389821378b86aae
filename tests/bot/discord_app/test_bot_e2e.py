"""End to end: the real discord.py client of `storybot run` against the fake Discord on 127.0.0.1.

The bot is built as `storybot run` builds it (`runner.open_bot`, through `harness.running_bot`: settings from
an environment mapping, endpoints from DISCORD_API_BASE/DISCORD_GATEWAY_URL, a StoryIndex on a tmp_path
database that loads the built-in story), and the tests act as Discord users and assert what they see. Every
test ends with `assert_clean`: no payload a real Discord would reject (the fake checks every limit), no
unknown endpoint, `allowed_mentions` none everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import statistics
from contextlib import closing
from typing import Any

import pytest

from bot.discord_app.buttons import NOT_YOURS
from bot.discord_app.replies import EXAMPLE_QUESTIONS
from bot.discord_app.replies.escaping import ZERO_WIDTH_SPACE
from index import Article
from tests.bot.discord_app.harness import (
    TITLE,
    WHY_LEAVE,
    Scene,
    ask,
    assert_clean,
    button,
    embed_as_text,
)
from tests.fakediscord import FakeDiscord
from tests.fakediscord.state import FLAG_EPHEMERAL

# -- asking -----------------------------------------------------------------------------------------------


async def test_ask_in_a_server_answers_with_cited_passages(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(scene.alice, "ask", {"question": WHY_LEAVE}, channel=scene.general)
    answer = await record.wait_for_message(lambda m: not m.loading)

    assert record.response_type == 5  # deferred at once
    assert not answer.ephemeral and answer.content == ""
    embed = answer.embed
    assert embed is not None
    assert embed["title"] == WHY_LEAVE
    assert embed["description"].startswith(
        "**That failed power struggle left Musk reeling and eventually leaving OpenAI.**"
    )
    # The built-in story gives no publication date: it is dated by the day it was added, marked as such.
    added = scene.index.source("musk-twitter-ai-gpus")
    assert added is not None
    assert embed["description"].endswith(f"\n— {TITLE} · added {added.added_at[:10]} · paragraph 10 of 15")
    assert [field["name"] for field in embed["fields"]] == ["Passage 2", "Passage 3"]
    assert embed["footer"]["text"] == "13 passages matched"
    user_id = scene.alice.id
    assert answer.custom_ids == [
        f"storybot:more:{user_id}:3:3:a",
        "storybot:context:10",
        "storybot:vote:up:10.11.12",
        "storybot:vote:down:10.11.12",
        f"storybot:delete:{user_id}",
        "storybot:why:10",
    ]
    print("\n" + embed_as_text(answer))
    assert_clean(scene.fake)


async def test_private_ask_with_more_results_is_ephemeral(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, WHY_LEAVE, results=5, private=True)

    assert answer.ephemeral
    assert answer.embed is not None and len(answer.embed["fields"]) == 4
    assert scene.fake.history(scene.general, viewer=scene.bob) == []
    assert_clean(scene.fake)


async def test_ask_in_a_dm(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(scene.alice, "ask", {"question": "How many GPUs did Musk buy?"})
    answer = await record.wait_for_message(lambda m: not m.loading)

    assert answer.guild_id is None and answer.channel_id == scene.fake.dm_channel(scene.alice).id
    assert answer.embed is not None and "10,000 GPUs" in answer.embed["description"]
    assert_clean(scene.fake)


async def test_a_dm_is_a_question_answered_as_a_reply(scene: Scene) -> None:
    dm = scene.fake.dm_channel(scene.alice)
    sent = await scene.fake.send_message(scene.alice, dm, "how many GPUs did musk buy?")
    reply = await scene.fake.wait_for_message(
        lambda m: m.author_id == scene.fake.bot_user.id and m.embed is not None
    )

    assert reply.channel_id == dm.id
    assert reply.message_reference is not None and reply.message_reference["message_id"] == str(sent.id)
    assert reply.embed is not None and reply.embed["title"] == "how many GPUs did musk buy?"
    assert "storybot:context:" in " ".join(reply.custom_ids)
    assert_clean(scene.fake)


async def test_a_mention_is_a_question_and_other_messages_are_ignored(scene: Scene) -> None:
    fake = scene.fake
    await fake.send_message(scene.bob, scene.general, "why did Musk leave OpenAI? nobody asked the bot")
    sent = await fake.send_message(
        scene.alice, scene.general, "why did Musk leave OpenAI?", mentions=[fake.bot_user]
    )
    reply = await fake.wait_for_message(lambda m: m.author_id == fake.bot_user.id and m.embed is not None)

    assert reply.message_reference is not None and reply.message_reference["message_id"] == str(sent.id)
    assert reply.embed is not None and reply.embed["title"] == "why did Musk leave OpenAI?"
    assert reply.mention_ids == ()  # the reply does not ping the asker
    bot_messages = [m for m in fake.history(scene.general) if m.author_id == fake.bot_user.id]
    assert [m.id for m in bot_messages] == [reply.id]
    assert_clean(fake)


async def test_an_empty_mention_gets_a_hint(scene: Scene) -> None:
    await scene.fake.send_message(scene.alice, scene.general, "", mentions=[scene.fake.bot_user])
    reply = await scene.fake.wait_for_message(lambda m: m.author_id == scene.fake.bot_user.id)

    assert reply.content.startswith("I can't search for that: the question is empty")
    assert_clean(scene.fake)


async def test_not_answered_says_so_with_the_closest_passages(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, "What did Musk say about bananas?")

    assert answer.content.startswith("I couldn't find that in the indexed articles.")
    assert answer.embed is not None
    names = [field["name"] for field in answer.embed["fields"]]
    assert names == [f"Closest passage {n} (not an answer)" for n in (1, 2, 3)] + ["Try asking"]
    assert EXAMPLE_QUESTIONS[0] in answer.embed["fields"][-1]["value"]
    assert_clean(scene.fake)


async def test_passages_cannot_ping_or_restyle(scene: Scene) -> None:
    hostile = Article(
        "hostile",
        "Ping **storm**",
        ("@everyone the <@123> zebras \u202eesrever \u200bstampede over *the* `bridge`.",),
        origin="test:hostile",
    )
    scene.index.add_articles([hostile])

    answer = await ask(scene, scene.alice, "zebras stampede")

    assert answer.embed is not None
    description = answer.embed["description"]
    assert f"@{ZERO_WIDTH_SPACE}everyone" in description and "\\<@123\\>" in description
    assert "\\*the\\*" in description and "\\`bridge\\`" in description and "\u202e" not in description
    assert not answer.mention_everyone and answer.mention_ids == ()
    assert_clean(scene.fake)


# -- buttons ----------------------------------------------------------------------------------------------


async def test_more_pages_the_answer_for_the_asker_only(scene: Scene) -> None:
    fake = scene.fake
    answer = await ask(scene, scene.alice, WHY_LEAVE)
    more = button(answer, "storybot:more:")

    refused = await fake.click_button(scene.bob, answer, more)
    notice = await refused.wait_for_message()
    assert notice.ephemeral and notice.content == NOT_YOURS

    click = await fake.click_button(scene.alice, answer, more)
    await click.wait_for_response()
    paged = await fake.wait_for_message(lambda m: m.id == answer.id and "showing 4–6" in m.text)

    assert paged.embed is not None
    assert paged.embed["title"] == WHY_LEAVE
    assert [field["name"] for field in paged.embed["fields"]] == ["Passage 5", "Passage 6"]
    assert paged.embed["footer"]["text"] == "13 passages matched · showing 4–6"
    assert button(paged, "storybot:more:") == f"storybot:more:{scene.alice.id}:6:3:a"
    assert_clean(fake)


async def test_more_is_disabled_when_every_passage_is_shown(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, "When will Tesla release a new car?")

    assert answer.embed is not None and answer.embed["footer"]["text"] == "1 passage matched"
    more = next(b for b in answer.buttons if b["custom_id"].startswith("storybot:more:"))
    assert more["disabled"] is True
    assert_clean(scene.fake)


async def test_more_recovers_a_question_too_long_for_the_title(scene: Scene) -> None:
    question = "Why did Musk leave OpenAI, " + "and what happened to the money he promised? " * 20
    answer = await ask(scene, scene.alice, question.strip())
    assert answer.embed is not None and answer.embed["description"].startswith(
        "**Q:** Why did Musk leave OpenAI"
    )

    click = await scene.fake.click_button(scene.alice, answer, button(answer, "storybot:more:"))
    await click.wait_for_response()
    paged = await scene.fake.wait_for_message(lambda m: m.id == answer.id and "showing 4–6" in m.text)

    assert paged.embed is not None and paged.embed["description"].startswith(
        "**Q:** Why did Musk leave OpenAI"
    )
    assert_clean(scene.fake)


async def test_context_shows_the_neighbouring_paragraphs_privately_to_anyone(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, WHY_LEAVE)

    click = await scene.fake.click_button(scene.bob, answer, "storybot:context:10")
    shown = await click.wait_for_message(lambda m: m.embed is not None)

    assert shown.ephemeral
    assert shown.embed is not None
    assert shown.embed["title"] == f"Context from {TITLE}"
    names = [field["name"] for field in shown.embed["fields"]]
    assert names == ["Paragraph 9", "Paragraph 10 (the passage)", "Paragraph 11"]
    assert_clean(scene.fake)


async def test_feedback_is_stored_with_a_hash_of_the_user_id(scene: Scene) -> None:
    answer = await ask(scene, scene.alice, WHY_LEAVE)

    up = await scene.fake.click_button(scene.alice, answer, "storybot:vote:up:10.11.12")
    thanks = await up.wait_for_message(lambda m: not m.loading)
    down = await scene.fake.click_button(scene.bob, answer, "storybot:vote:down:10.11.12")
    await down.wait_for_message(lambda m: not m.loading)

    assert thanks.ephemeral and thanks.content == "Thanks! Your 👍 was recorded."
    with closing(sqlite3.connect(scene.db_path)) as conn:
        rows = conn.execute(
            "SELECT question, paragraph_ids, vote, user_hash, created_at FROM feedback ORDER BY id"
        ).fetchall()
    assert [row[:3] for row in rows] == [(WHY_LEAVE, "10,11,12", 1), (WHY_LEAVE, "10,11,12", -1)]
    hashes = [row[3] for row in rows]
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in hashes) and hashes[0] != hashes[1]
    assert str(scene.alice.id) not in hashes[0] and all(row[4] for row in rows)
    assert hashes[0] == scene.bot.story.user_hash(scene.alice.id)  # stable per user
    assert_clean(scene.fake)


async def test_only_the_asker_can_delete_the_answer(scene: Scene) -> None:
    fake = scene.fake
    answer = await ask(scene, scene.alice, WHY_LEAVE)
    delete = f"storybot:delete:{scene.alice.id}"

    refused = await fake.click_button(scene.bob, answer, delete)
    assert (await refused.wait_for_message()).content == NOT_YOURS
    click = await fake.click_button(scene.alice, answer, delete)
    await fake.wait_until(lambda: fake.message(answer).deleted, what="the answer to be deleted")

    assert (await click.wait_for_response()).type == 6
    assert answer.id not in [m.id for m in fake.history(scene.general)]
    assert_clean(fake)


async def test_buttons_on_a_dm_answer_work(scene: Scene) -> None:
    fake = scene.fake
    dm = fake.dm_channel(scene.alice)
    await fake.send_message(scene.alice, dm, WHY_LEAVE)
    reply = await fake.wait_for_message(lambda m: m.author_id == fake.bot_user.id and m.embed is not None)

    click = await fake.click_button(scene.alice, reply, button(reply, "storybot:more:"))
    await click.wait_for_response()
    paged = await fake.wait_for_message(lambda m: m.id == reply.id and "showing 4–6" in m.text)

    assert paged.guild_id is None
    assert_clean(fake)


# -- other commands -------------------------------------------------------------------------------------


async def test_sources_lists_the_articles_in_pages(scene: Scene) -> None:
    articles = [
        Article(f"extra{n}", f"Extra article {n:02}", ("Rockets.",), origin=f"test:{n}") for n in range(11)
    ]
    scene.index.add_articles(articles)
    scene.index.add_articles(
        [Article("club", "Club only", ("Local news.",), origin="test:club")], scope=f"guild:{scene.guild.id}"
    )

    record = await scene.fake.invoke_slash(scene.alice, "sources", channel=scene.general)
    first = await record.wait_for_message(lambda m: m.embed is not None)

    assert first.ephemeral and first.embed is not None
    lines = first.embed["description"].split("\n")
    assert lines[0] == f"**1.** {TITLE} — 15 paragraphs"
    assert lines[1] == "**2.** Extra article 00 — 1 paragraph"
    assert len(lines) == 10
    assert first.embed["footer"]["text"] == "Page 1 of 2 · 13 articles"

    click = await scene.fake.click_button(scene.alice, first, "storybot:sources:next:1")
    await click.wait_for_response()
    second = await scene.fake.wait_for_message(lambda m: m.id == first.id and "Page 2 of 2" in m.text)
    assert second.embed is not None
    assert second.embed["description"].split("\n")[-1] == "**13.** Club only — 1 paragraph"

    in_dm = await scene.fake.invoke_slash(scene.alice, "sources")
    dm_page = await in_dm.wait_for_message(lambda m: m.embed is not None)
    assert dm_page.embed is not None and dm_page.embed["footer"]["text"] == "Page 1 of 2 · 12 articles"
    assert_clean(scene.fake)


async def test_help_lists_every_command_and_examples(scene: Scene) -> None:
    record = await scene.fake.invoke_slash(scene.bob, "help", channel=scene.general)
    shown = await record.wait_for_message()

    assert shown.ephemeral and shown.embed is not None
    fields = {field["name"]: field["value"] for field in shown.embed["fields"]}
    assert list(fields) == ["Commands", "Admin commands (Manage Server)", "Examples", "Buttons"]
    for name in ("/ask", "/sources", "/timeline", "/help"):
        assert f"`{name}` — " in fields["Commands"]
    admin = fields["Admin commands (Manage Server)"].split("\n")
    assert [line.split(" — ")[0] for line in admin] == [
        f"`/admin {name}`"
        for name in (
            "add",
            "remove",
            "sources",
            "follow",
            "unfollow",
            "reindex",
            "status",
            "timezone",
            "sync",
        )
    ]
    assert not any(line.endswith("…") for line in admin)  # nothing clipped
    assert EXAMPLE_QUESTIONS[1] in fields["Examples"]
    assert_clean(scene.fake)


# -- limits on use ------------------------------------------------------------------------------------------


async def test_cooldown_allows_five_questions_in_30_seconds(scene: Scene) -> None:
    for _ in range(4):
        await ask(scene, scene.alice, "How many GPUs did Musk buy?")
    dm = scene.fake.dm_channel(scene.alice)
    await scene.fake.send_message(scene.alice, dm, "How many GPUs?")  # DMs count too
    await scene.fake.wait_for_message(lambda m: m.channel_id == dm.id and m.embed is not None)

    record = await scene.fake.invoke_slash(
        scene.alice, "ask", {"question": "And why?"}, channel=scene.general
    )
    refused = await record.wait_for_message()

    assert record.response_type == 4 and refused.ephemeral
    assert re.fullmatch(
        r"You're asking faster than I can keep up! Please wait \d+ s before the next question\.",
        refused.content,
    )
    assert (await ask(scene, scene.bob, "And why?")).embed is not None  # others are not slowed down
    assert_clean(scene.fake)


async def test_a_failing_handler_apologises_with_an_error_id_and_the_bot_keeps_answering(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = scene.fake

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(scene.index, "ask", broken)
    with caplog.at_level(logging.ERROR, logger="storybot"):
        private = await fake.invoke_slash(
            scene.alice, "ask", {"question": WHY_LEAVE, "private": True}, channel=scene.general
        )
        apology = await private.wait_for_message(lambda m: not m.loading)
        public = await fake.invoke_slash(scene.bob, "ask", {"question": WHY_LEAVE}, channel=scene.general)
        await fake.wait_until(
            lambda: public.original is not None and public.original.deleted, what="thinking deleted"
        )
        followup = await fake.wait_until(
            lambda: _followup_body(fake, public.token), what="the apology follow-up"
        )
        await fake.send_message(scene.alice, fake.dm_channel(scene.alice), WHY_LEAVE)
        dm_apology = await fake.wait_for_message(lambda m: m.guild_id is None and "error id" in m.content)

    assert apology.ephemeral
    match = re.fullmatch(
        r"Sorry, something went wrong on my side\. The error id is `([0-9a-f]{8})`: .*", apology.content
    )
    assert match is not None
    logged = [r for r in caplog.records if match[1] in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "the disk caught fire" in str(logged[0].exc_info[1])
    # After a public deferral the "thinking" message is removed and the apology sent as a private follow-up.
    assert followup["flags"] & FLAG_EPHEMERAL and "error id" in followup["content"]
    assert dm_apology.content.startswith("Sorry, something went wrong on my side.")

    monkeypatch.undo()
    assert (await ask(scene, scene.mod, WHY_LEAVE)).embed is not None
    assert_clean(fake)


def _followup_body(fake: FakeDiscord, token: str) -> dict[str, Any] | None:
    for request in fake.requests:
        if request.method == "POST" and request.path.endswith(f"/{token}") and isinstance(request.json, dict):
            return request.json
    return None


async def test_a_failing_button_apologises(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = await ask(scene, scene.alice, WHY_LEAVE)

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(scene.index, "context", broken)
    click = await scene.fake.click_button(scene.alice, answer, "storybot:context:10")
    apology = await click.wait_for_message(lambda m: not m.loading)

    assert apology.ephemeral and apology.content.startswith("Sorry, something went wrong on my side.")
    assert_clean(scene.fake)


async def test_ask_latency_through_the_local_server(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    users = [scene.fake.add_user(f"reader{n}") for n in range(6)]
    for user in users:
        scene.fake.add_member(scene.guild, user)
    questions = [WHY_LEAVE, "How many GPUs did Musk buy?", "What will the generative AI be used for?"]
    loop = asyncio.get_running_loop()

    seconds = []
    for n in range(30):
        started = loop.time()
        answer = await ask(scene, users[n % len(users)], questions[n % len(questions)])
        seconds.append(loop.time() - started)
        assert answer.embed is not None

    p50 = statistics.median(seconds)
    p95 = statistics.quantiles(seconds, n=20)[-1]
    with capsys.disabled():
        print(f"\n/ask through the local server, 30 asks: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    assert p95 < 1.0
    assert_clean(scene.fake)
