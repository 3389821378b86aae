"""The one formatter: exact layouts, and Discord's limits at exactly the limits and for any answer."""

from __future__ import annotations

from dataclasses import replace

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.discord_app.replies import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    answer_reply,
    context_reply,
    embed_problems,
    help_reply,
    notice,
    question_of,
    reindex_summary,
    sources_reply,
    status_reply,
)
from bot.discord_app.replies.escaping import ZERO_WIDTH_SPACE, escape, neutralise
from bot.discord_app.replies.for_admins import added_reply
from index import AddReport, Answer, Citation, Passage, ReindexReport, SourceRecord, StoredTotal
from index.models import IndexStats, Paragraph, Usage

STORY = Citation("s1", "Musk buys GPUs", "https://example.com/gpus", "Semafor", "2023-04-12T08:00:00Z")


def passage(rank: int, text: str, highlight: str = "", *, source: Citation = STORY, pid: int = 0) -> Passage:
    return Passage(rank, 1.0, text, highlight, rank + 4, 15, source, pid or rank, 0.9)


def answer(
    question: str, passages: tuple[Passage, ...], *, answered: bool = True, matched: int = 13
) -> Answer:
    message = (
        "13 passages match your question." if answered else "I couldn't find that in the indexed articles."
    )
    return Answer(question, answered, message, passages, matched)


def assert_sendable(reply_content: str | None, embed: discord.Embed | None) -> None:
    assert reply_content is None or len(reply_content) <= CONTENT_LIMIT
    if embed is not None:
        assert embed_problems(embed) == []


# -- layout -------------------------------------------------------------------------------------------


def test_answer_has_bold_best_sentence_citation_fields_and_footer() -> None:
    text = "Musk left in 2018. That failed power struggle left Musk reeling. Tesla was the reason."
    reply = answer_reply(
        answer(
            "Why did Musk leave OpenAI?",
            (
                passage(1, text, "That failed power struggle left Musk reeling."),
                passage(2, "He kept funding it."),
            ),
        )
    )

    embed = reply.embed
    assert reply.content is None and embed is not None
    assert embed.title == "Why did Musk leave OpenAI?"
    assert embed.description == (
        "Musk left in 2018. **That failed power struggle left Musk reeling.** Tesla was the reason.\n"
        "— [Musk buys GPUs](https://example.com/gpus) · Semafor · 2023-04-12 · paragraph 5 of 15"
    )
    assert [(field.name, field.value) for field in embed.fields] == [
        (
            "Passage 2",
            "He kept funding it.\n"
            "— [Musk buys GPUs](https://example.com/gpus) · Semafor · 2023-04-12 · paragraph 6 of 15",
        )
    ]
    assert embed.footer.text == "13 passages matched"


def test_later_page_numbers_passages_after_the_offset() -> None:
    reply = answer_reply(answer("q?", (passage(1, "a"), passage(2, "b"))), offset=3)

    assert reply.embed is not None
    assert [field.name for field in reply.embed.fields] == ["Passage 5"]
    assert reply.embed.footer.text == "13 passages matched · showing 4–5"


def test_not_answered_says_so_marks_passages_and_suggests_questions() -> None:
    reply = answer_reply(
        answer("Who is the CEO of Nvidia?", (passage(1, "Close."),), answered=False, matched=1)
    )

    assert reply.content == "I couldn't find that in the indexed articles."
    embed = reply.embed
    assert embed is not None
    assert embed.description == "**The closest passages, not an answer:**"
    assert [field.name for field in embed.fields] == ["Closest passage 1 (not an answer)", "Try asking"]
    assert "Why did Musk leave OpenAI?" in (embed.fields[1].value or "")
    assert embed.footer.text == "1 passage matched"


def test_nothing_to_show_gives_example_questions() -> None:
    reply = answer_reply(Answer("the?", False, "Your question has no words I can search for.", (), 0))

    assert reply.embed is not None
    assert (reply.embed.description or "").startswith("Try asking:\n• Why did Musk leave OpenAI?")
    assert reply.embed.fields == []


def test_citation_without_url_outlet_or_date() -> None:
    bare = Citation("s2", "Untitled story", None, None, None)
    reply = answer_reply(answer("q?", (passage(1, "Text.", source=bare),)))

    assert reply.embed is not None
    assert (reply.embed.description or "").endswith("\n— Untitled story · paragraph 5 of 15")


