"""Hostile passages: articles full of mentions, markdown, link tricks and invisible characters, asked about
through /ask, a DM and a mention of the real discord.py client against the fake Discord; and 1,000 random
answers through the formatter, each within every Discord limit and pinging no one.

Two layers stop a ping: `allowed_mentions` none on every payload (asserted on the JSON the fake received) and
escaping, so that the text shows literally and a quoted passage carries no live markdown.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.discord_app.buttons import answer_view
from bot.discord_app.replies import answer_reply, context_reply, escaping, question_of
from bot.discord_app.replies.escaping import (
    ZERO_WIDTH_SPACE,
    clip,
    clip_start,
    emphasised,
    escape,
    escape_clipped,
    escape_tail,
    neutralise,
    safe_url,
    unescape,
)
from index import MAX_QUESTION_CHARS, Answer, Article, Citation, Passage, SourceRecord
from index.models import Paragraph
from tests.bot.discord_app.harness import Scene, open_scene
from tests.bot.discord_app.payload_checks import (
    assert_pings_no_one,
    limit_problems,
    live,
    live_markdown,
    live_mentions,
    payload_texts,
)
from tests.fakediscord import MessageState
from tests.fakediscord.limits import FormErrors, check_message

QUESTION = "why do zebras stampede"
HOSTILE = (
    "@everyone the zebras stampede, @here too, said <@123> and <@!123> to <@&456> in <#789>.",
    "[click](https://evil.example) when zebras stampede: [https://bank.example](https://evil.example/x).",
    "Zebras stampede with `code`, ***bold***, ~~struck~~, __under__ and ||spoilers|| </ask:1> <t:0:R>.",
    "> zebras stampede in a quote",
    "# zebras stampede as a heading",
    "-# zebras stampede in small print",
    "1. zebras stampede as a numbered list",
    "Zebras stampede to https://en.wikipedia.org/wiki/Zebra_(animal) and <https://evil.example/(x)>.",
    "Zebras\u200b stampede\u202e backwards, \u2066isolated\u2069, jo\u200dined, \u3164blank \u2800letters.",
)
TITLE = "Ping **storm** @everyone <@123> [x](https://evil.example) ||spoiler||"
OUTLET = "<@&456> Daily"
URL = "https://example.com/zebras_(wild) run?a=1&b=<2>"


def hostile_articles() -> list[Article]:
    return [
        Article(
            f"hostile{number}",
            f"{TITLE} {number}",
            (paragraph, "The herd rested afterwards by the river."),
            origin=f"test:hostile{number}",
            url=URL,
            outlet=OUTLET,
            published="2024-05-27T08:00:00Z",
        )
        for number, paragraph in enumerate(HOSTILE)
    ]


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with open_scene(tmp_path, hostile_articles()) as opened:
        yield opened


def plain(escaped: str) -> str:
    """What a reader sees of an escaped text: escapes resolved, bold markers and zero-width spaces gone."""
    return unescape(re.sub(r"(?<!\\)\*\*", "", escaped)).replace(ZERO_WIDTH_SPACE, "")


def quoted_excerpts(message: MessageState) -> list[str]:
    """The passage excerpts of an answer (description and fields, without their citation line)."""
    embed = message.embed or {}
    values = [embed.get("description", "")] + [field["value"] for field in embed.get("fields", [])]
    return [value.rsplit("\n— ", 1)[0] for value in values if "\n— " in value]


def assert_quoted_plainly(message: MessageState) -> None:
    """Each excerpt is plain text: no live markdown but the formatter's one bold sentence."""
    for excerpt in quoted_excerpts(message):
        assert live_markdown(excerpt) <= {"*"}, excerpt
        assert live(excerpt).count("*") in (0, 4), excerpt
        visible = excerpt.replace(f"@{ZERO_WIDTH_SPACE}", "@")  # the escape of a mass mention
        assert not any(char in visible for char in "\u200b\u202e\u2066\u2069\u200d\u3164\u2800"), excerpt


