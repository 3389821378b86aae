"""Repeated paragraphs: the rule telling a copy from another passage, and answers that show each once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Article, StoryIndex
from index.engine.searcher import Hit, StoredPassage
from index.repeats import MAX_COMPARED_CHARS, Collapsed, are_copies, collapse_repeats, wording

WIRE = (
    "The harbour authority said on Tuesday it would close the old ferry terminal in March and move all "
    "crossings to the new pier at Northgate."
)
"""A wire paragraph of 26 words, as three outlets carry it."""


def copies(first: str, second: str) -> bool:
    """The rule both ways round: it must not depend on which copy ranks first."""
    forward = are_copies(wording(first), wording(second))
    assert are_copies(wording(second), wording(first)) == forward
    return forward


def hit(paragraph_id: int, text: str, source: str) -> Hit:
    stored = StoredPassage(paragraph_id, text, 2, source, f"Title {source}", None, None, None, 3, 40)
    return Hit(stored, 10.0 - paragraph_id, 0.5, 10.0 - paragraph_id)


def collapsed_ids(collapsed: tuple[Collapsed, ...]) -> list[tuple[int, list[int]]]:
    return [
        (kept.hit.passage.paragraph_id, [copy.passage.paragraph_id for copy in kept.copies])
        for kept in collapsed
    ]


# -- the rule ------------------------------------------------------------------------------------------


def test_identical_paragraphs_are_copies() -> None:
    assert copies(WIRE, WIRE)


@pytest.mark.parametrize("tag", [" [FY/HBS]", " (Reuters)", " — Reporting by Jane Doe"])
def test_a_trailing_desk_tag_or_credit_is_a_frame(tag: str) -> None:
    assert copies(WIRE, WIRE + tag)


@pytest.mark.parametrize("byline", ["By Jane Doe, Reuters — ", "NORTHGATE, April 3 (Reuters) - ", "AP: "])
def test_a_leading_byline_or_dateline_is_a_frame(byline: str) -> None:
    assert copies(WIRE, byline + WIRE)


def test_a_changed_byline_and_different_tags_on_both_copies_are_frames() -> None:
    assert copies("By Jane Doe, Reuters — " + WIRE, "By John Roe, AP — " + WIRE)
    assert copies(WIRE + " [FY/HBS]", WIRE + " (Reuters)")
    assert copies(WIRE + " — Reporting by Jane Doe", WIRE + " — Reporting by John Roe")
    assert copies("By Jane Doe, Reuters — " + WIRE, WIRE + " [FY/HBS]")


def test_curly_quotes_dashes_case_and_white_space_make_no_difference() -> None:
    curly = "“It’s the end of an era,” the harbour master said of the terminal — which opened in 1931."
    straight = (
        '"IT\'S the end of an era,"  the harbour\n master said of the terminal - which opened in 1931 .'
    )
    assert copies(curly, straight)
    assert copies(
        "Zero\u200bwidth and soft\u00adhyphens hide nothing here.",
        "Zerowidth and softhyphens hide nothing here.",
    )


def test_ascii_and_unicode_text_split_into_the_same_words() -> None:
    plain = "It's 10,000 co-founders_all -- (Reuters) [FY/HBS]"
    assert wording(plain).words == ("it", "s", "10", "000", "co", "founders", "all", "reuters", "fy", "hbs")
    assert wording("It’s 10,000 co‑founders_all — (Reuters) [FY/HBS]").words == wording(plain).words
    assert wording("ÉCOLE Straße").words == ("école", "strasse")


def test_a_mark_joining_two_words_sets_nothing_off() -> None:
    assert copies(WIRE, "NORTHGATE—" + WIRE)  # an em dash sets apart even unspaced
    assert not copies(WIRE[:-1] + " and its co-founder", WIRE[:-1] + " and its co-author")
    assert not copies(WIRE[:-1] + " at 10:30", WIRE[:-1] + " at 10:45")
    assert not copies(WIRE[:-1] + " on pages 3–5", WIRE[:-1] + " on pages 3–6")


def test_a_paragraph_with_one_word_figure_or_sentence_changed_is_not_a_copy() -> None:
    assert not copies(WIRE, WIRE.replace("March", "June"))
    assert not copies(WIRE, WIRE.replace("Northgate", "Southgate"))
    assert not copies(WIRE.replace("Tuesday", "Tuesday, 10,000"), WIRE.replace("Tuesday", "Tuesday, 10,500"))
    assert not copies(WIRE + " No one was hurt.", WIRE + " Two people were hurt.")
    assert not copies("Officials said. " + WIRE, "The mayor said. " + WIRE)


def test_more_text_continuing_or_following_the_paragraph_is_not_a_frame() -> None:
    assert not copies(WIRE, WIRE[:-1] + " after a long debate.")
    assert not copies(WIRE, WIRE + " Work starts in May.")
    assert not copies(WIRE, WIRE[:-1] + ", officials said.")


def test_frames_beyond_eight_words_or_a_quarter_of_the_shared_run_are_not_copies() -> None:
    longer = WIRE + " Ferry passengers will be able to buy tickets at the new pier from February."  # 40 words
    credit = " — Reporting by Jane Doe; Editing by John Roe"  # 8 words
    assert copies(longer, longer + credit)
    assert not copies(longer, longer + credit + " Smith")
    assert not copies(WIRE, WIRE + credit)  # 8 words are more than a quarter of 26
    nine = "The terminal will close in March, the authority said."  # 9 words: room for 2 outside
    assert copies(nine, nine + " [FY/HBS]")
    assert not copies(nine, "By Jane Doe, Reuters — " + nine)


def test_short_paragraphs_collapse_only_on_the_same_words() -> None:
    assert copies("Shares fell on Monday.", "SHARES  fell on “Monday”!")
    assert not copies("Shares fell on Monday.", "Shares fell on Monday (Reuters)")
    assert not copies("Seven words here and no more now.", "Seven words here and no more now. [FY/HBS]")
    assert copies("Eight words here and not one more now.", "Eight words here and not one more now. [FY/HBS]")


def test_over_long_paragraphs_collapse_only_when_their_text_is_the_same() -> None:
    long = "word " * (MAX_COMPARED_CHARS // 5 + 1)
    assert copies(long, long + "  ")
    assert not copies(long, long.upper())
    assert not copies(long, "word")


# -- collapsing a ranking -----------------------------------------------------------------------------


def test_copies_in_other_sources_join_the_best_ranked_in_rank_order() -> None:
    hits = [
        hit(1, WIRE, "herald"),
        hit(2, WIRE.replace("March", "June"), "weekly"),
        hit(3, WIRE + " [FY/HBS]", "courier"),
        hit(4, "The old terminal building dates from 1931 and will be kept.", "courier"),
        hit(5, "By Jane Doe, Reuters — " + WIRE, "gazette"),
    ]
    assert collapsed_ids(collapse_repeats(hits)) == [(1, [3, 5]), (2, []), (4, [])]


def test_a_repeat_in_a_source_already_cited_is_dropped_unlisted() -> None:
    hits = [
        hit(1, WIRE, "herald"),
        hit(2, WIRE, "herald"),  # the article repeats its own paragraph
        hit(3, WIRE + " (Reuters)", "courier"),
        hit(4, WIRE + " [FY/HBS]", "courier"),  # a second copy in a source already listed
        hit(5, "Ferry passengers can buy tickets at the new pier.", "herald"),
    ]
    assert collapsed_ids(collapse_repeats(hits)) == [(1, [3]), (5, [])]


def test_a_copy_of_a_copy_joins_the_same_passage() -> None:
    core = "the ferry terminal will close in march and all crossings will move to the new pier"  # 16 words
    dated = "NORTHGATE — " + core
    first, second, third = dated + " [Reporting by Jane Doe]", dated, core + " (Editing by John Roe)"
    assert copies(first, second) and copies(second, third) and not copies(first, third)
    hits = [hit(1, first, "a"), hit(2, second, "b"), hit(3, third, "c")]
    assert collapsed_ids(collapse_repeats(hits)) == [(1, [2, 3])]


def test_nothing_to_collapse() -> None:
    assert collapse_repeats([]) == ()
    hits = [hit(1, "One passage.", "a"), hit(2, "Another passage.", "a")]
    assert collapse_repeats(hits) == (Collapsed(hits[0]), Collapsed(hits[1]))


# -- answers ------------------------------------------------------------------------------------------

QUESTION = "When will the old ferry terminal close?"
JUNE = WIRE.replace("in March", "in late June")
MUSEUM = "The old terminal building dates from 1931 and will be kept as a museum."
UNIONS = "Unions said the terminal staff would move to the pier."
TICKETS = "Ferry passengers will be able to buy tickets at the new pier from February."

WIRE_ARTICLES = [
    Article(
        "herald",
        "Harbour news",
        ("Commuters in Northgate face changes this spring.", WIRE, TICKETS, WIRE + " (Reuters)"),
        "test:herald",
        "https://herald.example/ferry",
        "Harbour Herald",
    ),
    Article(
        "courier",
        "Courier wire",
        ("A wire report from the coast.", WIRE + " [FY/HBS]", MUSEUM),
        "test:courier",
        "https://courier.example/ferry-terminal",
        "Daily Courier",
    ),
    Article(
        "gazette",
        "Gazette wire",
        ("News in brief.", "By Jane Doe, Reuters — " + WIRE, UNIONS),
        "test:gazette",
        None,
        "Coast Gazette",
    ),
    Article("weekly", "Weekly", ("Letters to the editor.", JUNE), "test:weekly", None, "Northgate Weekly"),
    Article(
        "sport",
        "Sport",
        (
            "Northgate Rovers won the cup final on Saturday.",
            "The striker scored twice in the second half.",
            "Fans celebrated in the town square until midnight.",
            "The club will parade the trophy on Sunday.",
        ),
        "test:sport",
    ),
]
"""Three outlets carry the wire paragraph (one tagged, one with a byline; the first twice); a fourth changes
its month, which is news, not a copy; a fifth is about something else."""


@pytest.fixture
def wire_index(tmp_path: Path) -> Iterator[StoryIndex]:
    with StoryIndex(tmp_path / "wire.db", with_builtin_story=False) as index:
        index.add_articles(WIRE_ARTICLES)
        yield index


def test_an_answer_shows_a_syndicated_paragraph_once_citing_the_other_outlets(wire_index: StoryIndex) -> None:
    answer = wire_index.ask(QUESTION, top=3)
    assert answer.answered
    assert [(passage.rank, passage.source.id, passage.text) for passage in answer.results] == [
        (1, "herald", WIRE),
        (2, "weekly", JUNE),
        (3, "courier", MUSEUM),
    ]
    top = answer.results[0]
    assert (top.paragraph, top.paragraphs) == (2, 4)
    assert [(source.id, source.outlet, source.url) for source in top.also_in] == [
        ("courier", "Daily Courier", "https://courier.example/ferry-terminal"),
        ("gazette", "Coast Gazette", None),
    ]
    assert [passage.also_in for passage in answer.results[1:]] == [(), ()]


def test_later_pages_never_show_a_copy_of_an_earlier_pages_passage(wire_index: StoryIndex) -> None:
    pages = [wire_index.ask(QUESTION, top=1, skip=skip).results for skip in range(5)]
    assert [[(passage.rank, passage.source.id, passage.text) for passage in page] for page in pages] == [
        [(1, "herald", WIRE)],
        [(1, "weekly", JUNE)],
        [(1, "courier", MUSEUM)],
        [(1, "herald", TICKETS)],
        [(1, "gazette", UNIONS)],
    ]
    assert [source.id for source in pages[0][0].also_in] == ["courier", "gazette"]
    assert wire_index.ask(QUESTION, top=1, skip=5).results == ()


def test_a_page_says_more_only_while_a_passage_is_left_after_collapsing(wire_index: StoryIndex) -> None:
    # Eight paragraphs match (the copies counted), five passages are left: the fifth page is the last.
    assert wire_index.ask(QUESTION, top=1).matched == 8
    assert [wire_index.ask(QUESTION, top=1, skip=skip).more for skip in range(5)] == [True] * 4 + [False]
    assert wire_index.ask(QUESTION, top=2, skip=2).more
    assert not wire_index.ask(QUESTION, top=5).more
