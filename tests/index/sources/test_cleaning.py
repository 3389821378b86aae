"""Paragraph splitting and boilerplate rules, on the built-in story and on the shapes of other news sites."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.sources.cleaning import normalize_text, split_paragraphs
from index.sources.markdown import markdown_title, markdown_to_text
from tests.conftest import STORY

STORY_TITLE = "Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs"

STORY_PASSAGES = (
    "Twitter is currently preparing an AI project by hiring former DeepMind researchers, and to support the "
    "project Elon Musk is buying up 10,000 GPUs.",
    "According to Business InsiderElon Musk recently purchased as many as 10,000 GPUs to use in one of "
    "Twitter’s two data centers, as part of his commitment to the AI project.",
    "Reported Telset from Engadgetthe project will involve creating generative AI technologies that "
    "companies "
    "with massive Twitter data will train, though it’s still unclear how the company will implement the "
    "technology.",
    "On the other hand, this generative AI will likely be used to add search functionality to platforms or "
    "assist companies in rebuilding their advertising business.",
    "On the other hand, this report also contradicts Musk’s recent decision to sign an open letter, which "
    "suggested a six-month time lag for AI development.",
    "In addition, Musk has also been one of the most vocal in criticizing OpenAI, which is an artificial "
    "intelligence company that he actually co-founded in 2015.",
    "However, a recent report from Semafor mentions Musk’s feud with OpenAI was more personal to "
    "the founders "
    "of OpenAI at the time.",
    "So the story goes, in 2018, Musk told Sam Altman, one of his colleagues who is also the "
    "founder of OpenAI, "
    "that their lab was still far behind Google.",
    "Musk then suggested that he could become the one who runs the company in full, aka Musk wants "
    "to control "
    "the majority of the company. But the proposal that Musk offered was rejected by Altman and other OpenAI "
    "founders.",
    "That failed power struggle left Musk reeling and eventually leaving OpenAI. Even though it was "
    "open to the "
    "public, both parties admitted that the partnership was due to a conflict of interest involving Tesla.",
    "Even though he decided to leave, at that time OpenAI revealed that the billionaire would still "
    "continue to "
    "fund his research. However, according to Semafor, Musk has made no further disbursement after his "
    "departure – despite promises to give the company around $1 billion.",
    "Musk’s sudden departure from the OpenAI project left the company struggling to find funding for "
    "development. As a result, OpenAI had to struggle to raise money, and ended up getting a $1 "
    "billion capital "
    "injection from Microsoft in 2019.",
    "When OpenAI launched ChatGPT in November 2022 and immediately dominated headlines news around "
    "the world, "
    "making Musk very angry.",
    "One month later, he cut OpenAI’s access to Twitter’s data firehose. And now it appears he "
    "wants to compete "
    "with his old firm head-on.",
    "To realize his ambition of beating chatGPT, the richest man in the world immediately bought up "
    "10,000 GPUs "
    "to work on AI on Twitter. Will Musk be able to compete with OpenAI directly? We will see later.",
)

PROSE = (
    "The council met on Tuesday to discuss the budget for next year, and after a long debate it "
    "agreed to raise "
    "spending on roads and schools while cutting the cost of running its own offices by a tenth. "
    "Critics said "
    "the plan relied on optimistic forecasts of tax income."
)


# -- the built-in story ------------------------------------------------------------------------------------


def test_story_gives_exactly_its_fifteen_passages() -> None:
    assert split_paragraphs(normalize_text(STORY.read_text(encoding="utf-8")), STORY_TITLE) == STORY_PASSAGES


def test_story_boilerplate_is_gone() -> None:
    passages = split_paragraphs(normalize_text(STORY.read_text(encoding="utf-8")), STORY_TITLE)
    text = "\n".join(passages)
    for boilerplate in ("Berikut", "Yang terbaru", "Dapatkan", "[FY/HBS]", "– Jakarta –", STORY_TITLE):
        assert boilerplate not in text
    assert passages[-1].endswith("We will see later.")


# -- rule 1: the title is not a passage --------------------------------------------------------------------

TITLE = "Harbour bridge reopens after two-year repair"


@pytest.mark.parametrize(
    "paragraph",
    [
        "Harbour bridge reopens after two-year repair",
        "HARBOUR BRIDGE REOPENS — after two-year repair!",
        "Berikut Harbour bridge reopens after two-year repair",
        "Baca juga: Harbour bridge reopens after two-year repair",
        "Harbour bridge reopens after two-year repair, selengkapnya di sini",
    ],
)
def test_paragraph_repeating_title_with_few_extra_words_is_dropped(paragraph: str) -> None:
    assert split_paragraphs(f"{paragraph}\n\nThe bridge opened at six.", TITLE) == (
        "The bridge opened at six.",
    )


def test_paragraph_with_title_and_more_than_three_extra_words_is_kept() -> None:
    paragraph = "Harbour bridge reopens after two-year repair, the mayor told reporters"
    assert split_paragraphs(paragraph, TITLE) == (paragraph,)


def test_short_title_only_drops_an_exact_repeat() -> None:
    assert split_paragraphs("Update\n\nUpdate on the fire", "Update") == ("Update on the fire",)


def test_empty_title_drops_nothing() -> None:
    assert split_paragraphs("Some text.", "") == ("Some text.",)


# -- rule 2: datelines and what precedes them ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Promo text for you. Read more at – Jakarta – Prices rose.", "Prices rose."),
        ("— LONDON — Shares fell on Monday.", "Shares fell on Monday."),
        ("- Paris - The mayor resigned.", "The mayor resigned."),
        (
            "JAKARTA, March 3 (Reuters) - Indonesia's central bank held rates.",
            "Indonesia's central bank held rates.",
        ),
        ("LONDON (Reuters) - The pound rose.", "The pound rose."),
        ("NEW YORK, N.Y. (AP) — Police said.", "Police said."),
        ("WASHINGTON — The president said.", "The president said."),
        ("JAKARTA, KOMPAS.com - Harga naik.", "Harga naik."),
    ],
)
def test_dateline_and_lead_before_it_are_removed(paragraph: str, expected: str) -> None:
    assert split_paragraphs(paragraph, "Title") == (expected,)


@pytest.mark.parametrize(
    "paragraph",
    [
        "US - China talks resumed on Monday.",
        "The toll road on the Jakarta - Bandung - Surabaya line opened.",
        "In 2020 – the year of the pandemic – sales fell.",
        "He left the company – despite promises – and never came back.",
        "A long paragraph " + "of many words " * 30 + "then – Jakarta – Later text.",
    ],
)
def test_dashes_that_are_not_datelines_are_kept(paragraph: str) -> None:
    assert split_paragraphs(paragraph, "Title") == (" ".join(paragraph.split()),)


# -- rule 3: desk and author tags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("We will see later.[FY/HBS]", "We will see later."),
        ("The talks ended. [ANT/RR]", "The talks ended."),
        ("Sales fell. (AP)", "Sales fell."),
        ("Sales fell (FY/HBS)", "Sales fell"),
        ("Sales fell. [AB/CD] (AP)", "Sales fell."),
    ],
)
def test_desk_tag_at_end_is_removed(paragraph: str, expected: str) -> None:
    assert split_paragraphs(paragraph, "Title") == (expected,)


@pytest.mark.parametrize(
    "paragraph",
    ["The data came from the space agency (NASA)", "Said the agency (NASA).", "He was born in Rio (Brazil)."],
)
def test_ordinary_parenthesised_text_is_kept(paragraph: str) -> None:
    assert split_paragraphs(paragraph, "Title") == (paragraph,)


def test_paragraph_that_is_only_a_tag_is_dropped() -> None:
    assert split_paragraphs("Text.\n\n(AP)\n\n[FY/HBS]", "Title") == ("Text.",)


# -- rule 4 and the block structure -------------------------------------------------------------------------


def test_empty_and_symbol_only_paragraphs_are_dropped_and_whitespace_collapsed() -> None:
    body = "  First   one \t here. \n\n***\n\n— — —\n\n \n\nSecond."
    assert split_paragraphs(body, "Title") == ("First one here.", "Second.")


def test_lines_of_a_block_are_separate_paragraphs() -> None:
    body = "Markets rallied on Tuesday.\nOil prices fell to a low.\nThe dollar was steady."
    assert split_paragraphs(body, "Title") == (
        "Markets rallied on Tuesday.",
        "Oil prices fell to a low.",
        "The dollar was steady.",
    )


def test_short_list_lines_are_not_taken_for_wrapped_prose() -> None:
    assert split_paragraphs("Bread\nMilk\nEggs\nButter", "Title") == ("Bread", "Milk", "Eggs", "Butter")


@pytest.mark.parametrize("width", [40, 50, 60, 72, 80, 100])
def test_hard_wrapped_prose_is_joined(width: int) -> None:
    body = textwrap.fill(PROSE, width) + "\n\n" + textwrap.fill("A second paragraph follows here.", width)
    assert split_paragraphs(body, "Title") == (PROSE, "A second paragraph follows here.")


def test_line_ending_mid_sentence_joins_a_lower_case_line() -> None:
    body = "The line ends mid\nsentence here.\nThis starts anew."
    assert split_paragraphs(body, "Title") == ("The line ends mid sentence here.", "This starts anew.")


def test_word_hyphenated_across_a_wrap_is_rejoined() -> None:
    assert split_paragraphs("A well-\nknown fact.", "Title") == ("A well-known fact.",)


def test_crlf_and_cr_line_ends_split_like_lf() -> None:
    assert split_paragraphs("One.\r\n\r\nTwo.\rThree.", "Title") == ("One.", "Two.", "Three.")


# -- normalisation and Markdown -----------------------------------------------------------------------------


def test_normalize_text_makes_nfc_lf_and_drops_control_characters() -> None:
    assert normalize_text("\ufeffCafe\u0301\r\nline\x07two\rthree\x0cfour\ttab") == (
        "Café\nlinetwo\nthree\nfour\ttab"
    )


def test_markdown_to_text_keeps_only_prose() -> None:
    markdown = (
        "# Heading\n\nA [link](http://x.example) and ![img](a.png) with **bold**, *em*, _under_, ~~old~~,\n"
        "`code *x*`, snake_case_name and \\*stars\\*.\n\nSub heading\n-----------\n\n- item one\n"
        "* item two\n1. item three\n\n```python\nprint('dropped')\n```\n\n> quoted\n> on two lines\n\n"
        "---\n\n[ref]: http://example.com\n<!-- hidden -->\nEnd <b>bold</b> <https://x.example>."
    )
    assert split_paragraphs(markdown_to_text(markdown), "Heading") == (
        "A link and with bold, em, under, old, code *x*, snake_case_name and *stars*.",
        "item one",
        "item two",
        "item three",
        "quoted on two lines",
        "End bold https://x.example.",
    )


def test_unclosed_code_fence_runs_to_the_end() -> None:
    assert split_paragraphs(markdown_to_text("Kept.\n\n~~~\ncode\n\nmore code"), "T") == ("Kept.",)


def test_markdown_title_drops_heading_marks_and_markup() -> None:
    assert markdown_title("## The *big* [story](http://x.example) ##") == "The big story"


# -- properties ---------------------------------------------------------------------------------------------


@given(body=st.text(), title=st.text(max_size=80))
def test_split_paragraphs_never_raises_nor_returns_blank_paragraphs(body: str, title: str) -> None:
    for paragraph in split_paragraphs(body, title):
        assert paragraph.strip()
        assert paragraph == paragraph.strip()
        assert "\n" not in paragraph


@given(body=st.text(alphabet=st.sampled_from("ab -–—[]()/.\n\tAB#*_`>"), max_size=300))
def test_split_paragraphs_survives_markup_heavy_text(body: str) -> None:
    for paragraph in split_paragraphs(markdown_to_text(body), "A b"):
        assert paragraph.strip()
        assert paragraph == paragraph.strip()