async def test_hostile_passages_asked_with_ask_render_literally_and_ping_no_one(scene: Scene) -> None:
    fake = scene.fake
    record = await fake.invoke_slash(
        scene.alice, "ask", {"question": QUESTION, "results": 5}, channel=scene.general
    )
    first = await record.wait_for_message(lambda m: not m.loading)
    more = next(custom_id for custom_id in first.custom_ids if custom_id.startswith("storybot:more:"))
    click = await fake.click_button(scene.alice, first, more)
    await click.wait_for_response()
    second = await fake.wait_for_message(lambda m: m.id == first.id and "showing 6–" in m.text)
    context = await fake.click_button(scene.bob, second, next(c for c in second.custom_ids if "context" in c))
    shown = await context.wait_for_message(lambda m: m.embed is not None)

    seen = plain("\n".join([first.text, second.text]))
    for paragraph in HOSTILE:
        assert neutralise(paragraph).strip() in seen, paragraph
    assert "@everyone" in seen and "<@&456>" in seen and "||spoilers||" in seen and "# zebras" in seen
    for answer in (first, second):
        assert_quoted_plainly(answer)
        assert answer.embed is not None
        assert live(answer.embed["description"]).count("](") == 1  # only the citation is a link
        assert neutralise(TITLE) in plain(answer.embed["description"])  # the title shown literally
    # The citation links to the real URL, its parentheses and angle brackets encoded so it cannot end early.
    assert "(https://example.com/zebras_%28wild%29%20run?a=1&b=%3C2%3E)" in first.embed["description"]
    assert shown.ephemeral and shown.embed is not None
    for field in shown.embed["fields"]:
        assert live_markdown(field["value"]) == set() and live_mentions(field["value"]) == []
    print("\n" + first.text)
    assert assert_pings_no_one(fake, [scene.general]) >= 3


async def test_hostile_passages_asked_in_a_dm_and_a_mention_ping_no_one(scene: Scene) -> None:
    fake = scene.fake
    dm = fake.dm_channel(scene.alice)
    await fake.send_message(scene.alice, dm, QUESTION)
    in_dm = await fake.wait_for_message(lambda m: m.channel_id == dm.id and m.embed is not None)
    await fake.send_message(scene.bob, scene.general, f"{QUESTION} @everyone", mentions=[fake.bot_user])
    mentioned = await fake.wait_for_message(
        lambda m: m.channel_id == scene.general.id and m.embed is not None
    )

    for reply in (in_dm, mentioned):
        assert reply.message_reference is not None  # a reply, that does not ping its asker either
        assert_quoted_plainly(reply)
        assert "zebras" in plain(reply.text)
    assert (
        mentioned.embed is not None and mentioned.embed["title"] == f"{QUESTION} @{ZERO_WIDTH_SPACE}everyone"
    )
    assert assert_pings_no_one(fake, [dm, scene.general]) == 2


# -- 1,000 random answers ------------------------------------------------------------------------------

_TRICKS = (
    "@everyone",
    "@here",
    "<@123>",
    "<@!123>",
    "<@&456>",
    "<#789>",
    "</ask:1>",
    "<t:0:R>",
    "<:e:1>",
    "[click](https://evil.example)",
    "](",
    "***",
    "`",
    "```",
    "> ",
    "# ",
    "-# ",
    "1. ",
    "||",
    "~~",
    "__",
    "\\",
    "\n",
    "\u200b",
    "\u202e",
    "\u2066",
    "\u3164",
    "\U0001f600",
    "https://en.wikipedia.org/wiki/A_(b)",
)