def test_also_in_names_the_other_outlets_linked_and_counts_the_rest() -> None:
    others = (
        Citation("c1", "Courier wire", "https://courier.example/ferry", "Daily Courier", None),
        Citation("c2", "Gazette wire", None, "Coast Gazette", None),
        Citation("c3", "Weekly roundup", "https://weekly.example/", None, None),
        Citation("c4", "Four", None, "Four News", None),
        Citation("c5", "Five", None, "Five News", None),
    )
    reply = answer_reply(
        answer(
            "q?",
            (
                replace(passage(1, "Text."), also_in=others),
                replace(passage(2, "More."), also_in=others[1:2]),
                passage(3, "Alone."),
            ),
        )
    )

    embed = reply.embed
    assert embed is not None
    assert embed.description == (
        "Text.\n"
        "— [Musk buys GPUs](https://example.com/gpus) · Semafor · 2023-04-12 · paragraph 5 of 15\n"
        "also in: [Daily Courier](https://courier.example/ferry), Coast Gazette, "
        "[Weekly roundup](https://weekly.example/) and 2 more"
    )
    assert [field.value for field in embed.fields] == [
        "More.\n— [Musk buys GPUs](https://example.com/gpus) · Semafor · 2023-04-12 · paragraph 6 of 15\n"
        "also in: Coast Gazette",
        "Alone.\n— [Musk buys GPUs](https://example.com/gpus) · Semafor · 2023-04-12 · paragraph 7 of 15",
    ]


def test_also_in_escapes_its_names_and_links_only_safe_urls() -> None:
    hostile = (
        Citation("c1", "t", "https://example.com/a_(b) c", "**Bold** @everyone <@123>", None),
        Citation("c2", "[Title](http://x)", "javascript:alert(1)", None, None),
    )
    reply = answer_reply(answer("q?", (replace(passage(1, "Text."), also_in=hostile),)))

    assert reply.embed is not None
    last_line = (reply.embed.description or "").splitlines()[-1]
    assert last_line == (
        f"also in: [\\*\\*Bold\\*\\* @{ZERO_WIDTH_SPACE}everyone \\<@123\\>]"
        "(https://example.com/a_%28b%29%20c), \\[Title\\](http://x)"
    )


def test_five_passages_each_in_many_huge_sources_fit_in_6000() -> None:
    huge = Citation("s5", "T" * 3000, "https://example.com/" + "p" * 3000, "O" * 500, "D" * 500)
    others = tuple(
        Citation(f"o{n}", "T" * 2000, f"https://example.com/{n}/" + "q" * 190, "*" * 600, None)
        for n in range(100)
    )
    passages = tuple(
        replace(passage(rank, "w " * 5000, "w w", source=huge), also_in=others) for rank in range(1, 6)
    )
    reply = answer_reply(answer("*_" * 500, passages))

    embed = reply.embed
    assert embed is not None
    assert embed_problems(embed) == []
    values = [embed.description or "", *(field.value or "" for field in embed.fields)]
    assert len(values) == 5
    assert all(value.splitlines()[-1].startswith("also in: ") for value in values)
    assert all(value.endswith(" and 97 more") for value in values)


# -- safety ----------------------------------------------------------------------------------------------


def test_mentions_markdown_and_invisible_characters_are_neutralised() -> None:
    hostile = "@everyone look <@123> **now** \u200bhid\u202eden # not a heading [link](http://x)"
    reply = answer_reply(answer("@here what?", (passage(1, hostile),)))

    embed = reply.embed
    assert embed is not None
    description = embed.description or ""
    assert "@everyone" not in description and f"@{ZERO_WIDTH_SPACE}everyone" in description
    assert "\\<@123\\>" in description
    assert "\\*\\*now\\*\\*" in description
    assert "\u202e" not in description and "hidden" in description
    assert "\\[link\\](http://x)" in description
    assert embed.title == f"@{ZERO_WIDTH_SPACE}here what?"


def test_unsafe_urls_are_not_linked() -> None:
    evil = Citation("s3", "Story", "javascript:alert(1)", None, None)
    reply = answer_reply(answer("q?", (passage(1, "Text.", source=evil),)))

    assert reply.embed is not None
    assert "javascript" not in (reply.embed.description or "")


def test_parentheses_in_urls_cannot_end_the_link() -> None:
    odd = Citation("s4", "Story", "https://example.com/a_(b) c", None, None)
    reply = answer_reply(answer("q?", (passage(1, "Text.", source=odd),)))

    assert reply.embed is not None
    assert "[Story](https://example.com/a_%28b%29%20c)" in (reply.embed.description or "")