def _random_text(seed: int, length: int) -> str:
    """About `length` characters of tricks, words and code points from anywhere in Unicode (cheap to draw)."""
    rng = random.Random(seed)
    codes = (rng.randrange(0x110000) for _ in range(32))
    pool = [*_TRICKS, *_WORDS, *(chr(code) for code in codes if not 0xD800 <= code <= 0xDFFF)]
    return "".join(rng.choices(pool, k=length // 2 + 1))[:length]


_WORDS = ("zebra", "stampede", " ", " ", "the", ".", "Musk")
_lengths = st.integers(0, 60) | st.sampled_from([255, 256, 257, 1023, 1024, 1025, 2000, 4096, 6000])
_texts = st.one_of(
    st.text(max_size=40),
    st.builds(_random_text, st.integers(0, 2**32), _lengths),
    st.builds(lambda unit, count: unit * count, st.sampled_from(_TRICKS), st.integers(0, 3000)),
)
_urls = st.none() | st.builds(lambda path: "https://example.com/" + path, _texts) | _texts


_LENGTHS = (0, 1, 7, 40, 120, 255, 256, 257, 450, 1023, 1024, 1025, 1500, 2000, 4096, 6000)
_questions = st.text(min_size=1, max_size=40) | _texts.map(lambda text: text[:MAX_QUESTION_CHARS] or "?")


def _passage(seed: int, rank: int) -> Passage:
    """A random passage and citation, any length up to past every limit, from one seed (cheap to draw)."""
    rng = random.Random(seed)

    def text() -> str:
        return _random_text(rng.randrange(2**32), rng.choice(_LENGTHS))

    body = text()
    cut, end = sorted((rng.randint(0, len(body)), rng.randint(0, len(body))))
    url = rng.choice([None, "https://example.com/" + text(), "http://" + text(), text()])
    citation = Citation("s", text(), url, rng.choice([None, text()]), rng.choice([None, text()]))
    return Passage(
        rank, 1.0, body, body[cut:end], rng.randint(1, 10**6), 10**6, citation, rng.randint(1, 2**53), 0.5
    )


@st.composite
def _answers(draw: st.DrawFn) -> Answer:
    seeds = draw(st.lists(st.integers(0, 2**32), max_size=5))
    passages = tuple(_passage(seed, rank) for rank, seed in enumerate(seeds, start=1))
    question, answered, message = draw(st.tuples(_questions, st.booleans(), _texts))
    return Answer(question, answered, message, passages, draw(st.integers(0, 10**7)))


def _payload(
    content: str | None, embed: discord.Embed | None, view: discord.ui.View | None
) -> dict[str, Any]:
    """The JSON discord.py would send for this message."""
    payload: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none().to_dict()}
    if content is not None:
        payload["content"] = content
    if embed is not None:
        payload["embeds"] = [embed.to_dict()]
    if view is not None:
        payload["components"] = view.to_components()
    return payload


def _assert_sendable(payload: dict[str, Any]) -> None:
    assert limit_problems(payload) == []
    errors = FormErrors()
    check_message(payload, errors)  # the fake Discord's own validation, a second opinion
    assert not errors, errors.tree
    assert [m for text in payload_texts(payload) for m in live_mentions(text)] == []


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    _answers(), st.integers(0, 10**6), st.integers(1, 5), st.none() | st.booleans(), st.integers(1, 2**64 - 1)
)
def test_1000_random_answers_fit_discord_and_ping_no_one(
    generated: Answer, offset: int, top: int, verdict: bool | None, asker: int
) -> None:
    reply = answer_reply(generated, offset=offset, answered=verdict)
    answered = generated.answered if verdict is None else verdict
    view = answer_view(generated, asker_id=asker, offset=offset, top=top, answered=answered)

    _assert_sendable(_payload(reply.content, reply.embed, view))
    assert reply.embed is not None
    for excerpt in quoted_excerpts_of(reply.embed):
        assert live_markdown(excerpt) <= {"*"}, excerpt


def quoted_excerpts_of(embed: discord.Embed) -> list[str]:
    values = [embed.description or ""] + [field.value or "" for field in embed.fields]
    return [value.rsplit("\n— ", 1)[0] for value in values if "\n— " in value]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_texts, min_size=1, max_size=3), _texts, st.none() | _texts, _urls)
def test_random_context_fits_discord_and_pings_no_one(
    texts: list[str], title: str, outlet: str | None, url: str | None
) -> None:
    paragraphs = [Paragraph(n, "s", n, text) for n, text in enumerate(texts, start=1)]
    source = SourceRecord("s", title, "o", "shared", 3, "h", "a", "u", url, outlet, "2024-05-27")
    reply = context_reply(paragraphs, 2, source)

    _assert_sendable(_payload(reply.content, reply.embed, None))
    assert reply.embed is not None
    for field in reply.embed.fields:
        assert live_markdown(field.value or "") == set()


# -- the escaping itself -----------------------------------------------------------------------------------