# -- limits, exactly -------------------------------------------------------------------------------------


def test_a_question_exactly_as_long_as_the_title_limit_is_the_whole_title() -> None:
    question = "q" * TITLE_LIMIT
    embed = answer_reply(answer(question, (passage(1, "Text."),))).embed

    assert embed is not None and embed.title == question
    assert not (embed.description or "").startswith("**Q:**")
    assert question_of(embed) == question


def test_a_question_one_over_the_title_limit_is_clipped_and_repeated_whole() -> None:
    question = "q" * (TITLE_LIMIT + 1)
    embed = answer_reply(answer(question, (passage(1, "Text."),))).embed

    assert embed is not None and embed.title is not None
    assert len(embed.title) == TITLE_LIMIT and embed.title.endswith("…")
    assert (embed.description or "").startswith(f"**Q:** {question}\n\n")
    assert question_of(embed) == question


def test_the_longest_question_of_markdown_characters_still_fits() -> None:
    question = "*_" * 500  # 1,000 characters that each need escaping
    reply = answer_reply(
        answer(question, tuple(passage(rank, "x" * 5000, "x" * 3000) for rank in range(1, 6)))
    )

    assert reply.embed is not None
    assert embed_problems(reply.embed) == []
    assert question_of(reply.embed) == question


def test_five_huge_passages_with_huge_citations_fit_in_6000() -> None:
    huge = Citation("s5", "T" * 3000, "https://example.com/" + "p" * 3000, "O" * 500, "D" * 500)
    reply = answer_reply(
        answer("q?", tuple(passage(rank, "w " * 5000, "w w", source=huge) for rank in range(1, 6)))
    )

    embed = reply.embed
    assert embed is not None
    assert embed_problems(embed) == []
    assert len(embed) <= EMBED_TOTAL_LIMIT
    assert len(embed.fields) == 4


def _embed_of_total(total: int) -> discord.Embed:
    embed = discord.Embed(title="t" * TITLE_LIMIT, description="d" * DESCRIPTION_LIMIT)
    embed.add_field(name="a", value="v" * FIELD_VALUE_LIMIT)
    embed.add_field(name="b", value="w" * (total - TITLE_LIMIT - DESCRIPTION_LIMIT - FIELD_VALUE_LIMIT - 2))
    return embed


def test_embed_problems_at_exactly_the_limits_and_one_over() -> None:
    over = discord.Embed(title="t" * (TITLE_LIMIT + 1), description="d" * (DESCRIPTION_LIMIT + 1))
    over.add_field(name="n", value="v" * (FIELD_VALUE_LIMIT + 1))

    assert len(_embed_of_total(EMBED_TOTAL_LIMIT)) == EMBED_TOTAL_LIMIT
    assert embed_problems(_embed_of_total(EMBED_TOTAL_LIMIT)) == []
    assert embed_problems(_embed_of_total(EMBED_TOTAL_LIMIT + 1)) == ["total"]
    assert embed_problems(over) == ["title", "description", "field 0 value"]


def test_notice_is_clipped_to_exactly_the_content_limit() -> None:
    assert notice("x" * CONTENT_LIMIT) == "x" * CONTENT_LIMIT
    clipped = notice("x" * (CONTENT_LIMIT + 1))
    assert len(clipped) == CONTENT_LIMIT and clipped.endswith("…")


def test_not_answered_message_is_within_the_content_limit() -> None:
    long_message = "I couldn't find that in the indexed articles. They never mention " + "*" * 3000
    reply = answer_reply(Answer("q?", False, long_message, (), 0))

    assert reply.content is not None and len(reply.content) == CONTENT_LIMIT


def test_reindex_summary_with_many_failures_fits() -> None:
    report = ReindexReport(
        3, 40, 1, 0, 2, 1.5, tuple((f"/data/{n}.txt", "missing " * 20) for n in range(200))
    )

    text = reindex_summary(report)
    assert len(text) <= CONTENT_LIMIT
    assert text.startswith("Reindex done in 1.50 s: 3 sources, 40 paragraphs; 1 added, 0 removed, 2 changed.")


def test_context_marks_the_passage_and_clips_long_paragraphs() -> None:
    record = SourceRecord("s1", "Story", "o", "shared", 3, "h", "a", "u", "https://e.com/x", "Wired", None)
    paragraphs = [
        Paragraph(9, "s1", 9, "before " * 400),
        Paragraph(10, "s1", 10, "it"),
        Paragraph(11, "s1", 11, "after"),
    ]

    embed = context_reply(paragraphs, 10, record).embed

    assert embed is not None and embed_problems(embed) == []
    assert [field.name for field in embed.fields] == [
        "Paragraph 9",
        "Paragraph 10 (the passage)",
        "Paragraph 11",
    ]
    assert embed.description == "Wired · [read the article](https://e.com/x)"