def _reference_emphasised(text: str, sentence: str, limit: int) -> str:
    """`emphasised` escaping whole texts, as it did before it escaped windows only."""
    start = text.find(sentence) if sentence.strip() else -1
    if start < 0:
        return clip(escape(text), limit)
    before = escape(text[:start], strip=False).lstrip()
    after = escape(text[start + len(sentence) :], strip=False).rstrip()
    bold = escape(sentence)
    if not bold:
        return clip(escape(text), limit)
    room = limit - 4 - len(bold)
    if room < 0:
        return "**" + clip(bold, limit - 4) + "**"
    if len(before) + len(after) > room:
        before_room = min(len(before), room // 2)
        after = clip(after, room - before_room) if after else after
        before = clip_start(before, room - len(after)) if before else before
        if len(before) + len(after) > room:
            before = ""
    return f"{before}**{bold}**{after}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts, st.integers(0, 2000), st.integers(0, 10**6), st.integers(0, 10**6))
# A link longer than the window, begun before it: the window once read a later link as the one cut.
@example("https://en.wikipedia.org/wiki/A_(b)" * 6, 176, 0, 0)
def test_escaping_only_a_window_gives_exactly_what_escaping_everything_gives(
    text: str, limit: int, cut: int, end: int
) -> None:
    cut, end = sorted((cut % (len(text) + 1), end % (len(text) + 1)))

    assert escape_clipped(text, limit) == clip(escape(text), limit)
    assert clip_start(escape_tail(text, limit), limit) == clip_start(escape(text), limit)
    assert emphasised(text, text[cut:end], limit) == _reference_emphasised(text, text[cut:end], limit)


def test_a_huge_hostile_passage_does_not_hold_up_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    huge = "@everyone \u200b*_<@1> [x](y) \u202e# " * 20_000  # 600,000 characters, most needing work
    source = Citation("s", huge, "https://example.com/" + huge[:3000], huge, huge)
    passages = tuple(Passage(n, 1.0, huge, huge[300_000:300_200], n, 9, source, n, 0.5) for n in range(1, 6))
    # The work is counted, not timed: every character escaped passes through `neutralise` first.
    read: list[int] = []

    def counted(text: str) -> str:
        read.append(len(text))
        return neutralise(text)

    monkeypatch.setattr(escaping, "neutralise", counted)

    reply = answer_reply(Answer("why?", True, huge, passages, 5))

    # Each of the 26 huge fields is escaped only as far as the reply can show it: a few thousand
    # characters in all (it took 4 s on the event loop, escaping the whole of each, before windows).
    assert 0 < sum(read) < 60_000
    assert reply.embed is not None and limit_problems(_payload(reply.content, reply.embed, None)) == []


def test_markdown_at_the_start_of_a_line_is_escaped_and_given_back() -> None:
    for text, shown in [
        ("# heading", "\\# heading"),
        (" # heading", " \\# heading"),
        ("-# small", "\\-# small"),
        ("> quote", "\\> quote"),
        ("1. first", "1\\. first"),
        ("12) twelfth", "12\\) twelfth"),
        ("2024.5 percent", "2024.5 percent"),
    ]:
        assert escape(text, strip=False) == shown
        assert unescape(shown) == text
    embed = answer_reply(Answer("1. Why?", True, "", (), 0)).embed
    assert embed is not None and embed.title == "1\\. Why?" and question_of(embed) == "1. Why?"


def test_links_with_user_info_are_not_linked_and_at_signs_are_encoded() -> None:
    assert safe_url("https://bank.example@evil.example/login") is None
    assert safe_url("https://user:pass@example.com/") is None
    assert safe_url("HTTP://@everyone") is None
    assert safe_url("https://medium.com/@writer/story") == "https://medium.com/%40writer/story"
    assert safe_url("https://example.com/a_(b) <c>") == "https://example.com/a_%28b%29%20%3Cc%3E"


# discord.py's escape_markdown passes re.sub's count positionally, which Python 3.13 deprecates.
@pytest.mark.filterwarnings("ignore:'count' is passed as positional argument:DeprecationWarning")
def test_links_in_passages_keep_their_underscores_and_tildes() -> None:
    text = "See https://example.com/a_b_c and https://x.example/~me/a_(b), not _this_ or ~~that~~."
    shown = escape(text)
    assert shown == (
        "See https://example.com/a_b_c and https://x.example/~me/a_(b), not \\_this\\_ or \\~\\~that\\~\\~."
    )
    assert unescape(shown) == text
    # What discord.py leaves unescaped with ignore_links=True is left here too.
    assert discord.utils.escape_markdown("https://example.com/a_b_c", ignore_links=True) in shown
    # `*` is still escaped in a link, so the bold around a best sentence cannot close inside one.
    assert escape("https://x.example/a**b") == "https://x.example/a\\*\\*b"
    assert escape("https://x.example/@everyone_x") == f"https://x.example/@{ZERO_WIDTH_SPACE}everyone\\_x"
    assert (
        escape("ftp://x.example/a_b <https://e.example/a_b>")
        == "ftp://x.example/a\\_b \\<https://e.example/a_b\\>"
    )


def test_a_clip_into_a_link_drops_the_links_tail_rather_than_show_it_live() -> None:
    shown = escape("Read https://example.com/a_b_c_d_e_f today, x_y")
    assert clip_start(shown, 30) == "…today, x\\_y"
    assert live_markdown(clip_start(shown, 30)) == set()
    assert clip(shown, 30) == "Read https://example.com/a_b_…"


async def test_a_link_in_an_answer_stays_clickable(tmp_path: Path) -> None:
    article = Article(
        "links",
        "Zebra crossings",
        ("Zebras stampede across the road, as https://example.com/zebra_crossing_rules explains.",),
        origin="test:links",
    )
    async with open_scene(tmp_path, [article]) as scene:
        record = await scene.fake.invoke_slash(
            scene.alice, "ask", {"question": "Why do zebras stampede across the road?"}, channel=scene.general
        )
        answer = await record.wait_for_message(lambda m: not m.loading)

        assert answer.embed is not None
        assert "https://example.com/zebra_crossing_rules" in answer.embed["description"]
        assert_quoted_plainly(answer)
        assert assert_pings_no_one(scene.fake, [scene.general]) >= 1