def test_sources_pages_hold_ten_and_stay_within_limits() -> None:
    records = [
        SourceRecord(
            f"s{n}",
            "T" * 1000,
            "o",
            "shared",
            n,
            "h",
            "a",
            "u",
            "https://e.com/" + "x" * 500,
            "O" * 300,
            "2024-01-02",
        )
        for n in range(23)
    ]

    first, last = sources_reply(records, 0).embed, sources_reply(records, 99).embed

    assert first is not None and last is not None
    assert embed_problems(first) == [] and embed_problems(last) == []
    assert (first.description or "").count("\n") == 9
    assert first.footer.text == "Page 1 of 3 · 23 articles"
    assert last.footer.text == "Page 3 of 3 · 23 articles"


def test_status_and_help_fit() -> None:
    stats = IndexStats(4, 120, 900, 2, 3_145_728, 1, "2024-05-01T10:00:00Z", 1.234)
    usage = Usage(10, 3, 4, 1, 0.0123, 0.0456)

    status = status_reply(stats, usage, 93_784).embed
    help_embed = help_reply([("ask", "Ask."), ("admin reindex", "Rebuild.")]).embed

    assert status is not None and help_embed is not None
    assert embed_problems(status) == [] and embed_problems(help_embed) == []
    assert [(f.name, f.value) for f in status.fields][-2:] == [
        ("/ask latency", "p50 12 ms · p95 46 ms"),
        ("Uptime", "1d 2h 3m 4s"),
    ]


# -- any answer ------------------------------------------------------------------------------------------

_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000) | st.sampled_from(
    ["", " ", "*" * 5000, "@everyone " * 300, "\u200b" * 50, "\\" * 4000]
)
_citations = st.builds(
    Citation,
    id=st.just("s"),
    title=_texts,
    url=st.none() | st.text(max_size=600).map(lambda rest: "https://example.com/" + rest),
    outlet=st.none() | _texts,
    published=st.none() | _texts,
)


@st.composite
def _passages(draw: st.DrawFn, rank: int) -> Passage:
    text = draw(_texts)
    cut = draw(st.integers(0, len(text)))
    highlight = draw(st.sampled_from([text[cut:], text[:cut], "", "missing sentence"]))
    return Passage(rank, 1.0, text, highlight, draw(st.integers(1, 9999)), 9999, draw(_citations), rank, 0.5)


@st.composite
def _answers(draw: st.DrawFn) -> Answer:
    count = draw(st.integers(0, 5))
    passages = tuple(draw(_passages(rank)) for rank in range(1, count + 1))
    question = draw(st.text(min_size=1, max_size=1000))
    return Answer(question, draw(st.booleans()), draw(_texts), passages, draw(st.integers(0, 10**6)))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_answers(), st.integers(0, 10_000), st.none() | st.booleans())
def test_any_answer_is_within_every_limit_and_keeps_its_question(
    generated: Answer, offset: int, verdict: bool | None
) -> None:
    reply = answer_reply(generated, offset=offset, answered=verdict)

    assert_sendable(reply.content, reply.embed)
    assert reply.embed is not None
    expected = neutralise(generated.question).strip()
    if expected:
        assert question_of(reply.embed) == expected


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_escaped_text_never_holds_a_live_mass_mention(text: str) -> None:
    escaped = escape(text)
    assert "@everyone" not in escaped and "@here" not in escaped


@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_clipped_escapes_are_never_split(limit: int) -> None:
    from bot.discord_app.replies.escaping import clip

    clipped = clip(escape("*" * 50), limit)
    assert len(clipped) <= limit
    body = clipped.removesuffix("…")
    assert len(body) % 2 == 0


def test_added_reply_counts_the_articles_a_big_add_did_not_keep() -> None:
    record = SourceRecord("n0", "Note 0", "o", "shared", 1, "h", "a", "u")
    report = AddReport(added=(record,), totals=(StoredTotal(5000, 5000), StoredTotal(), StoredTotal()))
    assert added_reply(report, "the shared sources") == (
        "Indexed into the shared sources:\n"
        "• Added: **Note 0** — 1 paragraph · id `n0`\n"
        "• Added: 4,999 more articles"
    )
